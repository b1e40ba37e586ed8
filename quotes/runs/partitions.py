"""Quote-run events partitioned by time on PostgreSQL, so retention is a DROP, not deletes.

Every run writes some 70 event rows; at a million runs a day, deleting them row by row
is tens of millions of deletes (and as much WAL and vacuum) a day. On PostgreSQL the
events table is partitioned by RANGE of `run_created_at` (the run's created_at, copied
into each event), one partition per QUOTE_RUN_EVENT_PARTITION_S (an hour by default), with
a DEFAULT partition for rows outside every range (a run created while beat was down for
longer than the partitions made ahead; old rows at migration time). Every event of a run
is in the partition of the run's creation, so once every run created in a partition's
range is past retention, the partition is dropped whole; the runs are then deleted in
batches as before, and their cascade finds no events left to delete.

Partitions are made QUOTE_RUN_EVENT_PARTITIONS_AHEAD ahead by the quote-run cleanup (a
beat task, single-flight) and by the migration. Each is created apart and attached, with
the rows of its range that the DEFAULT partition holds moved in first, so a late creation
never fails. Hand-written rather than pg_partman: the whole job is the ~100 lines below,
and an extension would have to be installed on every PostgreSQL an operator runs (PgBouncer
or a managed service in front of it included).

On other databases (SQLite, the embedded default) the table is a plain table and
retention stays the batched delete.
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

EVENTS_TABLE = "quote_runs_quoterunevent"
RUNS_TABLE = "quote_runs_quoterun"
DEFAULT_PARTITION = f"{EVENTS_TABLE}_default"
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")
# A DROP waits for the transactions using the table; past this it gives up until the next
# run rather than queue every event insert behind it.
DROP_LOCK_TIMEOUT = "100ms"
LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime
    end: datetime


def events_partitioned() -> bool:
    return connection.vendor == "postgresql" and _is_partitioned(connection)


def _is_partitioned(conn) -> bool:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [EVENTS_TABLE]
        )
        return cursor.fetchone() is not None


def _width() -> timedelta:
    return timedelta(seconds=settings.QUOTE_RUN_EVENT_PARTITION_S)


def _floor(moment: datetime, width: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // width) * width


def _name(start: datetime) -> str:
    return f"{EVENTS_TABLE}_p{start.astimezone(UTC):%Y%m%d%H%M}"


def partitions_list(conn=None) -> list[Partition]:
    """The range partitions of the events table, oldest first (DEFAULT not included)."""
    conn = conn or connection
    with conn.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = %s::regclass
            """,
            [EVENTS_TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound)
        if match:
            start, end = (datetime.fromisoformat(value) for value in match.groups())
            found.append(Partition(name, start, end))
    return sorted(found, key=lambda partition: partition.start)


def partitions_ensure(*, now: datetime | None = None, conn=None) -> int:
    """Make the partitions from the current one to QUOTE_RUN_EVENT_PARTITIONS_AHEAD ahead
    that are missing. Returns how many were made."""
    conn = conn or connection
    width = _width()
    first = _floor(now or timezone.now(), width)
    existing = partitions_list(conn)
    made = 0
    for step in range(settings.QUOTE_RUN_EVENT_PARTITIONS_AHEAD + 1):
        start = first + step * width
        # Ranges made with another QUOTE_RUN_EVENT_PARTITION_S may cover part of this one:
        # an overlapping range cannot be attached, DEFAULT keeps such rows meanwhile.
        if not any(p.start < start + width and start < p.end for p in existing):
            _partition_create(conn, start, start + width)
            made += 1
    return made


def _partition_create(conn, start: datetime, end: datetime) -> None:
    """Create one partition apart, move the DEFAULT partition's rows of its range into it,
    attach it: a plain CREATE ... PARTITION OF fails when DEFAULT holds such rows."""
    name = _name(start)
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE "{name}" '
            f'(LIKE "{EVENTS_TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
        )
        cursor.execute(
            f"""
            WITH moved AS (  -- noqa: S608 (here and below: names of our own tables)
                DELETE FROM "{DEFAULT_PARTITION}"
                WHERE run_created_at >= %s AND run_created_at < %s RETURNING *
            )
            INSERT INTO "{name}" SELECT * FROM moved
            """,  # noqa: S608
            [start, end],
        )
        cursor.execute(
            f'ALTER TABLE "{EVENTS_TABLE}" ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)',
            [start, end],
        )


def partitions_drop_expired(*, now: datetime | None = None, conn=None) -> dict[str, int]:
    """Drop every partition whose range has ended and whose runs are all past retention.

    Returns {"partitions": dropped, "events": rows they held}. A drop takes an exclusive
    lock on the whole events table for an instant; when it would have to wait longer than
    DROP_LOCK_TIMEOUT for it (queuing every event insert behind it meanwhile), it and the
    drops after it are left for the next run.
    """
    conn = conn or connection
    now = now or timezone.now()
    dropped = events = 0
    for partition in partitions_list(conn):
        if partition.end > now:
            break
        try:
            with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = %s", [DROP_LOCK_TIMEOUT])
                cursor.execute(
                    f"""
                    SELECT EXISTS (
                        SELECT 1 FROM "{RUNS_TABLE}"
                        WHERE created_at >= %s AND created_at < %s AND expires_at > %s
                    )
                    """,  # noqa: S608
                    [partition.start, partition.end, now],
                )
                if cursor.fetchone()[0]:
                    continue
                # The planner's estimate: counting the rows would read what we drop.
                cursor.execute(
                    "SELECT reltuples FROM pg_class WHERE relname = %s", [partition.name]
                )
                rows = max(int(cursor.fetchone()[0]), 0)
                cursor.execute(f'DROP TABLE "{partition.name}"')
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            # Every drop needs the same lock on the parent table: the rest wait as well.
            logger.info("quote-run events: %s busy, drops left for the next run", partition.name)
            break
        dropped += 1
        events += rows
    return {"partitions": dropped, "events": events}


def events_partition_table(schema_editor) -> None:
    """Migration step (PostgreSQL): turn the plain events table into a partitioned one,
    rows, constraints and identity kept. Run inside the migration's transaction."""
    if schema_editor.connection.vendor != "postgresql":
        return
    conn = schema_editor.connection
    old = f"{EVENTS_TABLE}_unpartitioned"
    with conn.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{EVENTS_TABLE}" RENAME TO "{old}"')
        cursor.execute(
            f'CREATE TABLE "{EVENTS_TABLE}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING '
            "CONSTRAINTS INCLUDING IDENTITY) PARTITION BY RANGE (run_created_at)"
        )
        cursor.execute(f'CREATE TABLE "{DEFAULT_PARTITION}" PARTITION OF "{EVENTS_TABLE}" DEFAULT')
    partitions_ensure(conn=conn)
    with conn.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{EVENTS_TABLE}" SELECT * FROM "{old}"')  # noqa: S608
        cursor.execute(f'DROP TABLE "{old}"')
        _constraints_add(cursor)
        _identity_continue(cursor)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [EVENTS_TABLE])
        sequence = cursor.fetchone()[0]
        if sequence != f"public.{EVENTS_TABLE}_id_seq":
            cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {EVENTS_TABLE}_id_seq")


def events_unpartition_table(schema_editor) -> None:
    """The migration's way back: one plain table with every row."""
    if schema_editor.connection.vendor != "postgresql":
        return
    old = f"{EVENTS_TABLE}_partitioned"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{EVENTS_TABLE}" RENAME TO "{old}"')
        cursor.execute(
            f'CREATE TABLE "{EVENTS_TABLE}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING '
            "CONSTRAINTS INCLUDING IDENTITY)"
        )
        cursor.execute(f'INSERT INTO "{EVENTS_TABLE}" SELECT * FROM "{old}"')  # noqa: S608
        cursor.execute(f'DROP TABLE "{old}" CASCADE')
        _constraints_add(cursor, primary_key="id")
        _identity_continue(cursor)


def _identity_continue(cursor) -> None:
    """The copied rows' ids were given, not drawn: the identity goes on after the largest."""
    largest = f'COALESCE((SELECT max(id) FROM "{EVENTS_TABLE}"), 0)'  # noqa: S608
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), {largest} + 1, false)", [EVENTS_TABLE]
    )


def _constraints_add(cursor, primary_key: str = "id, run_created_at") -> None:
    """The keys Django's migrations made on the plain table (same names), each with the
    partition key where PostgreSQL requires it."""
    cursor.execute(f'ALTER TABLE "{EVENTS_TABLE}" ADD PRIMARY KEY ({primary_key})')
    cursor.execute(
        f'ALTER TABLE "{EVENTS_TABLE}" ADD CONSTRAINT quote_run_event_seq_unique '
        "UNIQUE (run_id, seq, run_created_at)"
    )
    cursor.execute(
        f'ALTER TABLE "{EVENTS_TABLE}" ADD CONSTRAINT quote_run_event_key_unique '
        "UNIQUE (run_id, key, run_created_at)"
    )
    cursor.execute(
        f'ALTER TABLE "{EVENTS_TABLE}" ADD CONSTRAINT quote_runs_quoterunevent_run_id_fk '
        f'FOREIGN KEY (run_id) REFERENCES "{RUNS_TABLE}" (id) DEFERRABLE INITIALLY DEFERRED'
    )
