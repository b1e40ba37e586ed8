"""The provider workflow: events, offers, and idempotency under redelivery and crashes."""

import datetime as dt
import math
import multiprocessing as mp
import os
import signal
import time

import pytest
from django.utils import timezone

from config.job_lease import LeaseHeld
from quotes.pricing import price_job
from quotes.runs.models import QuoteRun, QuoteRunEvent, QuoteRunStatus
from quotes.runs.services import quote_run_claim, quote_run_execute
from quotes.runs.tasks import quote_run_task
from tests.concurrency import close_db_connections
from tests.quote_runs.factories import QuoteRunFactory

CRASH_WAIT_S = 20


def event_log(run) -> list[tuple]:
    return list(
        QuoteRunEvent.objects.filter(run=run)
        .order_by("seq")
        .values_list("seq", "type", "key", "data")
    )


def schedule_total(run) -> int:
    job = run.job
    return price_job(
        schedule_ops=job["schedule"]["ops"], files=job["files"], ops=job["ops"]
    ).credits_total


@pytest.mark.django_db
def test_run_emits_each_provider_then_completes_with_sorted_offers(settings):
    # given: three files, enough for the bulk discount
    settings.QUOTE_RUN_BULK_MIN_FILES = 3
    run = QuoteRunFactory(file_count=3)

    # when
    run = quote_run_execute(run_id=run.id)

    # then: each provider's steps in turn, offers sorted by credits
    types = [event[1] for event in event_log(run)]
    per_provider = ["provider.started"] + ["provider.progress"] * 3 + ["provider.quote"]
    assert types == ["run.started", *per_provider * 3, "run.completed"]
    total = schedule_total(run)
    assert run.status == QuoteRunStatus.COMPLETED
    assert run.result["offers"] == [
        {"provider": "bulk", "credits_total": total - total * 20 // 100, "eta_seconds": 300},
        {"provider": "standard", "credits_total": total, "eta_seconds": 150},
        {"provider": "priority", "credits_total": math.ceil(total * 1.5), "eta_seconds": 50},
    ]
    assert run.last_event_id == len(types)
    terminal = QuoteRunEvent.objects.get(run=run, type="run.completed")
    assert terminal.data == run.result


@pytest.mark.django_db
def test_progress_events_name_each_file_with_its_credits():
    run = QuoteRunFactory(providers=["standard"], file_count=2)

    quote_run_execute(run_id=run.id)

    progress = [e[3] for e in event_log(run) if e[1] == "provider.progress"]
    assert [(p["file_id"], p["done"], p["total"]) for p in progress] == [("f1", 1, 2), ("f2", 2, 2)]
    assert sum(p["credits"] for p in progress) == schedule_total(run)


@pytest.mark.django_db
def test_bulk_gives_no_discount_below_its_file_count(settings):
    settings.QUOTE_RUN_BULK_MIN_FILES = 5
    run = QuoteRunFactory(providers=["bulk"], file_count=2)

    run = quote_run_execute(run_id=run.id)

    assert run.result["offers"][0]["credits_total"] == schedule_total(run)


@pytest.mark.django_db
def test_run_fails_when_no_provider_answers(settings):
    settings.QUOTE_HTTP_PROVIDER_URL = ""
    run = QuoteRunFactory(providers=["http", "retired-provider"])

    run = quote_run_execute(run_id=run.id)

    assert run.status == QuoteRunStatus.FAILED
    assert run.error == "No provider answered."
    failures = [e[3] for e in event_log(run) if e[1] == "provider.failed"]
    assert [f["provider"] for f in failures] == ["http", "retired-provider"]
    assert event_log(run)[-1][1] == "run.failed"


@pytest.mark.django_db
def test_task_delivered_twice_yields_one_set_of_events(settings, provider_server):
    settings.QUOTE_HTTP_PROVIDER_URL = provider_server.url("answer")
    run = QuoteRunFactory(providers=["standard", "http"])

    quote_run_task.delay(str(run.id))
    first = event_log(run)
    quote_run_task.delay(str(run.id))

    assert event_log(run) == first
    assert provider_server.count("answer") == 1


def _execute_in_child(run_id) -> None:
    from django.db import connections

    quote_run_execute(run_id=run_id)
    connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_redelivery_after_a_worker_crash_resumes_without_duplicates(settings, provider_server):
    """kill -9 a worker in the middle of the second provider, then deliver again: the
    provider that already quoted is not asked again and no step is appended twice."""
    # given: a worker killed -9 once the second provider is under way
    settings.QUOTE_HTTP_PROVIDER_URL = provider_server.url("answer")
    settings.QUOTE_RUN_PROVIDER_STEP_S = 0.3
    settings.JOB_LEASE_S = 1
    run = QuoteRunFactory(providers=["http", "standard"], file_count=4)
    close_db_connections()
    worker = mp.get_context("fork").Process(target=_execute_in_child, args=(run.id,))
    worker.start()
    deadline = time.monotonic() + CRASH_WAIT_S
    while not QuoteRunEvent.objects.filter(run=run, type="provider.progress").exists():
        assert time.monotonic() < deadline, "the worker never reached the second provider"
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.join()
    before = event_log(run)
    run.refresh_from_db()
    assert run.status == QuoteRunStatus.PROCESSING
    while run.claimed_until >= timezone.now():  # the dead worker's lease runs out
        time.sleep(0.1)

    # when: the task is delivered again
    run = quote_run_execute(run_id=run.id)

    # then: the log before the crash is kept, the rest follows with no gap or repeat
    after = event_log(run)
    assert after[: len(before)] == before
    assert [seq for seq, *_ in after] == list(range(1, len(after) + 1))
    keys = [key for _, _, key, _ in after]
    assert len(keys) == len(set(keys))
    assert provider_server.count("answer") == 1
    progress = [data["file_id"] for _, t, _, data in after if t == "provider.progress"]
    assert progress == ["f1", "f2", "f3", "f4"]
    assert after[-1][1] == "run.completed"
    assert [o["provider"] for o in run.result["offers"]] == ["http", "standard"]
    assert run.attempts == 2


@pytest.mark.django_db
def test_a_delivery_during_a_live_attempt_is_told_to_come_back(settings):
    run = QuoteRunFactory(providers=["standard"])
    assert quote_run_claim(run_id=run.id).attempts == 1

    with pytest.raises(LeaseHeld) as held:
        quote_run_execute(run_id=run.id)

    assert 0 < held.value.retry_in_s <= settings.JOB_LEASE_S
    assert event_log(run) == []


@pytest.mark.django_db
def test_a_run_whose_every_attempt_died_fails_once_with_its_terminal_event(settings):
    settings.QUOTE_RUN_MAX_ATTEMPTS = 2
    run = QuoteRunFactory(providers=["standard"])
    for _ in range(2):
        assert quote_run_claim(run_id=run.id) is not None
        QuoteRun.objects.filter(pk=run.id).update(
            claimed_until=timezone.now() - dt.timedelta(seconds=1)
        )

    run = quote_run_execute(run_id=run.id)
    again = quote_run_execute(run_id=run.id)

    assert run.status == again.status == QuoteRunStatus.FAILED
    assert run.error == "The run was interrupted 2 times (its worker stopped each time)."
    assert [event[1] for event in event_log(run)] == ["run.failed"]


@pytest.mark.django_db
def test_missing_run_is_a_quiet_no_op():
    assert quote_run_execute(run_id="00000000-0000-0000-0000-000000000000") is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("previous_worker", ["none", "died"])
def test_of_eight_concurrent_claims_exactly_one_gets_the_attempt(previous_worker):
    from tests.concurrency import fire_concurrently

    run = QuoteRunFactory(providers=["standard"])
    if previous_worker == "died":
        QuoteRun.objects.filter(pk=run.id).update(
            attempts=1, claimed_until=timezone.now() - dt.timedelta(seconds=1)
        )

    def claim(_index):
        try:
            return "claimed" if quote_run_claim(run_id=run.id) is not None else "none"
        except LeaseHeld:
            return "leased"

    outcomes = fire_concurrently(claim, 8, processes=4)

    assert sorted(outcomes) == ["claimed"] + ["leased"] * 7, outcomes
    run.refresh_from_db()
    assert run.attempts == (2 if previous_worker == "died" else 1)
