"""The reaper of quote runs (settings.CLEANUPS["stuck_quote_runs"]): fails runs whose every
attempt died, publishes again runs whose message was lost, leaves live and fresh ones."""

import datetime as dt

import pytest
from django.utils import timezone

from config.cleanup import cleanup_run
from quotes.runs.models import QuoteRun, QuoteRunEvent, QuoteRunStatus
from quotes.runs.services import quote_run_reap_stuck
from tests.quote_runs.factories import QuoteRunFactory

MINUTE = dt.timedelta(minutes=1)


def stuck_run(*, age: dt.timedelta, attempts: int = 0, lease_ended: dt.timedelta | None = None):
    """A processing run created `age` ago; with attempts, its last lease ended `lease_ended`
    ago (None: still live)."""
    now = timezone.now()
    run = QuoteRunFactory(providers=["standard"])
    claimed_until = None
    if attempts:
        claimed_until = now + MINUTE if lease_ended is None else now - lease_ended
    QuoteRun.objects.filter(pk=run.pk).update(
        created_at=now - age, attempts=attempts, claimed_until=claimed_until
    )
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_reaper_fails_only_runs_whose_attempts_all_died(settings):
    # given: every attempt dead, a dead attempt with attempts left, a live old attempt
    settings.QUOTE_RUN_MAX_ATTEMPTS = 3
    settings.QUOTE_RUN_STUCK_AFTER = 10 * MINUTE
    exhausted = stuck_run(age=60 * MINUTE, attempts=3, lease_ended=MINUTE)
    recently_dead = stuck_run(age=20 * MINUTE, attempts=1, lease_ended=MINUTE)
    live = stuck_run(age=60 * MINUTE, attempts=1)

    # when: the reaper runs through the cleanup machinery, then again
    first = cleanup_run(name="stuck_quote_runs")
    second = quote_run_reap_stuck()

    # then: only the exhausted run fails, with one terminal event
    assert first == {"stuck_quote_runs_failed": 1, "stuck_quote_runs_requeued": 0}
    assert second == {"stuck_quote_runs_failed": 0, "stuck_quote_runs_requeued": 0}
    exhausted.refresh_from_db()
    assert exhausted.status == QuoteRunStatus.FAILED
    assert exhausted.error == "The run was interrupted 3 times (its worker stopped each time)."
    assert list(QuoteRunEvent.objects.filter(run=exhausted).values_list("seq", "type")) == [
        (1, "run.failed")
    ]
    for run in (recently_dead, live):
        run.refresh_from_db()
        assert run.status == QuoteRunStatus.PROCESSING
        assert not QuoteRunEvent.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_reaper_publishes_again_runs_no_attempt_ran_for_long(settings):
    """A lost message (never claimed for long, or a dead worker's run never redelivered):
    the reaper publishes the task again and the run completes (tasks run eagerly here)."""
    # given
    settings.QUOTE_RUN_STUCK_AFTER = 10 * MINUTE
    never_run = stuck_run(age=30 * MINUTE)
    abandoned = stuck_run(age=30 * MINUTE, attempts=1, lease_ended=11 * MINUTE)
    fresh = stuck_run(age=MINUTE)

    # when
    counts = quote_run_reap_stuck()

    # then
    assert counts == {"stuck_quote_runs_failed": 0, "stuck_quote_runs_requeued": 2}
    for run, attempts in ((never_run, 1), (abandoned, 2)):
        run.refresh_from_db()
        assert (run.status, run.attempts) == (QuoteRunStatus.COMPLETED, attempts)
        seqs = list(QuoteRunEvent.objects.filter(run=run).values_list("seq", flat=True))
        assert seqs == list(range(1, run.last_event_id + 1))
    fresh.refresh_from_db()
    assert (fresh.status, fresh.attempts) == (QuoteRunStatus.PROCESSING, 0)
