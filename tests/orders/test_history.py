"""Order history (OrderEvent): written with each change, in its transaction, by whom."""

import pytest

from config.errors import ApplicationError
from orders.models import OrderEvent, OrderEventType
from orders.services import (
    OrderLine,
    order_cancel,
    order_mark_shipped,
    order_note_add,
    order_place,
    tracking_event_add,
)
from tests.accounts.factories import AddressFactory
from tests.orders.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(user):
    address = AddressFactory(user=user, is_default=True)
    ProductFactory(sku="A", price_cents=1000, stock_quantity=5)
    ProductFactory(sku="B", price_cents=250, stock_quantity=5)
    return order_place(
        user=user, lines=[OrderLine("B", 2), OrderLine("A", 1)], address_id=address.id
    )


def history(order):
    return list(OrderEvent.objects.filter(order=order).order_by("created_at", "id"))


def test_placing_writes_placed_with_total_and_lines(placed, user):
    [event] = history(placed)

    assert (event.type, event.user) == (OrderEventType.PLACED, user)
    assert event.data == {
        "total_cents": 1500,
        "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}],
    }


def test_a_refused_order_leaves_no_history(user):
    address = AddressFactory(user=user, is_default=True)
    ProductFactory(sku="SHORT", stock_quantity=1)

    with pytest.raises(ApplicationError):
        order_place(user=user, lines=[OrderLine("SHORT", 2)], address_id=address.id)

    assert not OrderEvent.objects.exists()


def test_cancel_writes_cancelled_and_stock_returned(placed, user):
    order_cancel(user=user, order_id=placed.id)

    types = [event.type for event in history(placed)]
    assert types == ["placed", "cancelled", "stock_returned"]
    assert history(placed)[2].data == {
        "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]
    }


def test_shipping_and_delivery_write_tracking_and_status_changes_by_staff(placed, make_user):
    staff = make_user(is_staff=True)

    order_mark_shipped(order_id=placed.id, carrier="UPS", tracking_number="1Z", by=staff)
    tracking_event_add(order_id=placed.id, status="delivered", by=staff)

    events = history(placed)[1:]
    assert [(e.type, e.data.get("status")) for e in events] == [
        ("tracking_updated", "in_transit"),
        ("status_changed", "shipped"),
        ("tracking_updated", "delivered"),
        ("status_changed", "delivered"),
    ]
    assert {e.user for e in events} == {staff}
    assert events[3].data["previous_status"] == "shipped"


def test_notes_are_staff_events_and_blank_is_refused(placed, make_user):
    staff = make_user(is_staff=True)

    note = order_note_add(order_id=placed.id, user=staff, message="  gift wrap  ")

    assert (note.type, note.user, note.data) == ("note_added", staff, {"message": "gift wrap"})
    with pytest.raises(ApplicationError):
        order_note_add(order_id=placed.id, user=staff, message="   ")
