"""Reads of rendering data, scoped to the caller: someone else's rows are never returned."""

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, QuerySet

from accounts.models import User
from config.errors import NotFound
from config.filters import filterset_apply
from rendering.filters import RenderJobFilter, ShopFilter
from rendering.models import RenderJob, RenderJobStatus, RoomSession, Shop, UsageDaily
from rendering.quota import quota_day, quota_resets_at

# The longest usage history one request may ask for (both ends inclusive): a leap year.
USAGE_HISTORY_MAX_DAYS = 366


def shop_get_for_user(*, user: User, shop_id: uuid.UUID | str) -> Shop:
    """The user's shop; NotFound for an unknown id or someone else's shop."""
    shop = Shop.objects.filter(pk=shop_id, owner_id=user.pk).first()
    if shop is None:
        raise NotFound("No such shop.")
    return shop


def shop_list_for_user(*, user: User, filters: Mapping[str, str]) -> QuerySet[Shop]:
    """The user's shops (ShopFilter has no filters: any parameter is ValidationFailed)."""
    return filterset_apply(ShopFilter, filters=filters, queryset=Shop.objects.filter(owner=user))


def room_session_get_for_user(
    *, user: User, room_session_id: uuid.UUID | str, shop_id: uuid.UUID | str | None = None
) -> RoomSession:
    """A room session of one of the user's shops (of `shop_id` when given); else NotFound."""
    sessions = RoomSession.objects.select_related("shop").filter(
        pk=room_session_id, shop__owner_id=user.pk
    )
    if shop_id is not None:
        sessions = sessions.filter(shop_id=shop_id)
    session = sessions.first()
    if session is None:
        raise NotFound("No such room session.")
    return session


def render_job_get_for_user(*, user: User, render_job_id: uuid.UUID | str) -> RenderJob:
    job = RenderJob.objects.filter(pk=render_job_id, shop__owner_id=user.pk).first()
    if job is None:
        raise NotFound("No such render.")
    return job


def render_job_list_for_user(*, user: User, filters: Mapping[str, str]) -> QuerySet[RenderJob]:
    """The renders of the user's shops (who may read one by id), narrowed by
    RenderJobFilter; a bad filter is ValidationFailed. Someone else's shop_id: no rows."""
    jobs = RenderJob.objects.filter(shop__owner_id=user.pk)
    return filterset_apply(RenderJobFilter, filters=filters, queryset=jobs)


def shop_usage_today(*, shop: Shop) -> dict[str, Any]:
    """Today's counters in the shop's time zone: remaining = quota - completed - reserved."""
    day = quota_day(shop=shop)
    row = UsageDaily.objects.filter(shop=shop, date=day).first() or UsageDaily(shop=shop, date=day)
    return {
        "date": day,
        "daily_quota": shop.daily_quota,
        "used": {
            "render": row.composite_renders,
            "prep": row.prep_renders,
            "cleanup": row.cleanup_renders,
        },
        "reserved": row.reserved,
        "remaining": max(0, shop.daily_quota - row.composite_renders - row.reserved),
        "resets_at": quota_resets_at(shop=shop, day=day),
    }


def shop_usage_history(*, shop: Shop, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """One row per day from `first` to `last` (both included), oldest first; days without a
    usage row are zeros. One query (the range of the (shop, date) unique index), the gaps
    filled here, so it reads the same on PostgreSQL and SQLite. `daily_quota` is the
    shop's current quota (past quotas are not kept). The caller bounds the range."""
    if last < first:
        raise ValueError("last must not be before first")
    stored: dict[dt.date, dict[str, Any]] = {
        row["date"]: dict(row)
        for row in UsageDaily.objects.filter(shop=shop, date__range=(first, last))
        .order_by()
        .values("date", "composite_renders", "prep_renders", "cleanup_renders", "reserved")
    }
    days = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        row = stored.get(day, {})
        days.append(
            {
                "date": day,
                "daily_quota": shop.daily_quota,
                "used": {
                    "render": row.get("composite_renders", 0),
                    "prep": row.get("prep_renders", 0),
                    "cleanup": row.get("cleanup_renders", 0),
                },
                "reserved": row.get("reserved", 0),
            }
        )
    return days


def render_jobs_in_flight() -> dict[str, int]:
    """Unfinished jobs (each holds one quota reservation) by status, for the metrics; one
    query on the partial index of unfinished jobs. Not scoped: operators' figures."""
    counts = dict.fromkeys([RenderJobStatus.QUEUED.value, RenderJobStatus.RUNNING.value], 0)
    rows = RenderJob.objects.unfinished().order_by().values_list("status").annotate(n=Count("pk"))
    counts.update(dict(rows))
    return counts
