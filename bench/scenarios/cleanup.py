"""The quote cleanup at scale, with POST /api/quotes measured meanwhile.

BENCH_CLEANUP_ROWS (default 1,000,000) active quotes, expired a day ago, are inserted in
one generate_series statement. Then `manage.py cleanup_expired quotes` (what cron or beat
runs) marks them all expired; then, run again with QUOTE_RETENTION_DAYS=0, deletes them
all. During both runs 4 clients POST quotes without pause, and a sampler polls pg_locks
every 10 ms for the longest lock wait of any quote INSERT (a POST blocked by the cleanup).
"""

import json
import os
import subprocess
import sys
import threading
import time

import psycopg

from bench.goals import CLEANUP
from bench.load import run_load
from bench.scenarios.quotes import job

ROWS = int(os.environ.get("BENCH_CLEANUP_ROWS", "1000000"))
POST_CONCURRENCY = 4
BASELINE_S = 5
SAMPLE_EVERY_S = 0.01
SESSION_PREFIX = "bench-cleanup-"

_INSERT = """
INSERT INTO quotes_quote (id, session_id, user_id, files, ops, credits_total,
    per_file_credits, per_file, schedule, status, created_at, expires_at, used_at)
SELECT gen_random_uuid(), %(prefix)s || i, NULL, %(files)s, %(ops)s, %(credits)s,
    %(per_file_credits)s, %(per_file)s, %(schedule)s, 'active',
    now() - interval '1 day' - i * interval '1 millisecond' - interval '15 minutes',
    now() - interval '1 day' - i * interval '1 millisecond',
    NULL
FROM generate_series(1, %(rows)s) AS i
"""

_LONGEST_INSERT_WAIT_MS = """
SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart)) * 1000, 0)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = current_database()
  AND a.query LIKE 'INSERT INTO "quotes_quote"%%'
"""


class LockWaitSampler:
    """Polls pg_locks on its own connection: the longest wait of a quote INSERT seen."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.longest_ms = 0.0
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                waited = conn.execute(_LONGEST_INSERT_WAIT_MS).fetchone()[0]
                self.longest_ms = max(self.longest_ms, float(waited))
                self.samples += 1
                time.sleep(SAMPLE_EVERY_S)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def _post_factory(token: str):
    body = job(None)

    def factory(_index: int) -> dict:
        return {
            "method": "POST",
            "path": "/api/quotes",
            "headers": {"Authorization": f"Bearer {token}"},
            "json": body,
        }

    return factory


def _cleanup_under_load(bench, token: str, database_url: str, **env: str) -> dict:
    """Run the cleanup command while POSTs run; returns its time, output and the POSTs."""
    stop = threading.Event()
    posts = {}
    loader = threading.Thread(
        target=lambda: posts.update(
            result=run_load(
                name="POST during cleanup",
                base_url=bench.base_url,
                concurrency=POST_CONCURRENCY,
                request_factory=_post_factory(token),
                stop=stop,
            )
        )
    )
    with LockWaitSampler(database_url) as sampler:
        loader.start()
        time.sleep(0.5)
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "manage.py", "cleanup_expired", "quotes"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        stop.set()
        loader.join()
    result = posts["result"]
    return {
        "seconds": round(seconds, 1),
        "output": completed.stdout.strip(),
        "post_requests": result.count,
        "post_non_201": sum(n for status, n in result.statuses.items() if status != 201),
        "post_p50_ms": round(result.p50_ms, 1),
        "post_p99_ms": round(result.p99_ms, 1),
        "post_max_ms": round(max(result.latencies_ms, default=0), 1),
        "longest_insert_lock_wait_ms": round(sampler.longest_ms, 1),
        "lock_samples": sampler.samples,
    }


def run(bench) -> None:
    from django.conf import settings
    from django.db import connection

    from quotes.identity import Caller
    from quotes.models import Quote, QuoteStatus
    from quotes.selectors import credit_schedule_active
    from quotes.serializers import JobInputSerializer
    from quotes.services import quote_create

    owner = bench.make_user()
    token = bench.token_for(owner)
    schedule = credit_schedule_active()
    data = JobInputSerializer(data=job(None), context={"schedule": schedule})
    data.is_valid(raise_exception=True)
    sample = quote_create(
        caller=Caller(user=owner, session_id=None), schedule=schedule, **data.validated_data
    )
    url = os.environ["DATABASE_URL"]

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            {
                "prefix": SESSION_PREFIX,
                "files": json.dumps(sample.files),
                "ops": json.dumps(sample.ops),
                "credits": sample.credits_total,
                "per_file_credits": json.dumps(sample.per_file_credits),
                "per_file": json.dumps(sample.per_file),
                "schedule": json.dumps(sample.schedule),
                "rows": ROWS,
            },
        )
        cursor.execute("VACUUM ANALYZE quotes_quote")
    inserted_s = time.perf_counter() - started

    baseline = run_load(
        name="POST before cleanup",
        base_url=bench.base_url,
        concurrency=POST_CONCURRENCY,
        duration_s=BASELINE_S,
        request_factory=_post_factory(token),
    )
    expire = _cleanup_under_load(bench, token, url)
    left_active = Quote.objects.filter(
        session_id__startswith=SESSION_PREFIX, status=QuoteStatus.ACTIVE
    ).count()
    delete = _cleanup_under_load(bench, token, url, QUOTE_RETENTION_DAYS="0")
    left = Quote.objects.filter(session_id__startswith=SESSION_PREFIX).count()

    bench.record(
        CLEANUP,
        rows=ROWS,
        insert_s=round(inserted_s, 1),
        batch_size=settings.QUOTE_CLEANUP_BATCH_SIZE,
        expire_s=expire["seconds"],
        delete_s=delete["seconds"],
        total_s=round(expire["seconds"] + delete["seconds"], 1),
        left_active_after_expire=left_active,
        left_after_delete=left,
        longest_post_lock_wait_ms=max(
            expire["longest_insert_lock_wait_ms"], delete["longest_insert_lock_wait_ms"]
        ),
        post_c4_before_p50_ms=round(baseline.p50_ms, 1),
        post_c4_before_p99_ms=round(baseline.p99_ms, 1),
        post_c4_before_rps=round(baseline.rps, 1),
        expire_run=json.dumps(expire),
        delete_run=json.dumps(delete),
    )
