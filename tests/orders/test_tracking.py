"""Tracking: the timeline, staff events moving the order forward, customer notifications."""

from datetime import UTC, datetime

import pytest

from accounts.models import Notification
from orders.models import DeliveryTracking, Order, OrderStatus
from orders.services import OrderLine, order_cancel, order_place


@pytest.fixture
def order(user, address, product):
    return order_place(user=user, lines=[OrderLine(product.sku, 1)], address_id=address.id)


def post_event(client, order, **body):
    return client.post(f"/api/orders/{order.id}/tracking/events", body, format="json")


def test_no_tracking_yet_is_404_not_found(auth_client, order):
    response = auth_client.get(f"/api/orders/{order.id}/tracking")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_staff_events_build_the_timeline_move_the_order_and_notify_the_customer(
    auth_client, staff_client, user, order
):
    # when: the first event
    first = post_event(
        staff_client,
        order,
        status="in_transit",
        carrier="DHL",
        tracking_number="JD0001",
        estimated_delivery="2031-05-04",
        location="Lyon hub",
        occurred_at="2031-05-01T08:00:00Z",
    )
    # then: it is recorded and the order ships
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "in_transit"
    assert first.json()["location"] == "Lyon hub"
    assert auth_client.get(f"/api/orders/{order.id}").json()["status"] == "shipped"

    # when: two more, up to delivery
    post_event(staff_client, order, status="out_for_delivery", occurred_at="2031-05-03T07:00:00Z")
    last = post_event(
        staff_client,
        order,
        status="delivered",
        note="Left with neighbour",
        occurred_at="2031-05-03T15:30:00Z",
    )
    assert last.status_code == 201

    # then: the customer's timeline, oldest first, and the order delivered
    tracking = auth_client.get(f"/api/orders/{order.id}/tracking").json()
    assert tracking["carrier"] == "DHL"
    assert tracking["tracking_number"] == "JD0001"
    assert tracking["status"] == "delivered"
    assert tracking["estimated_delivery"] == "2031-05-04"
    assert [
        (e["status"], e["location"], e["note"], e["occurred_at"]) for e in tracking["events"]
    ] == [
        ("in_transit", "Lyon hub", "", "2031-05-01T08:00:00Z"),
        ("out_for_delivery", "", "", "2031-05-03T07:00:00Z"),
        ("delivered", "", "Left with neighbour", "2031-05-03T15:30:00Z"),
    ]
    assert auth_client.get(f"/api/orders/{order.id}").json()["status"] == "delivered"

    # then: one notification per event
    notes = Notification.objects.filter(user=user).order_by("created_at")
    assert [n.data["tracking_status"] for n in notes] == [
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert all(n.kind == "order.tracking" and n.data["order_id"] == str(order.id) for n in notes)
    assert notes.last().data["order_status"] == "delivered"


def test_a_late_older_event_joins_the_timeline_without_rewinding(staff_client, order):
    post_event(
        staff_client,
        order,
        status="delivered",
        carrier="UPS",
        tracking_number="1Z",
        occurred_at="2031-05-03T15:00:00Z",
    )
    post_event(staff_client, order, status="in_transit", occurred_at="2031-05-01T09:00:00Z")

    tracking = DeliveryTracking.objects.get(order=order)
    assert tracking.status == "delivered"
    assert [e.status for e in tracking.events.all()] == ["in_transit", "delivered"]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED


def test_label_created_keeps_the_order_placed_and_cancellable(staff_client, user, order):
    response = post_event(
        staff_client, order, status="label_created", carrier="DPD", tracking_number="D1"
    )

    assert response.status_code == 201
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert order_cancel(user=user, order_id=order.id).status == OrderStatus.CANCELLED


def test_the_first_event_needs_carrier_and_tracking_number(staff_client, order):
    response = post_event(staff_client, order, status="in_transit")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert not DeliveryTracking.objects.exists()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED


def test_a_cancelled_order_takes_no_events(staff_client, user, order):
    order_cancel(user=user, order_id=order.id)

    response = post_event(
        staff_client, order, status="in_transit", carrier="DHL", tracking_number="X"
    )

    assert response.status_code == 409
    assert response.json()["error"] == "order_cancelled"
    assert not Notification.objects.exists()


def test_only_staff_post_events(api_client, auth_client, order):
    body = {"status": "in_transit", "carrier": "DHL", "tracking_number": "X"}

    customer = auth_client.post(f"/api/orders/{order.id}/tracking/events", body, format="json")
    anonymous = api_client.post(f"/api/orders/{order.id}/tracking/events", body, format="json")

    assert (customer.status_code, customer.json()["error"]) == (403, "forbidden")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_token")
    assert not DeliveryTracking.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"status": "teleported", "carrier": "DHL", "tracking_number": "X"},
        {"carrier": "DHL", "tracking_number": "X"},
        {"status": "in_transit", "carrier": "DHL", "tracking_number": "X", "occurred_at": "soon"},
    ],
)
def test_bad_events_are_400(staff_client, order, body):
    response = post_event(staff_client, order, **body)

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_events_for_unknown_orders_are_404(staff_client, db):
    response = staff_client.post(
        "/api/orders/00000000-0000-0000-0000-000000000000/tracking/events",
        {"status": "in_transit", "carrier": "DHL", "tracking_number": "X"},
        format="json",
    )

    assert response.status_code == 404


def test_occurred_at_defaults_to_now(staff_client, order):
    before = datetime.now(UTC)

    response = post_event(
        staff_client, order, status="in_transit", carrier="DHL", tracking_number="X"
    )

    occurred = datetime.fromisoformat(response.json()["occurred_at"].replace("Z", "+00:00"))
    assert occurred >= before.replace(microsecond=0)
