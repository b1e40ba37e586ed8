"""Percentiles of durations in SQL: PERCENTILE_CONT on PostgreSQL, a Python fallback else."""

import statistics
from collections.abc import Iterable

from django.db import connection
from django.db.models import Aggregate, DurationField, ExpressionWrapper, F, FloatField


def percentile_in_sql() -> bool:
    """True where PercentileSeconds runs in the database (PostgreSQL); SQLite has no
    ordered-set aggregates, so callers there compute percentiles with `percentile`."""
    return connection.vendor == "postgresql"


class PercentileSeconds(Aggregate):
    """PERCENTILE_CONT(fraction) of an interval expression, in seconds (NULLs ignored).

    PostgreSQL only (see percentile_in_sql)."""

    function = "PERCENTILE_CONT"
    name = "PercentileSeconds"
    template = (
        "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    )
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be within [0, 1], not {fraction}")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def elapsed(start: str, end: str) -> ExpressionWrapper:
    """`end - start` of two datetime columns, as an interval."""
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def percentile(seconds: Iterable[float], fraction: float) -> float | None:
    """PERCENTILE_CONT's answer (linear interpolation between ranks) in Python."""
    values = sorted(seconds)
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    if fraction == 0.5:
        return float(statistics.median(values))
    rank = fraction * (len(values) - 1)
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return float(values[low] + (values[high] - values[low]) * (rank - low))
