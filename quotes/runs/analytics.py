"""Staff view of stream health: quote runs within retention by status, stalled runs, time to
finish, events streamed, and the open event streams the metrics count."""

import datetime
import logging
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.aggregates import PercentileSeconds, elapsed, percentile, percentile_in_sql
from config.metrics import metrics_text
from quotes.runs.models import QuoteRun, QuoteRunStatus

logger = logging.getLogger(__name__)

# A processing run with no live lease for this long has no worker on it.
STALLED_AFTER = datetime.timedelta(seconds=60)
OPEN_STREAMS_METRIC = "atelier_open_streams"


@dataclass(frozen=True)
class StreamHealth:
    processing: int
    completed: int
    failed: int
    stalled: int
    events: int
    p50_seconds_to_finish: float | None
    p95_seconds_to_finish: float | None
    open_streams: int | None

    @property
    def runs(self) -> int:
        return self.processing + self.completed + self.failed


def open_streams() -> int | None:
    """Event streams open now, by the metrics of this server's processes; None when the
    metrics cannot be read."""
    try:
        families = text_string_to_metric_families(metrics_text().decode())
        for family in families:
            if family.name == OPEN_STREAMS_METRIC:
                return round(sum(sample.value for sample in family.samples))
    except Exception as exc:
        logger.warning("dashboard: open streams unavailable: %s", exc)
    return None


def quote_run_health() -> StreamHealth:
    """Runs still within retention (QuoteRun.objects.live()), in one aggregation."""
    now = timezone.now()
    runs = QuoteRun.objects.live().order_by()
    stalled = Q(status=QuoteRunStatus.PROCESSING, created_at__lt=now - STALLED_AFTER) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    aggregates = {
        "processing": Count("pk", filter=Q(status=QuoteRunStatus.PROCESSING)),
        "completed": Count("pk", filter=Q(status=QuoteRunStatus.COMPLETED)),
        "failed": Count("pk", filter=Q(status=QuoteRunStatus.FAILED)),
        "stalled": Count("pk", filter=stalled),
        "events": Sum("last_event_id"),
    }
    in_sql = percentile_in_sql()
    if in_sql:
        to_finish = elapsed("created_at", "finished_at")
        aggregates["p50"] = PercentileSeconds(to_finish, fraction=0.5)
        aggregates["p95"] = PercentileSeconds(to_finish, fraction=0.95)
        row = runs.aggregate(**aggregates)
        p50, p95 = row["p50"], row["p95"]
    else:
        row = runs.aggregate(**aggregates)
        seconds = [
            (finished - created).total_seconds()
            for created, finished in runs.filter(finished_at__isnull=False).values_list(
                "created_at", "finished_at"
            )
        ]
        p50, p95 = percentile(seconds, 0.5), percentile(seconds, 0.95)
    return StreamHealth(
        processing=row["processing"],
        completed=row["completed"],
        failed=row["failed"],
        stalled=row["stalled"],
        events=row["events"] or 0,
        p50_seconds_to_finish=p50,
        p95_seconds_to_finish=p95,
        open_streams=open_streams(),
    )
