"""factory_boy factories of accounts rows (users come from the make_user fixture)."""

import factory

from accounts.models import Address, Notification


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    label = factory.Sequence(lambda n: f"Place {n}")
    line1 = factory.Sequence(lambda n: f"{n} Main Street")
    city = "Lyon"
    postal_code = "69001"
    country = "FR"


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    kind = "order.shipped"
    title = factory.Sequence(lambda n: f"Update {n}")
    body = "Your order is on its way."
