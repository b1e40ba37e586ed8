"""Event append: gapless seq under concurrency, once per key, wake-ups after commit."""

import time

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction

from quotes.runs.events import run_channel, run_event_append, run_wakeup_publish
from quotes.runs.models import QuoteRun, QuoteRunEvent, QuoteRunStatus
from tests.concurrency import fire_concurrently
from tests.e2e.harness import free_port
from tests.quote_runs.factories import QuoteRunFactory


def append(run, key: str, event_type: str = "provider.progress", **extra):
    return run_event_append(run_id=run.id, event_type=event_type, key=key, **extra)


@pytest.mark.django_db
def test_seq_counts_from_one_and_last_event_id_follows():
    run = QuoteRunFactory()

    events = [append(run, f"step-{i}") for i in range(3)]

    assert [event.seq for event in events] == [1, 2, 3]
    run.refresh_from_db()
    assert run.last_event_id == 3


@pytest.mark.django_db
def test_same_key_is_appended_once():
    run = QuoteRunFactory()
    append(run, "once")

    assert append(run, "once") is None
    assert QuoteRunEvent.objects.filter(run=run).count() == 1
    run.refresh_from_db()
    assert run.last_event_id == 1


@pytest.mark.django_db
def test_terminal_event_sets_status_and_closes_the_log():
    run = QuoteRunFactory()
    append(run, "a")
    result = {"offers": [{"provider": "standard", "credits_total": 3, "eta_seconds": 9}]}

    terminal = append(run, "end", "run.completed", data=result, result=result)
    late = append(run, "late")

    run.refresh_from_db()
    assert terminal.seq == 2
    assert late is None
    assert run.status == QuoteRunStatus.COMPLETED
    assert run.result == result
    assert run.finished_at is not None
    assert run.last_event_id == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_get_distinct_gapless_seqs():
    run = QuoteRunFactory()

    outcomes = fire_concurrently(lambda i: append(run, f"step-{i}").seq, count=40)

    assert sorted(outcomes) == list(range(1, 41))
    assert QuoteRun.objects.get(pk=run.pk).last_event_id == 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_of_one_key_write_exactly_one_event():
    run = QuoteRunFactory()

    outcomes = fire_concurrently(lambda i: getattr(append(run, "same"), "seq", None), count=30)

    assert sorted(outcomes, key=str) == [1] + [None] * 29
    assert QuoteRunEvent.objects.filter(run=run).count() == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_wakeup_is_published_after_commit_only():
    run = QuoteRunFactory()
    subscriber = redis.Redis.from_url(django_settings.QUOTE_RUN_PUBSUB_URL).pubsub(
        ignore_subscribe_messages=True
    )
    subscriber.subscribe(run_channel(run.id))
    try:
        with transaction.atomic():
            append(run, "a")
            assert subscriber.get_message(timeout=0.3) is None
        message = subscriber.get_message(timeout=2)
        assert message is not None
        assert message["data"] == b"1"
    finally:
        subscriber.close()


@pytest.mark.django_db(transaction=True)
def test_unreachable_pubsub_is_logged_never_fatal(settings, caplog):
    settings.QUOTE_RUN_PUBSUB_URL = f"redis://127.0.0.1:{free_port()}/0"
    run = QuoteRunFactory()
    started = time.monotonic()

    event = append(run, "a")

    assert event.seq == 1
    assert QuoteRunEvent.objects.filter(run=run).count() == 1
    assert "wake-up publish failed" in caplog.text
    assert time.monotonic() - started < 3


def test_publishing_is_off_without_a_pubsub_url(settings):
    settings.QUOTE_RUN_PUBSUB_URL = ""

    assert run_wakeup_publish(run_id="x", seq=1) is False
