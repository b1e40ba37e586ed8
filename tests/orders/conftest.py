"""Fixtures of the orders tests: a stocked product and the caller's address."""

import pytest

from tests.accounts.factories import AddressFactory
from tests.orders.factories import ProductFactory


@pytest.fixture
def product(db):
    return ProductFactory(sku="POSTER-A2", name="Poster A2", price_cents=2500, stock_quantity=10)


@pytest.fixture
def address(user):
    return AddressFactory(user=user, is_default=True)
