"""Fixed-window rate limiting in the database: one upsert statement per hit, exact under load."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import RateLimitToken
from config.cleanup import delete_in_batches

TABLE = RateLimitToken._meta.db_table
CLEANUP_BATCH_SIZE = 5000

# Count the hit and restart the window when it has ended, all inside the conflict update,
# so concurrent hits on one key serialize on its row lock and each sees its own count.
_UPSERT_SET = f"""
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN {TABLE}.window_end <= excluded.window_start THEN 1
                 ELSE {TABLE}.count + 1 END,
    window_start = CASE WHEN {TABLE}.window_end <= excluded.window_start
                        THEN excluded.window_start ELSE {TABLE}.window_start END,
    window_end = CASE WHEN {TABLE}.window_end <= excluded.window_start
                      THEN excluded.window_end ELSE {TABLE}.window_end END
RETURNING count, window_end
"""

_UPSERT = f"""
INSERT INTO {TABLE} (key, count, window_start, window_end)
VALUES (%s, 1, %s, %s)
{_UPSERT_SET}
"""  # noqa: S608 - only the model's table name is interpolated

# PostgreSQL: the counter's commit need not wait for the WAL flush. set_config(..., true)
# is transaction-local and this statement is its own transaction (autocommit), so the
# setting never leaks into other work. A crash may lose the last few hits; no request
# waits for the disk because of a counter.
_UPSERT_ASYNC_COMMIT_PG = f"""
WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO {TABLE} (key, count, window_start, window_end)
SELECT %s, 1, %s, %s FROM async_commit
{_UPSERT_SET}
"""  # noqa: S608 - only the model's table name is interpolated


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int


def _as_aware(value) -> datetime:
    """Raw cursors return datetimes as text on SQLite and as naive UTC without a tz."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> RateLimitResult:
    """Count one hit of `key`; allowed while the window's count is at most `limit`.

    One SQL statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING): any number of
    concurrent callers on any instances admit exactly `limit` hits per window.
    """
    now = timezone.now()
    window_end = now + timedelta(seconds=window_s)
    params = [
        key,
        connection.ops.adapt_datetimefield_value(now),
        connection.ops.adapt_datetimefield_value(window_end),
    ]
    sql = _UPSERT
    # Inside an outer transaction the setting would apply to that transaction's commit too.
    if (
        connection.vendor == "postgresql"
        and settings.RATE_LIMIT_ASYNC_COMMIT
        and not connection.in_atomic_block
    ):
        sql = _UPSERT_ASYNC_COMMIT_PG
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count, ends_at = cursor.fetchone()
    allowed = count <= limit
    retry_after_s = 0
    if not allowed:
        retry_after_s = max(1, math.ceil((_as_aware(ends_at) - now).total_seconds()))
    return RateLimitResult(
        allowed=allowed,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after_s=retry_after_s,
    )


def rate_limit_reset(*, keys: list[str]) -> int:
    """Forget the counts of `keys` (staff action); returns how many were reset."""
    deleted, _ = RateLimitToken.objects.filter(key__in=keys).delete()
    return deleted


def rate_limit_cleanup() -> dict[str, int]:
    """Delete tokens whose window has ended: the next hit starts a fresh window anyway."""
    stale = RateLimitToken.objects.filter(window_end__lte=timezone.now())
    deleted = delete_in_batches(stale, batch_size=CLEANUP_BATCH_SIZE)
    return {"rate_limit_tokens_deleted": deleted[RateLimitToken._meta.label]}
