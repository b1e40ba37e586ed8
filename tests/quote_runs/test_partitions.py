"""Quote-run events partitioned by their run's creation time (PostgreSQL): rows land in
their run's partition, partitions are made ahead, and retention drops whole partitions
only when every run in them is past retention."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from quotes.runs.events import run_event_append
from quotes.runs.models import QuoteRun, QuoteRunEvent
from quotes.runs.partitions import (
    DEFAULT_PARTITION,
    EVENTS_TABLE,
    events_partitioned,
    partitions_drop_expired,
    partitions_ensure,
    partitions_list,
)
from quotes.runs.services import quote_run_cleanup
from tests.quote_runs.factories import QuoteRunFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOUR = timedelta(hours=1)


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def run_with_events(created_at: datetime, *, events: int = 3, expired: bool = True) -> QuoteRun:
    expires_at = timezone.now() - timedelta(seconds=1) if expired else timezone.now() + HOUR
    run = QuoteRunFactory(created_at=created_at, expires_at=max(expires_at, created_at + HOUR))
    if expired:
        QuoteRun.objects.filter(pk=run.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for step in range(events):
        run_event_append(run_id=run.pk, event_type="provider.progress", key=f"step:{step}")
    return run


def partition_of(run: QuoteRun) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT DISTINCT tableoid::regclass::text FROM "{EVENTS_TABLE}" '  # noqa: S608
            "WHERE run_id = %s",
            [run.pk],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture(autouse=True)
def _needs_partitioning(settings):
    if connection.vendor != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")
    settings.QUOTE_RUN_EVENT_PARTITION_S = 3600
    settings.QUOTE_RUN_EVENT_PARTITIONS_AHEAD = 2
    assert events_partitioned()


def test_events_land_in_the_partition_of_their_runs_creation():
    partitions_ensure()
    now = timezone.now()
    current = run_with_events(now, expired=False)
    ancient = run_with_events(now - timedelta(days=30))

    assert partition_of(current) == {f"{EVENTS_TABLE}_p{hour_floor(now):%Y%m%d%H%M}"}
    assert partition_of(ancient) == {DEFAULT_PARTITION}
    event = QuoteRunEvent.objects.filter(run=current).first()
    assert event.run_created_at == current.created_at


def test_ensure_makes_the_partitions_ahead_once_and_moves_default_rows_in():
    later = hour_floor(timezone.now()) + 20 * HOUR  # past what the migration made
    stray = run_with_events(later + timedelta(minutes=10), expired=False)
    assert partition_of(stray) == {DEFAULT_PARTITION}

    partitions_ensure(now=later)
    assert partitions_ensure(now=later) == 0

    starts = {partition.start for partition in partitions_list()}
    assert {later, later + HOUR, later + 2 * HOUR} <= starts
    assert partition_of(stray) == {f"{EVENTS_TABLE}_p{later:%Y%m%d%H%M}"}
    assert QuoteRunEvent.objects.filter(run=stray).count() == 3


def test_a_partition_is_dropped_only_when_ended_and_every_run_in_it_is_past_retention():
    now = timezone.now()
    old_hour = hour_floor(now) - 4 * HOUR
    busy_hour = old_hour + HOUR
    partitions_ensure(now=old_hour)
    done = [run_with_events(old_hour + timedelta(minutes=m)) for m in (1, 30)]
    run_with_events(busy_hour + timedelta(minutes=5))
    live = run_with_events(busy_hour + timedelta(minutes=50), expired=False)

    # Every ended partition but busy_hour's: old_hour's, the empty one after busy_hour, and
    # any empty one the migration made that has ended since (near an hour's turn).
    expected = [p for p in partitions_list() if p.end <= timezone.now() and p.start != busy_hour]

    dropped = partitions_drop_expired()

    names = {partition.name for partition in partitions_list()}
    assert f"{EVENTS_TABLE}_p{old_hour:%Y%m%d%H%M}" not in names
    assert f"{EVENTS_TABLE}_p{busy_hour:%Y%m%d%H%M}" in names  # `live` is within retention
    assert dropped["partitions"] == len(expected) >= 2
    assert not QuoteRunEvent.objects.filter(run__in=done).exists()
    assert QuoteRunEvent.objects.filter(run=live).count() == 3


def test_cleanup_drops_partitions_then_deletes_the_runs_with_no_event_left_to_delete():
    old_hour = hour_floor(timezone.now()) - 4 * HOUR
    partitions_ensure(now=old_hour)
    old = [run_with_events(old_hour + timedelta(minutes=m), events=5) for m in (1, 2)]

    counts = quote_run_cleanup()

    assert counts["quote_run_event_partitions_dropped"] >= 1
    assert counts["quote_runs"] == 2
    assert counts["quote_run_events"] == 0  # none deleted row by row
    assert not QuoteRun.objects.filter(pk__in=[run.pk for run in old]).exists()
    assert {partition.start for partition in partitions_list()} >= {hour_floor(timezone.now())}


def test_a_drop_that_would_wait_on_a_writer_is_left_for_the_next_run(settings):
    old_hour = hour_floor(timezone.now()) - 4 * HOUR
    partitions_ensure(now=old_hour)
    run_with_events(old_hour + timedelta(minutes=1))
    live = run_with_events(timezone.now(), expired=False)
    holding, release = threading.Event(), threading.Event()
    dsn = connection.get_connection_params()

    def writer():
        # Another process's transaction that appended an event and has not committed.
        with psycopg.connect(**{k: v for k, v in dsn.items() if k != "cursor_factory"}) as conn:
            conn.execute(
                f'INSERT INTO "{EVENTS_TABLE}" (run_id, seq, type, key, data, created_at, '  # noqa: S608
                "run_created_at) VALUES (%s, 100, 'provider.progress', 'held', '{}', now(), %s)",
                [live.pk, live.created_at],
            )
            holding.set()
            release.wait(10)
            conn.rollback()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        assert partitions_drop_expired() == {"partitions": 0, "events": 0}
    finally:
        release.set()
        thread.join()
    assert partitions_drop_expired()["partitions"] >= 1
    assert old_hour not in {partition.start for partition in partitions_list()}
