"""POST /api/orders and reading orders: all-or-nothing stock, copied prices, bad input."""

import uuid

import pytest

from accounts.models import Address
from orders.models import Order, OrderItem, OrderStatus, Product
from tests.accounts.factories import AddressFactory
from tests.conftest import client_for
from tests.orders.factories import ProductFactory, order_body


def stock(sku: str) -> int:
    return Product.objects.get(sku=sku).stock_quantity


def test_place_order_takes_stock_copies_prices_and_snapshots_the_address(
    auth_client, user, address
):
    # given
    ProductFactory(sku="MUG", name="Mug", price_cents=900, stock_quantity=5)
    ProductFactory(sku="PRINT", name="Print", price_cents=1500, stock_quantity=2)

    # when
    response = auth_client.post(
        "/api/orders", order_body(address, ("PRINT", 2), ("MUG", 3)), format="json"
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "placed"
    assert body["total_cents"] == 3 * 900 + 2 * 1500
    assert [(i["sku"], i["name"], i["unit_price_cents"], i["quantity"]) for i in body["items"]] == [
        ("MUG", "Mug", 900, 3),
        ("PRINT", "Print", 1500, 2),
    ]
    assert body["shipping_address"]["line1"] == address.line1
    assert body["shipping_address"]["country"] == "FR"
    assert {"id", "created_at"} <= body.keys()
    assert stock("MUG") == 2
    assert stock("PRINT") == 0

    # when: the catalogue and the address change later
    Product.objects.filter(sku="MUG").update(price_cents=1, name="Renamed")
    Address.objects.filter(pk=address.pk).update(line1="Elsewhere")
    again = auth_client.get(f"/api/orders/{body['id']}").json()
    # then: the order keeps what it was placed with
    assert again["items"][0]["unit_price_cents"] == 900
    assert again["items"][0]["name"] == "Mug"
    assert again["shipping_address"]["line1"] == address.line1


def test_an_order_short_on_one_line_takes_nothing_and_names_every_short_sku(auth_client, address):
    ProductFactory(sku="A", stock_quantity=5)
    ProductFactory(sku="B", stock_quantity=1)
    ProductFactory(sku="C", stock_quantity=0)

    response = auth_client.post(
        "/api/orders", order_body(address, ("A", 5), ("B", 2), ("C", 1)), format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"] == "out_of_stock"
    assert response.json()["details"] == {"skus": ["B", "C"]}
    assert (stock("A"), stock("B"), stock("C")) == (5, 1, 0)
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()


def test_an_inactive_product_cannot_be_ordered(auth_client, address):
    ProductFactory(sku="OLD", is_active=False, stock_quantity=5)

    response = auth_client.post("/api/orders", order_body(address, ("OLD", 1)), format="json")

    assert response.status_code == 404
    assert response.json()["details"] == {"skus": ["OLD"]}
    assert stock("OLD") == 5


@pytest.mark.parametrize("quantity", [0, -1, "two", None, 1.5, 10_001])
def test_bad_quantities_are_400(auth_client, address, product, quantity):
    response = auth_client.post(
        "/api/orders",
        {"address_id": str(address.id), "items": [{"sku": product.sku, "quantity": quantity}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert stock(product.sku) == 10


def test_unknown_skus_are_404_with_the_skus(auth_client, address, product):
    response = auth_client.post(
        "/api/orders", order_body(address, (product.sku, 1), ("NOPE", 1)), format="json"
    )

    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": "Unknown products.",
        "details": {"skus": ["NOPE"]},
    }
    assert stock(product.sku) == 10


def test_duplicate_lines_are_400(auth_client, address, product):
    response = auth_client.post(
        "/api/orders", order_body(address, (product.sku, 1), (product.sku, 2)), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert response.json()["details"] == {"duplicate_skus": [product.sku]}
    assert stock(product.sku) == 10


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": [], "address_id": "ADDRESS"},
        {"items": "POSTER-A2", "address_id": "ADDRESS"},
        {"items": [{"sku": "POSTER-A2"}], "address_id": "ADDRESS"},
        {"items": [{"sku": "POSTER-A2", "quantity": 1}]},
        {"items": [{"sku": "POSTER-A2", "quantity": 1}], "address_id": "not-a-uuid"},
        {"items": [None], "address_id": "ADDRESS"},
        {"items": [{"sku": "x" * 65, "quantity": 1}], "address_id": "ADDRESS"},
        ["not", "an", "object"],
    ],
)
def test_malformed_bodies_are_400(auth_client, address, product, body):
    if isinstance(body, dict) and body.get("address_id") == "ADDRESS":
        body["address_id"] = str(address.id)

    response = auth_client.post("/api/orders", body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation_error"


def test_non_json_body_is_400(auth_client, address, product):
    response = auth_client.post("/api/orders", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_someone_elses_address_is_404_and_takes_no_stock(auth_client, make_user, product):
    their_address = AddressFactory(user=make_user())

    response = auth_client.post(
        "/api/orders", order_body(their_address, (product.sku, 1)), format="json"
    )

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert stock(product.sku) == 10


def test_unknown_address_is_404(auth_client, product):
    body = {"address_id": str(uuid.uuid4()), "items": [{"sku": product.sku, "quantity": 1}]}

    response = auth_client.post("/api/orders", body, format="json")

    assert response.status_code == 404


def test_anonymous_callers_cannot_order_or_list(api_client, address, product):
    assert (
        api_client.post(
            "/api/orders", order_body(address, (product.sku, 1)), format="json"
        ).status_code
        == 401
    )
    assert api_client.get("/api/orders").status_code == 401


def test_orders_list_and_detail_show_only_the_callers_orders(
    auth_client, make_user, address, product
):
    # given: an order of mine and one of another user
    mine = auth_client.post("/api/orders", order_body(address, (product.sku, 1)), format="json")
    other = make_user()
    theirs = client_for(other).post(
        "/api/orders",
        order_body(AddressFactory(user=other), (product.sku, 1)),
        format="json",
    )
    assert mine.status_code == theirs.status_code == 201

    # when: listing and reading
    listed = auth_client.get("/api/orders").json()
    # then: mine only; theirs is a 404 everywhere and unchanged
    assert [o["id"] for o in listed["results"]] == [mine.json()["id"]]
    assert listed["next"] is None
    assert auth_client.get(f"/api/orders/{mine.json()['id']}").status_code == 200

    for path in ("", "/cancel", "/tracking"):
        method = auth_client.post if path == "/cancel" else auth_client.get
        response = method(f"/api/orders/{theirs.json()['id']}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    assert Order.objects.get(pk=theirs.json()["id"]).status == OrderStatus.PLACED


def test_malformed_order_ids_are_json_404(auth_client):
    response = auth_client.get("/api/orders/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_total_above_the_bigint_column_is_400_before_anything_is_written(auth_client, address):
    # given: prices near the top of a bigint and the largest quantities a line takes
    big = ProductFactory(sku="GOLD", price_cents=2**62, stock_quantity=10)
    ProductFactory(sku="SILVER", price_cents=2**62, stock_quantity=10)

    # when: each line fits, their sum does not
    response = auth_client.post(
        "/api/orders", order_body(address, ("GOLD", 1), ("SILVER", 1)), format="json"
    )

    # then
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation_error"
    assert response.json()["details"] == {
        "total_cents": [f"At most {2**63 - 1}."],
        "skus": [],
    }
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert stock(big.sku) == 10


def test_a_line_total_above_the_bigint_column_is_named(auth_client, address):
    ProductFactory(sku="GOLD", price_cents=2**62, stock_quantity=10)

    response = auth_client.post("/api/orders", order_body(address, ("GOLD", 3)), format="json")

    assert response.status_code == 400
    assert response.json()["details"]["skus"] == ["GOLD"]


def test_totals_beyond_a_32_bit_integer_are_stored_exactly(auth_client, address):
    ProductFactory(sku="CAR", price_cents=3_000_000_000, stock_quantity=10)

    response = auth_client.post("/api/orders", order_body(address, ("CAR", 5)), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["total_cents"] == 15_000_000_000
    assert Order.objects.get().total_cents == 15_000_000_000
