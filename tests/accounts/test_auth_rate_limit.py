"""A bearer call to a view with the default per-user rate: session lookup and counter hit
in one statement, counted once, exact under concurrency."""

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import RateLimitToken
from accounts.services.auth import auth_session_create
from accounts.throttling import UserRateThrottle
from tests.accounts.conftest import with_rates
from tests.concurrency import fire_concurrently

COUNTER = "accounts_ratelimittoken"


def bearer(user) -> APIClient:
    _, token = auth_session_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_the_sql_key_prefix_spells_the_throttle_key():
    throttle = UserRateThrottle()

    class Request:
        class user:
            pk = "0b7e8b4c-34f5-4d52-9a55-3c1c4a1ee1d3"
            is_authenticated = True

    identity = throttle.get_identity(Request, None)

    assert f"user:{identity}" == throttle.user_key_prefix() + Request.user.pk


@pytest.mark.postgres
@pytest.mark.django_db
def test_bearer_call_counts_its_user_hit_once_in_the_session_statement(user, settings):
    with_rates(settings, user="5/min")
    client = bearer(user)
    reset_queries()  # a request clears the log: start it empty

    with CaptureQueriesContext(connection) as queries:
        first = client.get("/api/credit-schedule")
    statements = [q["sql"] for q in queries]  # the next request clears the log
    second = client.get("/api/credit-schedule")

    assert first.status_code == second.status_code == 200
    assert [first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]] == ["4", "3"]
    assert RateLimitToken.objects.get(key=f"user:user:{user.pk}").count == 2
    touching = [sql for sql in statements if COUNTER in sql or "authsession" in sql]
    assert len(touching) == 1
    assert "INSERT INTO" in touching[0]
    assert "accounts_authsession" in touching[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_unknown_token_is_401_and_counts_nothing():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + "x" * 43)

    response = client.get("/api/credit-schedule")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert not RateLimitToken.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_views_without_the_user_rate_count_no_user_hit(user):
    client = bearer(user)

    assert client.get("/api/ping").status_code == 200
    assert client.get("/api/users/me").status_code == 200  # default throttles: counted

    assert list(RateLimitToken.objects.values_list("key", flat=True)) == [f"user:user:{user.pk}"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_100_concurrent_bearer_calls_from_4_processes_admit_exactly_10(
    make_user,
    settings,
    small_db_pools,
):
    # given: one user limited to 10 calls a minute, and 100 calls at once
    with_rates(settings, user="10/min")
    user = make_user()
    _, token = auth_session_create(user=user)

    def call(_):
        response = APIClient().get("/api/credit-schedule", HTTP_AUTHORIZATION=f"Bearer {token}")
        return response.status_code, response["X-RateLimit-Remaining"]

    # when
    outcomes = fire_concurrently(call, 100, processes=4)

    # then: exactly the limit passes, each admitted call saw its own count
    assert not [o for o in outcomes if isinstance(o, str)], outcomes
    statuses = [status for status, _ in outcomes]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 90
    assert sorted(int(r) for status, r in outcomes if status == 200) == list(range(10))
    assert RateLimitToken.objects.get(key=f"user:user:{user.pk}").count == 100
