"""Writes of credit schedules and quotes: publish, create, use exactly once, expire, cleanup."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Max

from quotes.models import (
    DEFAULT_MAX_FILES,
    DEFAULT_QUOTE_TTL_SECONDS,
    DEFAULT_SCHEDULE_OPS,
    CreditSchedule,
)

logger = logging.getLogger(__name__)


def credit_schedule_ensure_default() -> CreditSchedule:
    """Return the active schedule, creating the default one when none is active.

    Safe under concurrency: the one-active constraint lets a single creator win; the
    others read the winner's row.
    """
    active = CreditSchedule.objects.filter(is_active=True).first()
    if active is not None:
        return active
    try:
        with transaction.atomic():
            version = (CreditSchedule.objects.aggregate(v=Max("version"))["v"] or 0) + 1
            return CreditSchedule.objects.create(
                version=version,
                is_active=True,
                ops=DEFAULT_SCHEDULE_OPS,
                max_files=DEFAULT_MAX_FILES,
                quote_ttl_seconds=DEFAULT_QUOTE_TTL_SECONDS,
            )
    except IntegrityError:
        return CreditSchedule.objects.get(is_active=True)


@transaction.atomic
def credit_schedule_publish(*, ops: dict, max_files: int, quote_ttl_seconds: int) -> CreditSchedule:
    """Make a new version the active one; the previous active version stays as history.

    Locks the active row so two concurrent publishes get consecutive versions.
    """
    previous = CreditSchedule.objects.select_for_update().filter(is_active=True).first()
    version = (CreditSchedule.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    if previous is not None:
        CreditSchedule.objects.filter(pk=previous.pk).update(is_active=False)
    schedule = CreditSchedule(
        version=version,
        is_active=True,
        ops=ops,
        max_files=max_files,
        quote_ttl_seconds=quote_ttl_seconds,
    )
    schedule.full_clean()
    schedule.save()
    logger.info("credit schedule v%s published", version)
    return schedule


@transaction.atomic
def credit_schedule_activate(*, schedule: CreditSchedule) -> CreditSchedule:
    """Make an existing version the active one (e.g. roll back to an older price list)."""
    CreditSchedule.objects.select_for_update().filter(is_active=True).exclude(
        pk=schedule.pk
    ).update(is_active=False)
    CreditSchedule.objects.filter(pk=schedule.pk).update(is_active=True)
    schedule.refresh_from_db()
    return schedule
