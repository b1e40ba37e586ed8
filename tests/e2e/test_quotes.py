"""Quotes across real instances: shared state, kill -9 survival, beat-driven cleanup."""

import time
from datetime import timedelta

import requests
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.schedules import ensure_cleanup_schedules
from quotes.models import Quote, QuoteStatus
from tests.quotes.factories import QuoteFactory

SESSION = "e2e_session_000000001"
CLEANUP_DEADLINE_S = 40


def job():
    return {
        "session_id": SESSION,
        "files": [{"id": "a", "name": "a.jpg", "size_bytes": 10, "width": 1000, "height": 1000}],
        "ops": {"upscale": True},
    }


def read_back(server, quote_id):
    by_id = requests.get(
        f"{server.url}/api/quotes/{quote_id}", headers={"X-Session-Id": SESSION}, timeout=10
    )
    by_session = requests.get(f"{server.url}/api/quotes/session/{SESSION}", timeout=10)
    return by_id, by_session


def test_quote_created_on_one_instance_is_read_on_another_and_survives_kill9(cluster):
    # given: two instances
    first, second = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()

    # when: a quote is created on the first
    created = requests.post(f"{first.url}/api/quotes", json=job(), timeout=10)
    assert created.status_code == 201, created.text
    quote = created.json()

    # then: the second reads it, by id and by session
    by_id, by_session = read_back(second, quote["id"])
    assert by_id.status_code == 200
    assert by_id.json() == quote
    assert by_session.json()["id"] == quote["id"]

    # when: both are killed -9 and restarted
    cluster.restart(first, kill=True)
    cluster.restart(second, kill=True)

    # then: both still read it
    for server in (first, second):
        by_id, by_session = read_back(server, quote["id"])
        assert by_id.status_code == 200, f"{server.name} lost the quote"
        assert by_id.json()["credits_total"] == quote["credits_total"]
        assert by_session.json()["id"] == quote["id"]

    # when: it is used on the second, then again on the first
    used = requests.post(
        f"{second.url}/api/quotes/{quote['id']}/use", headers={"X-Session-Id": SESSION}, timeout=10
    )
    again = requests.post(
        f"{first.url}/api/quotes/{quote['id']}/use", headers={"X-Session-Id": SESSION}, timeout=10
    )
    # then: exactly one use wins
    assert used.status_code == 200
    assert (again.status_code, again.json()["error"]) == (409, "quote_used")


def test_beat_and_worker_expire_a_quote_without_any_request(cluster):
    # given: beat running the quotes cleanup every second, a quote expiring in 3 s
    ensure_cleanup_schedules()
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(name="cleanup: quotes").update(interval=every_second)
    # Only the quotes cleanup runs here; the other apps' cleanups are theirs to test.
    PeriodicTask.objects.exclude(name="cleanup: quotes").update(enabled=False)
    soon = QuoteFactory(expires_at=timezone.now() + timedelta(seconds=3))
    later = QuoteFactory(expires_at=timezone.now() + timedelta(hours=1))

    # when: a worker and beat run, with no request at all
    cluster.add_worker()
    cluster.add_beat()
    cluster.wait_ready()

    # then: the quote is marked expired by the cleanup, the other left alone
    deadline = time.monotonic() + CLEANUP_DEADLINE_S
    while time.monotonic() < deadline:
        if Quote.objects.get(pk=soon.pk).status == QuoteStatus.EXPIRED:
            break
        time.sleep(0.5)
    assert Quote.objects.get(pk=soon.pk).status == QuoteStatus.EXPIRED, "cleanup never ran"
    assert Quote.objects.get(pk=later.pk).status == QuoteStatus.ACTIVE
