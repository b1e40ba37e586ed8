"""Fixtures of the orders tests: a stocked product and the caller's address."""

import pytest

from tests.orders.factories import AddressFactory, ProductFactory


@pytest.fixture
def product(db):
    return ProductFactory(sku="POSTER-A2", name="Poster A2", price_cents=2500, stock_quantity=10)


@pytest.fixture
def address(user):
    return AddressFactory(user=user, is_default=True)


def order_body(address, *lines: tuple[str, int]) -> dict:
    return {
        "address_id": str(address.id),
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
