"""Stock and cancellation stay exact under concurrent requests from several processes."""

import pytest
from rest_framework.test import APIClient

from orders.models import Order, OrderEvent, OrderEventType, OrderItem, OrderStatus, Product
from orders.services import OrderLine, order_place
from tests.accounts.factories import AddressFactory
from tests.concurrency import fire_concurrently
from tests.orders.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_40_concurrent_orders_for_10_in_stock_place_exactly_10(auth_client, user):
    # given: 10 in stock
    ProductFactory(sku="LAST-TEN", stock_quantity=10)
    address = AddressFactory(user=user, is_default=True)
    body = {"address_id": str(address.id), "items": [{"sku": "LAST-TEN", "quantity": 1}]}
    token = auth_client.token

    def place(_index: int):
        response = client_with(token).post("/api/orders", body, format="json")
        return response.status_code, response.json().get("error")

    # when: 40 orders of one unit at once
    outcomes = fire_concurrently(place, 40, processes=4)

    # then
    assert outcomes.count((201, None)) == 10, outcomes
    assert outcomes.count((409, "out_of_stock")) == 30, outcomes
    assert Product.objects.get(sku="LAST-TEN").stock_quantity == 0
    assert Order.objects.count() == 10
    assert OrderItem.objects.count() == 10
    # History in the same transaction: one `placed` per order, none of the refused 30.
    assert OrderEvent.objects.filter(type=OrderEventType.PLACED).count() == 10


def test_concurrent_multi_line_orders_never_oversell_any_line_and_never_deadlock(user):
    # Orders list the same skus in opposite orders; stock is taken in sku order, so no two
    # transactions wait on each other's rows in a cycle.
    # given
    ProductFactory(sku="X", stock_quantity=12)
    ProductFactory(sku="Y", stock_quantity=6)
    address = AddressFactory(user=user, is_default=True)

    def place(index: int):
        lines = [OrderLine("X", 1), OrderLine("Y", 1)]
        if index % 2:
            lines.reverse()
        try:
            order_place(user=user, lines=lines, address_id=address.id)
        except Exception as exc:
            return type(exc).__name__, getattr(exc, "code", None)
        return "placed"

    # when
    outcomes = fire_concurrently(place, 20, processes=4)

    # then
    assert outcomes.count("placed") == 6, outcomes
    assert outcomes.count(("Conflict", "out_of_stock")) == 14, outcomes
    stock = dict(Product.objects.values_list("sku", "stock_quantity"))
    assert stock == {"X": 6, "Y": 0}


def test_cancelling_twice_concurrently_returns_stock_once(auth_client, user):
    # given: two placed orders of 3 units each
    product = ProductFactory(sku="ONCE", stock_quantity=10)
    address = AddressFactory(user=user, is_default=True)
    orders = [
        order_place(user=user, lines=[OrderLine("ONCE", 3)], address_id=address.id)
        for _ in range(2)
    ]
    token = auth_client.token

    def cancel(index: int):
        # 8 racing cancels per order, from several processes.
        order = orders[index % 2]
        response = client_with(token).post(f"/api/orders/{order.id}/cancel")
        return str(order.id), response.status_code

    # when
    outcomes = fire_concurrently(cancel, 16, processes=4)

    # then: one cancel per order wins, the stock comes back once
    for order in orders:
        statuses = sorted(code for order_id, code in outcomes if order_id == str(order.id))
        assert statuses == [200] + [409] * 7, outcomes
    product.refresh_from_db()
    assert product.stock_quantity == 10
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    # Only the winners wrote history: one `cancelled` and one `stock_returned` per order.
    for order in orders:
        types = sorted(OrderEvent.objects.filter(order=order).values_list("type", flat=True))
        assert types == ["cancelled", "placed", "stock_returned"], types
