"""factory_boy factories for quotes."""

from datetime import timedelta

import factory
from django.utils import timezone

from quotes.models import Quote, QuoteStatus


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    session_id = factory.Sequence(lambda n: f"session-{n:012d}")
    user = None
    files = factory.LazyFunction(
        lambda: [{"id": "f1", "name": "a.jpg", "size_bytes": 100, "width": 1000, "height": 1000}]
    )
    ops = factory.LazyFunction(lambda: {"upscale": True})
    credits_total = 6
    per_file_credits = factory.LazyFunction(lambda: {"f1": 6})
    per_file = factory.LazyFunction(lambda: {"f1": {"upscale": 6}})
    schedule = factory.LazyFunction(lambda: {"version": 1})
    status = QuoteStatus.ACTIVE
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(minutes=15))

    class Params:
        # created and expired `age` ago: e.g. QuoteFactory(expired_ago=timedelta(days=31))
        expired_ago = None

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        ago = kwargs.pop("expired_ago", None)
        if ago is not None:
            kwargs["expires_at"] = timezone.now() - ago
            kwargs["created_at"] = kwargs["expires_at"] - timedelta(minutes=15)
        return kwargs
