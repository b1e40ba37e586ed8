"""Staff analytics of rendering: each shop's quota use per day, render failures and latency.

Aggregated in SQL over the date and creation-time indexes; latency percentiles are
PERCENTILE_CONT on PostgreSQL and computed in Python on SQLite (config.aggregates).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Aggregate, Count, Q, Sum
from django.db.models.functions import TruncDate

from config.aggregates import PercentileSeconds, elapsed, percentile, percentile_in_sql
from rendering.models import RenderJob, RenderJobStatus, Shop, UsageDaily

# The dashboard charts this many shops: the ones that used the most in the window.
TOP_SHOPS = 12
FINISHED = [RenderJobStatus.COMPLETED, RenderJobStatus.FAILED]


@dataclass(frozen=True)
class ShopDay:
    date: datetime.date
    quota: int
    used: int
    reserved: int
    failed: int


@dataclass(frozen=True)
class ShopUsage:
    shop_id: str
    name: str
    days: list[ShopDay]

    @property
    def used(self) -> int:
        return sum(day.used for day in self.days)


def _days(since: datetime.date, until: datetime.date) -> list[datetime.date]:
    return [since + datetime.timedelta(days=n) for n in range((until - since).days + 1)]


def _utc_range(since: datetime.date, until: datetime.date, *, slack_days: int = 0):
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(until, datetime.time.min, tzinfo=datetime.UTC)
    slack = datetime.timedelta(days=slack_days)
    return start - slack, end + datetime.timedelta(days=1) + slack


def shop_usage_by_day(
    *, since: datetime.date, until: datetime.date, top: int = TOP_SHOPS
) -> list[ShopUsage]:
    """The `top` shops by renders used in the window, each with every day of it: used
    (completed composite renders), reserved (slots of jobs still running) and failed
    renders of that quota day. The quota is today's (history keeps no old quotas)."""
    usage = UsageDaily.objects.filter(date__range=(since, until)).order_by()
    ranked = list(
        usage.values("shop_id")
        .annotate(used=Sum("composite_renders"), reserved=Sum("reserved"))
        .order_by("-used", "-reserved", "shop_id")[:top]
    )
    shop_ids = [row["shop_id"] for row in ranked]
    days: dict[tuple, dict[str, Any]] = {
        (row["shop_id"], row["date"]): dict(row)
        for row in usage.filter(shop_id__in=shop_ids).values(
            "shop_id", "date", "composite_renders", "reserved"
        )
    }
    # A quota day is the shop's local date: creation times within a day of it, in UTC.
    start, end = _utc_range(since, until, slack_days=1)
    failed = {
        (row["shop_id"], row["usage_date"]): row["n"]
        for row in RenderJob.objects.filter(
            shop_id__in=shop_ids,
            status=RenderJobStatus.FAILED,
            created_at__gte=start,
            created_at__lt=end,
            usage_date__range=(since, until),
        )
        .order_by()
        .values("shop_id", "usage_date")
        .annotate(n=Count("pk"))
    }
    shops = {shop.pk: shop for shop in Shop.objects.filter(pk__in=shop_ids)}
    result = []
    for shop_id in shop_ids:
        shop = shops[shop_id]
        result.append(
            ShopUsage(
                shop_id=str(shop_id),
                name=shop.name,
                days=[
                    ShopDay(
                        date=day,
                        quota=shop.daily_quota,
                        used=days.get((shop_id, day), {}).get("composite_renders", 0),
                        reserved=days.get((shop_id, day), {}).get("reserved", 0),
                        failed=failed.get((shop_id, day), 0),
                    )
                    for day in _days(since, until)
                ],
            )
        )
    return result


@dataclass(frozen=True)
class RenderDay:
    """Render jobs created on `day` (UTC) that finished: how many, how many failed, and
    the seconds from creation to the finish of the completed ones (p50, p95)."""

    day: datetime.date
    finished: int
    failed: int
    p50_seconds: float | None
    p95_seconds: float | None

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


def render_stats_by_day(*, since: datetime.date, until: datetime.date) -> list[RenderDay]:
    start, end = _utc_range(since, until)
    jobs = RenderJob.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    completed = Q(status=RenderJobStatus.COMPLETED)
    aggregates: dict[str, Aggregate] = {
        "finished": Count("pk", filter=Q(status__in=FINISHED)),
        "failed": Count("pk", filter=Q(status=RenderJobStatus.FAILED)),
    }
    in_sql = percentile_in_sql()
    if in_sql:
        latency = elapsed("created_at", "finished_at")
        aggregates["p50"] = PercentileSeconds(latency, fraction=0.5, filter=completed)
        aggregates["p95"] = PercentileSeconds(latency, fraction=0.95, filter=completed)
    rows: dict[datetime.date, dict[str, Any]] = {
        row["day"]: dict(row)
        for row in jobs.annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
        .values("day")
        .annotate(**aggregates)
    }
    latencies: dict[datetime.date, list[float]] = defaultdict(list)
    if not in_sql:
        for created_at, finished_at in jobs.filter(completed).values_list(
            "created_at", "finished_at"
        ):
            if finished_at is None:
                continue
            day = created_at.astimezone(datetime.UTC).date()
            latencies[day].append((finished_at - created_at).total_seconds())
    result = []
    for day in _days(since, until):
        row: dict[str, Any] = rows.get(day, {})
        result.append(
            RenderDay(
                day=day,
                finished=row.get("finished", 0),
                failed=row.get("failed", 0),
                p50_seconds=row.get("p50") if in_sql else percentile(latencies[day], 0.5),
                p95_seconds=row.get("p95") if in_sql else percentile(latencies[day], 0.95),
            )
        )
    return result
