"""Fixed-window rate limiting in the database: one upsert statement per hit, exact under load."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import RateLimitToken
from config.cleanup import change_in_batches

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

# PostgreSQL: the counter's commit need not wait for the WAL flush. set_config(..., true)
# is transaction-local and the statement is its own transaction (autocommit), so the
# setting never leaks into other work. A crash may lose the last few hits; no request
# waits for the disk because of a counter.
ASYNC_COMMIT_CTE = "async_commit AS (SELECT set_config('synchronous_commit', 'off', true))"


def upsert_sql(*, key_sql: str = "%s", source: str = "") -> str:
    """The counting statement: INSERT ... SELECT <key_sql>, 1, %s, %s [FROM <source>] ON
    CONFLICT ... RETURNING count, window_end. Its parameters: those of key_sql and source,
    then window_params(). Usable as a CTE of a larger PostgreSQL statement. (The WHERE
    keeps SQLite from reading ON CONFLICT as a join constraint.)"""
    from_clause = f" FROM {source}" if source else ""
    return (
        f"INSERT INTO {TABLE} (key, count, window_start, window_end) "
        f"SELECT {key_sql}, 1, %s, %s{from_clause} WHERE true\n{_UPSERT_SET}"
    )


def async_commit_applies() -> bool:
    """Whether a counting statement may turn off synchronous_commit for itself: PostgreSQL,
    enabled, and not inside an outer transaction (whose commit it would also affect)."""
    return (
        connection.vendor == "postgresql"
        and settings.RATE_LIMIT_ASYNC_COMMIT
        and not connection.in_atomic_block
    )


def window_params(*, now: datetime, window_s: int) -> list:
    """window_start and window_end of a hit at `now`, as the database takes them."""
    return [
        connection.ops.adapt_datetimefield_value(now),
        connection.ops.adapt_datetimefield_value(now + timedelta(seconds=window_s)),
    ]


@dataclass(frozen=True)
class RateLimitResult:
    """A verdict on one hit of a limit named `policy` (`limit` hits per `window_s`)."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int
    # Seconds until the window restarts (and `remaining` is `limit` again).
    reset_s: int = 0
    window_s: int = 0
    policy: str = ""


def key_policy(key: str) -> str:
    """The policy a counter key belongs to: its scope, the part before the first colon."""
    return key.partition(":")[0]


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
    sql = upsert_sql()
    if async_commit_applies():
        sql = f"WITH {ASYNC_COMMIT_CTE} {upsert_sql(source='async_commit')}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, *window_params(now=now, window_s=window_s)])
        count, ends_at = cursor.fetchone()
    return rate_limit_result(
        count=count,
        ends_at=ends_at,
        now=now,
        limit=limit,
        window_s=window_s,
        policy=key_policy(key),
    )


def rate_limit_result(
    *, count: int, ends_at, now: datetime, limit: int, window_s: int, policy: str
) -> RateLimitResult:
    """The verdict on a hit that made the window's count `count`."""
    allowed = count <= limit
    reset_s = max(1, math.ceil((_as_aware(ends_at) - now).total_seconds()))
    return RateLimitResult(
        allowed=allowed,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after_s=0 if allowed else reset_s,
        reset_s=reset_s,
        window_s=window_s,
        policy=policy,
    )


def rate_limit_reset(*, keys: list[str]) -> int:
    """Forget the counts of `keys` (staff action); returns how many were reset."""
    deleted, _ = RateLimitToken.objects.filter(key__in=keys).delete()
    return deleted


def rate_limit_cleanup() -> dict[str, int]:
    """Delete tokens whose window has ended: the next hit starts a fresh window anyway."""
    stale = RateLimitToken.objects.filter(window_end__lte=timezone.now())
    # Keyset batches on the window_end index; a row a request holds is left for next time.
    deleted, _batches = change_in_batches(stale, key="window_end", batch_size=CLEANUP_BATCH_SIZE)
    return {"rate_limit_tokens_deleted": deleted}
