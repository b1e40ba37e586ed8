"""The database rate limiter: one statement per hit, windows, cleanup, exact under concurrency."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import RateLimitToken
from accounts.ratelimit import rate_limit_cleanup, rate_limit_hit, rate_limit_reset
from tests.concurrency import fire_concurrently


@pytest.mark.django_db
def test_hits_are_counted_until_the_limit_then_refused_with_retry_after():
    results = [rate_limit_hit(key="t:a", limit=3, window_s=60) for _ in range(5)]

    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0, 0]
    assert all(r.limit == 3 for r in results)
    assert results[0].retry_after_s == 0
    assert 59 <= results[3].retry_after_s <= 60
    assert RateLimitToken.objects.get(key="t:a").count == 5


@pytest.mark.django_db
def test_keys_are_counted_separately():
    rate_limit_hit(key="t:a", limit=1, window_s=60)

    assert rate_limit_hit(key="t:b", limit=1, window_s=60).allowed
    assert not rate_limit_hit(key="t:a", limit=1, window_s=60).allowed


@pytest.mark.django_db
def test_an_ended_window_restarts_the_count_in_the_same_statement():
    for _ in range(3):
        rate_limit_hit(key="t:a", limit=2, window_s=60)
    past = timezone.now() - timedelta(seconds=61)
    RateLimitToken.objects.filter(key="t:a").update(
        window_start=past, window_end=past + timedelta(seconds=60)
    )

    result = rate_limit_hit(key="t:a", limit=2, window_s=60)

    assert result.allowed
    assert result.remaining == 1
    token = RateLimitToken.objects.get(key="t:a")
    assert token.count == 1
    assert token.window_end > timezone.now()


@pytest.mark.django_db
def test_cleanup_deletes_only_ended_windows_and_reset_forgets_a_key():
    rate_limit_hit(key="t:live", limit=5, window_s=60)
    rate_limit_hit(key="t:old", limit=5, window_s=60)
    RateLimitToken.objects.filter(key="t:old").update(window_end=timezone.now())

    assert rate_limit_cleanup() == {"rate_limit_tokens_deleted": 1}
    assert list(RateLimitToken.objects.values_list("key", flat=True)) == ["t:live"]
    assert rate_limit_reset(keys=["t:live"]) == 1
    assert rate_limit_hit(key="t:live", limit=5, window_s=60).remaining == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_from_several_processes_admit_exactly_the_limit():
    outcomes = fire_concurrently(
        lambda i: rate_limit_hit(key="t:race", limit=10, window_s=60).remaining, 40, processes=4
    )

    assert not [o for o in outcomes if isinstance(o, str)], outcomes
    # Each hit saw its own count: remaining 9..0 exactly once each, then 0 for the rest.
    assert sorted(outcomes, reverse=True)[:10] == list(range(9, -1, -1))
    assert RateLimitToken.objects.get(key="t:race").count == 40


@pytest.mark.django_db
def test_cleanup_works_in_batches(monkeypatch):
    # given: 7 ended windows and a batch size of 3
    monkeypatch.setattr("accounts.ratelimit.CLEANUP_BATCH_SIZE", 3)
    for i in range(7):
        rate_limit_hit(key=f"t:{i}", limit=5, window_s=60)
    RateLimitToken.objects.update(window_end=timezone.now())

    # when
    with CaptureQueriesContext(connection) as queries:
        counts = rate_limit_cleanup()

    # then: all deleted, by three DELETE statements of at most 3 rows (on PostgreSQL each
    # one statement that selects its batch, on SQLite the ORM's DELETE ... WHERE id IN)
    assert counts == {"rate_limit_tokens_deleted": 7}
    assert not RateLimitToken.objects.exists()
    deletes = [q for q in queries if 'DELETE FROM "accounts_ratelimittoken"' in q["sql"]]
    assert len(deletes) == 3
