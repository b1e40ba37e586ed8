"""Staff analytics of quotes: conversion (created → used) per day and per op, cleanup backlog.

Every figure is one SQL aggregation over a range of the `created_at` index (one scan for
all ops: an op is a conditional aggregate on `ops ? <op>`). The median time to use is
PERCENTILE_CONT on PostgreSQL; SQLite lacks it, so there the used quotes' durations of
the range are read and the median taken in Python.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Aggregate, Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from config.aggregates import PercentileSeconds, elapsed, percentile, percentile_in_sql
from quotes.models import CreditSchedule, Quote, QuoteStatus

ALL_OPS = ""  # the `op` of rows that count every quote, whatever its ops
MEDIAN = 0.5


@dataclass(frozen=True)
class Conversion:
    """Quotes created on `day` (UTC; None: the whole window) with `op` (ALL_OPS: any):
    how many were used, how many expired unused, and the median seconds from creation
    to use among the used ones."""

    day: datetime.date | None
    op: str
    created: int
    used: int
    expired: int
    median_seconds_to_use: float | None

    @property
    def rate(self) -> float | None:
        """used / created, None when nothing was created."""
        return self.used / self.created if self.created else None


def quote_ops_known() -> list[str]:
    """Every op any schedule version priced: a quote's `ops` keys are a subset of its
    schedule's, so these are all the ops quotes can have."""
    names: set[str] = set()
    for ops in CreditSchedule.objects.values_list("ops", flat=True):
        names.update(ops or {})
    return sorted(names)


def _window(since: datetime.date, until: datetime.date) -> tuple[datetime.datetime, ...]:
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(until, datetime.time.min, tzinfo=datetime.UTC)
    return start, end + datetime.timedelta(days=1)


def quote_conversion(
    *, since: datetime.date, until: datetime.date, by_day: bool = True
) -> list[Conversion]:
    """Conversion of the quotes created from `since` to `until` (UTC days, inclusive).

    by_day: one row per day (every day of the range, zeros included) per op, ALL_OPS
    first; else one row per op over the whole window (day None). "Expired" counts quotes
    stored expired and active ones already past expiry (what cleanup has not marked yet).
    """
    start, end = _window(since, until)
    now = timezone.now()
    ops = quote_ops_known()
    conditions: list[tuple[str, Q | None]] = [(ALL_OPS, None)]
    conditions += [(op, Q(ops__has_key=op)) for op in ops]
    used = Q(status=QuoteStatus.USED)
    expired = Q(status=QuoteStatus.EXPIRED) | Q(status=QuoteStatus.ACTIVE, expires_at__lte=now)
    in_sql = percentile_in_sql()

    aggregates: dict[str, Aggregate] = {}
    for index, (_op, condition) in enumerate(conditions):
        aggregates[f"c{index}"] = Count("pk", filter=condition)
        aggregates[f"u{index}"] = Count("pk", filter=used & condition if condition else used)
        aggregates[f"e{index}"] = Count("pk", filter=expired & condition if condition else expired)
        if in_sql:
            # used_at is NULL unless used (a constraint): PERCENTILE_CONT skips the rest.
            aggregates[f"m{index}"] = PercentileSeconds(
                elapsed("created_at", "used_at"), fraction=MEDIAN, filter=condition
            )
    quotes = Quote.objects.filter(created_at__gte=start, created_at__lt=end).order_by()
    if by_day:
        rows = (
            quotes.annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
            .values("day")
            .annotate(**aggregates)
        )
        found: dict[datetime.date | None, dict[str, Any]] = {row["day"]: dict(row) for row in rows}
        count = (until - since).days + 1
        days: list[datetime.date | None] = [since + datetime.timedelta(n) for n in range(count)]
    else:
        found = {None: quotes.aggregate(**aggregates)}
        days = [None]
    medians = {} if in_sql else _medians_fallback(quotes, ops, by_day=by_day)

    result = []
    for index, (op, _condition) in enumerate(conditions):
        for day in days:
            row: dict[str, Any] = found.get(day, {})
            median = row.get(f"m{index}") if in_sql else medians.get((day, op))
            result.append(
                Conversion(
                    day=day,
                    op=op,
                    created=row.get(f"c{index}", 0),
                    used=row.get(f"u{index}", 0),
                    expired=row.get(f"e{index}", 0),
                    median_seconds_to_use=median,
                )
            )
    return result


def _medians_fallback(quotes, ops: list[str], *, by_day: bool) -> dict:
    """(day, op) -> median seconds to use, for databases without PERCENTILE_CONT."""
    durations: dict[tuple, list[float]] = defaultdict(list)
    used = quotes.filter(status=QuoteStatus.USED).values_list("created_at", "used_at", "ops")
    for created_at, used_at, quote_ops in used:
        day = created_at.astimezone(datetime.UTC).date() if by_day else None
        seconds = (used_at - created_at).total_seconds()
        for op in [ALL_OPS, *(op for op in ops if op in (quote_ops or {}))]:
            durations[day, op].append(seconds)
    return {key: percentile(values, MEDIAN) for key, values in durations.items()}


def quote_cleanup_backlog() -> int:
    """Quotes the quotes cleanup is due to change right now: active past expiry (to mark)
    and any past retention (to delete). settings.CLEANUP_BACKLOGS["quotes"]."""
    now = timezone.now()
    return (
        Quote.objects.filter(
            Q(status=QuoteStatus.ACTIVE, expires_at__lte=now)
            | Q(expires_at__lt=now - settings.QUOTE_RETENTION)
        )
        .order_by()
        .count()
    )
