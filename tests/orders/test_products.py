"""GET /api/products: the public catalogue."""

from tests.orders.factories import ProductFactory


def test_products_are_public_sorted_by_sku_with_in_stock(api_client, db):
    ProductFactory(sku="B-MUG", name="Mug", price_cents=900, stock_quantity=0)
    ProductFactory(sku="A-PRINT", name="Print", price_cents=1500, stock_quantity=3)
    ProductFactory(sku="C-GONE", is_active=False)

    response = api_client.get("/api/products")

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"sku": "A-PRINT", "name": "Print", "price_cents": 1500, "in_stock": True},
            {"sku": "B-MUG", "name": "Mug", "price_cents": 900, "in_stock": False},
        ],
        "next": None,
    }


def test_products_paginate_with_a_cursor(api_client, db):
    for n in range(5):
        ProductFactory(sku=f"P-{n}")

    first = api_client.get("/api/products?limit=2").json()
    second = api_client.get(first["next"]).json()
    third = api_client.get(second["next"]).json()

    skus = [p["sku"] for page in (first, second, third) for p in page["results"]]
    assert skus == ["P-0", "P-1", "P-2", "P-3", "P-4"]
    assert third["next"] is None
