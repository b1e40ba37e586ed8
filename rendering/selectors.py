"""Reads of rendering data, scoped to the caller: someone else's rows are never returned."""

import uuid
from typing import Any

from django.db.models import Count

from accounts.models import User
from config.errors import NotFound
from rendering.models import RenderJob, RenderJobStatus, RoomSession, Shop, UsageDaily
from rendering.quota import quota_day, quota_resets_at


def shop_get_for_user(*, user: User, shop_id: uuid.UUID | str) -> Shop:
    """The user's shop; NotFound for an unknown id or someone else's shop."""
    shop = Shop.objects.filter(pk=shop_id, owner_id=user.pk).first()
    if shop is None:
        raise NotFound("No such shop.")
    return shop


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


def render_jobs_in_flight() -> dict[str, int]:
    """Unfinished jobs (each holds one quota reservation) by status, for the metrics; one
    query on the partial index of unfinished jobs. Not scoped: operators' figures."""
    counts = dict.fromkeys([RenderJobStatus.QUEUED.value, RenderJobStatus.RUNNING.value], 0)
    rows = RenderJob.objects.unfinished().order_by().values_list("status").annotate(n=Count("pk"))
    counts.update(dict(rows))
    return counts
