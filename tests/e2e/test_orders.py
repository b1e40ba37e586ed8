"""Orders across instances: placed on one, tracked on another, all there after kill -9."""

import requests

from accounts.services.auth import auth_session_create
from orders.models import Product
from tests.accounts.factories import AddressFactory
from tests.conftest import TEST_PASSWORD
from tests.orders.factories import ProductFactory

TIMEOUT_S = 10


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_order_placed_on_a_tracked_on_b_survives_kill9(cluster, django_user_model):
    # given: a customer, a staff user, a product with 3 in stock, two instances
    customer = django_user_model.objects.create_user(
        email="customer@example.com", password=TEST_PASSWORD
    )
    staff = django_user_model.objects.create_user(
        email="shipping@example.com", password=TEST_PASSWORD, is_staff=True
    )
    ProductFactory(sku="E2E-PRINT", name="Print", price_cents=1800, stock_quantity=3)
    address = AddressFactory(user=customer, is_default=True)
    _, customer_token = auth_session_create(user=customer)
    _, staff_token = auth_session_create(user=staff)
    first, second = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()
    as_customer, as_staff = bearer(customer_token), bearer(staff_token)

    # when: the order is placed on the first instance
    placed = requests.post(
        f"{first.url}/api/orders",
        json={"address_id": str(address.id), "items": [{"sku": "E2E-PRINT", "quantity": 2}]},
        headers=as_customer,
        timeout=TIMEOUT_S,
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    tracking_url = f"/api/orders/{order_id}/tracking"

    # then: the second has no tracking yet
    none_yet = requests.get(f"{second.url}{tracking_url}", headers=as_customer, timeout=TIMEOUT_S)
    assert none_yet.status_code == 404
    assert none_yet.json()["error"] == "not_found"

    # when: staff post a tracking event on the second
    event = requests.post(
        f"{second.url}{tracking_url}/events",
        json={
            "status": "in_transit",
            "carrier": "DHL",
            "tracking_number": "JD-E2E-1",
            "location": "Lyon hub",
        },
        headers=as_staff,
        timeout=TIMEOUT_S,
    )
    assert event.status_code == 201, event.text

    def check_everything_on(server) -> None:
        order = requests.get(
            f"{server.url}/api/orders/{order_id}", headers=as_customer, timeout=TIMEOUT_S
        )
        assert order.status_code == 200, (server.name, order.text)
        assert order.json()["status"] == "shipped"
        assert order.json()["total_cents"] == 3600
        tracking = requests.get(
            f"{server.url}{tracking_url}", headers=as_customer, timeout=TIMEOUT_S
        )
        assert tracking.status_code == 200, (server.name, tracking.text)
        assert tracking.json()["tracking_number"] == "JD-E2E-1"
        assert [(e["status"], e["location"]) for e in tracking.json()["events"]] == [
            ("in_transit", "Lyon hub")
        ]
        notifications = requests.get(
            f"{server.url}/api/notifications", headers=as_customer, timeout=TIMEOUT_S
        )
        assert notifications.status_code == 200, (server.name, notifications.text)
        kinds = [n["kind"] for n in notifications.json()["results"]]
        assert kinds == ["order.tracking"]
        products = requests.get(f"{server.url}/api/products", timeout=TIMEOUT_S).json()
        assert products["results"] == [
            {"sku": "E2E-PRINT", "name": "Print", "price_cents": 1800, "in_stock": True}
        ]

    # then: the first instance shows it all
    check_everything_on(first)

    # when: both are killed -9 and restarted
    cluster.restart(first, kill=True)
    cluster.restart(second, kill=True)

    # then: both still show it all, and the stock was taken once
    for server in (first, second):
        check_everything_on(server)
    assert Product.objects.get(sku="E2E-PRINT").stock_quantity == 1
