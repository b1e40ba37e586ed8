"""Per-quote TTL: ttl_seconds within [60, the schedule's max_quote_ttl_seconds], else 400."""

from datetime import timedelta

import pytest

from quotes.models import DEFAULT_MAX_QUOTE_TTL_SECONDS, MIN_QUOTE_TTL_SECONDS, Quote
from quotes.selectors import credit_schedule_active
from quotes.services import credit_schedule_publish
from tests.quotes.test_api import job

MAX_TTL = 3600


@pytest.fixture
def schedule(db):
    """A schedule with a 15-minute default TTL and a one-hour maximum."""
    active = credit_schedule_active()
    return credit_schedule_publish(
        ops=active.ops, max_files=20, quote_ttl_seconds=900, max_quote_ttl_seconds=MAX_TTL
    )


def lifetime(body) -> timedelta:
    quote = Quote.objects.get(pk=body["id"])
    return quote.expires_at - quote.created_at


@pytest.mark.django_db
def test_schedule_shows_both_ttls(api_client):
    body = api_client.get("/api/credit-schedule").json()

    assert body["quote_ttl_seconds"] == 900
    assert body["max_quote_ttl_seconds"] == DEFAULT_MAX_QUOTE_TTL_SECONDS == 7 * 24 * 3600


@pytest.mark.parametrize("ttl", [MIN_QUOTE_TTL_SECONDS, 61, MAX_TTL])
def test_ttl_within_bounds_sets_the_expiry(api_client, schedule, ttl):
    response = api_client.post("/api/quotes", job(ttl_seconds=ttl), format="json")

    assert response.status_code == 201, response.content
    assert lifetime(response.json()) == timedelta(seconds=ttl)


def test_without_ttl_the_schedule_default_applies(api_client, schedule):
    response = api_client.post("/api/quotes", job(), format="json")

    assert response.status_code == 201
    assert lifetime(response.json()) == timedelta(seconds=900)
    assert response.json()["schedule"]["max_quote_ttl_seconds"] == MAX_TTL


@pytest.mark.parametrize(
    "ttl",
    [
        MIN_QUOTE_TTL_SECONDS - 1,
        MAX_TTL + 1,
        0,
        -60,
        2**63 - 1,
        2**63,
        10**30,
        60.5,
        120.0,
        "120",
        "sixty",
        True,
        False,
        None,
        [120],
        {"s": 120},
    ],
    ids=repr,
)
def test_ttl_out_of_bounds_or_not_an_integer_is_a_400(api_client, schedule, ttl):
    # when
    response = api_client.post("/api/quotes", job(ttl_seconds=ttl), format="json")

    # then: a validation error on ttl_seconds, nothing stored
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    assert "ttl_seconds" in body["details"], body
    assert not Quote.objects.exists()


def test_the_maximum_is_the_schedules_at_pricing_time(api_client, schedule):
    # given: the maximum raised to two hours by a new version
    credit_schedule_publish(
        ops=schedule.ops, max_files=20, quote_ttl_seconds=900, max_quote_ttl_seconds=7200
    )

    # when
    response = api_client.post("/api/quotes", job(ttl_seconds=MAX_TTL + 1), format="json")

    # then
    assert response.status_code == 201
    assert lifetime(response.json()) == timedelta(seconds=MAX_TTL + 1)
