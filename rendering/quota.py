"""A shop's daily render quota: the quota day, atomic reservations and their settlement."""

import datetime as dt

from django.db.models import F, Subquery
from django.utils import timezone

from rendering.models import Shop, UsageDaily

USAGE_COUNTERS = ("composite_renders", "prep_renders", "cleanup_renders")


def quota_day(*, shop: Shop, now: dt.datetime | None = None) -> dt.date:
    """The shop's current quota day: the calendar date in the shop's time zone."""
    return (now or timezone.now()).astimezone(shop.tzinfo).date()


def quota_resets_at(*, shop: Shop, day: dt.date) -> dt.datetime:
    """When `day` ends for the shop (its next local midnight), as an aware UTC datetime."""
    next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=shop.tzinfo)
    return next_midnight.astimezone(dt.UTC)


def usage_row_ensure(*, shop_id, day: dt.date) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: the day's row exists afterwards, created once."""
    UsageDaily.objects.bulk_create([UsageDaily(shop_id=shop_id, date=day)], ignore_conflicts=True)


def quota_reserve(*, shop_id, day: dt.date) -> bool:
    """Take one render slot of the shop's day; False when the quota is used up.

    Never exceeds the quota under any concurrency: the check and the increment are one
    UPDATE guarded by composite_renders + reserved < daily_quota, with the quota read in the
    same statement. PostgreSQL re-checks the guard on the latest row version after waiting
    for a concurrent reserver's lock, so no two callers can take the last slot.
    """
    usage_row_ensure(shop_id=shop_id, day=day)
    current_quota = Subquery(Shop.objects.filter(pk=shop_id).order_by().values("daily_quota")[:1])
    taken = UsageDaily.objects.filter(
        shop_id=shop_id,
        date=day,
        composite_renders__lt=current_quota - F("reserved"),
    ).update(reserved=F("reserved") + 1, updated_at=timezone.now())
    return taken == 1


def quota_settle(*, shop_id, day: dt.date, completed: bool) -> None:
    """Turn one reservation into a used render (completed) or give it back (failed).

    Callers run this in the transaction that moves the job out of queued/running, and only
    when that guarded transition changed a row, so each reservation is settled once.
    """
    changes = {"reserved": F("reserved") - 1, "updated_at": timezone.now()}
    if completed:
        changes["composite_renders"] = F("composite_renders") + 1
    UsageDaily.objects.filter(shop_id=shop_id, date=day).update(**changes)


def usage_count(*, shop_id, day: dt.date, counter: str) -> None:
    """Count one prep or cleanup render. These are tracked, not limited by the quota."""
    if counter not in USAGE_COUNTERS:
        raise ValueError(f"unknown usage counter {counter!r}")
    usage_row_ensure(shop_id=shop_id, day=day)
    UsageDaily.objects.filter(shop_id=shop_id, date=day).update(
        **{counter: F(counter) + 1, "updated_at": timezone.now()}
    )
