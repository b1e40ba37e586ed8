"""Retention of quote-run events at scale: dropping partitions against the batched delete.

BENCH_RETENTION_EVENTS (default 10,000,000) event rows, 70 per run, of runs created in
one hour four hours ago and past retention, are inserted with generate_series. Then:

1. partitioned (what runs now on PostgreSQL): `quote_run_cleanup()` drops the partition
   and deletes the runs, whose cascade finds no event left;
2. the batched delete: the events table is turned back into a plain table (the
   migration's way back), the same rows are inserted again, and the same cleanup deletes
   the runs and their events, QUOTE_RUN_CLEANUP_BATCH runs per transaction; then the
   table is partitioned again.

Both delete the runs in (expires_at, id) keyset batches; the partition drop is also timed
on its own.

During each cleanup a writer appends events to a live run without pause (each append is
its own transaction, as in a worker): its longest append is what the cleanup made a
worker wait.
"""

import os
import threading
import time

from bench.goals import EVENT_RETENTION

EVENTS = int(os.environ.get("BENCH_RETENTION_EVENTS", "10000000"))
EVENTS_PER_RUN = 70
SESSION_PREFIX = "bench-retention-run-"

_RUNS = """
INSERT INTO quote_runs_quoterun (id, user_id, session_id, status, job, providers, result,
    error, last_event_id, created_at, expires_at, finished_at, attempts, claimed_until)
SELECT gen_random_uuid(), NULL, %(prefix)s || i, 'completed', '{}', '["standard"]', '{}',
    '', %(per_run)s, %(hour)s + (i %% 3600000) * interval '1 millisecond',
    now() - interval '1 second', now() - interval '2 seconds', 1, NULL
FROM generate_series(1, %(runs)s) AS i
"""

_EVENTS = """
INSERT INTO quote_runs_quoterunevent (run_id, seq, type, key, data, created_at, run_created_at)
SELECT r.id, s, 'provider.progress', 'progress:' || s, '{"provider": "standard", "step": 1}',
    r.created_at, r.created_at
FROM quote_runs_quoterun r CROSS JOIN generate_series(1, %(per_run)s) AS s
WHERE r.session_id LIKE %(like)s
"""


class AppendWriter:
    """Appends events to one live run, one transaction each, until stopped."""

    def __init__(self, run_id):
        self.run_id = run_id
        self.latencies_ms: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.offset = 0

    def _run(self) -> None:
        from django.db import connection

        from quotes.runs.events import run_event_append

        try:
            while not self.stop.is_set():
                self.offset += 1
                started = time.perf_counter()
                run_event_append(
                    run_id=self.run_id,
                    event_type="provider.progress",
                    key=f"writer:{time.time_ns()}:{self.offset}",
                )
                self.latencies_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.005)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def _fill(cursor, hour) -> float:
    runs = EVENTS // EVENTS_PER_RUN
    started = time.perf_counter()
    cursor.execute(
        _RUNS, {"prefix": SESSION_PREFIX, "per_run": EVENTS_PER_RUN, "hour": hour, "runs": runs}
    )
    cursor.execute(_EVENTS, {"per_run": EVENTS_PER_RUN, "like": f"{SESSION_PREFIX}%"})
    cursor.execute("ANALYZE quote_runs_quoterun")
    cursor.execute("ANALYZE quote_runs_quoterunevent")
    return time.perf_counter() - started


def _cleanup_timed(live_run_id) -> dict:
    """The cleanup under a writer; on a partitioned table the partitions' drop is timed
    apart from the rest (the runs' deletes)."""
    from quotes.runs.partitions import events_partitioned, partitions_drop_expired
    from quotes.runs.services import quote_run_cleanup

    with AppendWriter(live_run_id) as writer:
        time.sleep(0.5)
        started = time.perf_counter()
        dropped = partitions_drop_expired() if events_partitioned() else {}
        drop_s = time.perf_counter() - started
        counts = quote_run_cleanup()
        seconds = time.perf_counter() - started
        time.sleep(0.2)
    appends = sorted(writer.latencies_ms)
    return {
        "seconds": round(seconds, 2),
        "drop_s": round(drop_s, 2),
        "counts": {**counts, "dropped": dropped},
        "appends": len(appends),
        "append_p50_ms": round(appends[len(appends) // 2], 1) if appends else None,
        "append_max_ms": round(appends[-1], 1) if appends else None,
    }


class _Editor:
    """What the migration's table functions use of a schema editor: its connection."""

    def __init__(self, connection):
        self.connection = connection


def run(bench) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from quotes.runs.models import QuoteRun
    from quotes.runs.partitions import (
        events_partition_table,
        events_partitioned,
        events_unpartition_table,
        partitions_ensure,
    )

    if not events_partitioned():
        raise SystemExit("event_retention needs PostgreSQL (the events table partitioned)")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timezone.timedelta(hours=4)
    live = QuoteRun.objects.create(
        session_id="bench-retention-writer",
        job={},
        providers=["standard"],
        expires_at=timezone.now() + timezone.timedelta(hours=2),
    )

    partitions_ensure(now=hour)
    with connection.cursor() as cursor:
        partitioned_fill_s = _fill(cursor, hour)
    partitioned = _cleanup_timed(live.pk)

    with transaction.atomic():
        events_unpartition_table(_Editor(connection))
    with connection.cursor() as cursor:
        plain_fill_s = _fill(cursor, hour)
    batched = _cleanup_timed(live.pk)
    with transaction.atomic():
        events_partition_table(_Editor(connection))

    bench.record(
        EVENT_RETENTION,
        events=EVENTS,
        runs=EVENTS // EVENTS_PER_RUN,
        partitioned_fill_s=round(partitioned_fill_s, 1),
        partition_total_s=partitioned["seconds"],
        partition_drop_s=partitioned["drop_s"],
        partition_drop_counts=partitioned["counts"],
        partition_append_max_ms=partitioned["append_max_ms"],
        partition_append_p50_ms=partitioned["append_p50_ms"],
        plain_fill_s=round(plain_fill_s, 1),
        batched_delete_s=batched["seconds"],
        batched_delete_counts=batched["counts"],
        batched_append_max_ms=batched["append_max_ms"],
        batched_append_p50_ms=batched["append_p50_ms"],
        speedup=round(batched["seconds"] / max(partitioned["seconds"], 0.001), 1),
    )
