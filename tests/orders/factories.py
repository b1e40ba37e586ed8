"""factory_boy factories for orders tests (and the addresses orders ship to)."""

import factory

from accounts.models import Address
from orders.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Print {n}")
    price_cents = 1250
    stock_quantity = 10
    is_active = True


class AddressFactory(factory.django.DjangoModelFactory):
    """Rows made directly: orders only read addresses (through accounts.selectors)."""

    class Meta:
        model = Address

    label = "Home"
    line1 = factory.Sequence(lambda n: f"{n} Rue des Ateliers")
    line2 = ""
    city = "Lyon"
    postal_code = "69001"
    country = "FR"
    is_default = False
