"""factory_boy factories of accounts rows (users come from the make_user fixture)."""

import factory

from accounts.models import Address, Notification


class AddressFactory(factory.django.DjangoModelFactory):
    """Rows made directly, bypassing address_create's default rule: pass is_default=True
    for a user's first address, as the service would."""

    class Meta:
        model = Address

    label = factory.Sequence(lambda n: f"Place {n}")
    line1 = factory.Sequence(lambda n: f"{n} Main Street")
    line2 = ""
    city = "Lyon"
    postal_code = "69001"
    country = "FR"
    is_default = False


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    kind = "order.shipped"
    title = factory.Sequence(lambda n: f"Update {n}")
    body = "Your order is on its way."
