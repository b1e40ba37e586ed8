"""factory_boy factories of quote runs (processing, priced against the active schedule)."""

from datetime import timedelta

import factory
from django.utils import timezone

from quotes.runs.models import QuoteRun
from quotes.selectors import credit_schedule_active


def job_files(count: int) -> list[dict]:
    return [
        {
            "id": f"f{i}",
            "name": f"photo{i}.jpg",
            "size_bytes": 1000 + i,
            "width": 2000,
            "height": 1500,
        }
        for i in range(1, count + 1)
    ]


class QuoteRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuoteRun

    class Params:
        file_count = 2

    session_id = factory.Sequence(lambda n: f"session-{n:012d}")
    job = factory.LazyAttribute(
        lambda run: {
            "files": job_files(run.file_count),
            "ops": {"upscale": True, "resize": True},
            "schedule": credit_schedule_active().snapshot(),
        }
    )
    providers = factory.LazyFunction(lambda: ["standard", "priority", "bulk"])
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda run: run.created_at + timedelta(hours=2))
