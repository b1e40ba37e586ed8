"""factory_boy factories and request bodies of the orders tests (addresses:
tests.accounts.factories)."""

import factory

from orders.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Print {n}")
    price_cents = 1250
    stock_quantity = 10
    is_active = True


def order_body(address, *lines: tuple[str, int]) -> dict:
    """The JSON body of POST /api/orders shipping `lines` of (sku, quantity) to `address`."""
    return {
        "address_id": str(address.id),
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
