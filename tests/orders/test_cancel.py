"""POST /api/orders/{id}/cancel: stock back exactly once, nothing after shipping."""

from orders.models import OrderStatus, Product
from orders.services import OrderLine, order_place, tracking_event_add
from tests.orders.factories import ProductFactory


def test_cancel_returns_the_stock_of_every_line(auth_client, user, address):
    ProductFactory(sku="A", stock_quantity=4)
    ProductFactory(sku="B", stock_quantity=4)
    order = order_place(
        user=user, lines=[OrderLine("A", 3), OrderLine("B", 1)], address_id=address.id
    )

    response = auth_client.post(f"/api/orders/{order.id}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert dict(Product.objects.values_list("sku", "stock_quantity")) == {"A": 4, "B": 4}


def test_cancelling_twice_is_409_and_returns_stock_once(auth_client, user, address, product):
    order = order_place(user=user, lines=[OrderLine(product.sku, 4)], address_id=address.id)
    assert auth_client.post(f"/api/orders/{order.id}/cancel").status_code == 200

    again = auth_client.post(f"/api/orders/{order.id}/cancel")

    assert again.status_code == 409
    assert again.json()["error"] == "order_not_cancellable"
    assert again.json()["details"] == {"status": "cancelled"}
    product.refresh_from_db()
    assert product.stock_quantity == 10


def test_a_shipped_order_cannot_be_cancelled(auth_client, user, address, product):
    order = order_place(user=user, lines=[OrderLine(product.sku, 2)], address_id=address.id)
    tracking_event_add(
        order_id=order.id, status="in_transit", carrier="DHL", tracking_number="JD01"
    )

    response = auth_client.post(f"/api/orders/{order.id}/cancel")

    assert response.status_code == 409
    assert response.json()["error"] == "order_not_cancellable"
    assert response.json()["details"] == {"status": OrderStatus.SHIPPED}
    product.refresh_from_db()
    assert product.stock_quantity == 8
