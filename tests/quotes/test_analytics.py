"""Conversion analytics: exact figures per day, per op and over the window, with the median
time to use from PERCENTILE_CONT (PostgreSQL) and from the Python fallback alike."""

import datetime
from datetime import timedelta

import pytest
from django.db import connection

from quotes import analytics
from quotes.analytics import ALL_OPS, quote_cleanup_backlog, quote_conversion
from quotes.models import QuoteStatus
from tests.quotes.factories import QuoteFactory

pytestmark = pytest.mark.django_db


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)


def quote(created_at, ops, *, used_after_s=None, expired=False, stale=False):
    """A quote created at `created_at`: used `used_after_s` later, stored expired, or still
    stored active but past expiry (`stale`); else active until tomorrow."""
    fields = {"created_at": created_at, "ops": dict.fromkeys(ops, True)}
    if used_after_s is not None:
        fields.update(status=QuoteStatus.USED, used_at=created_at + timedelta(seconds=used_after_s))
    if expired:
        fields["status"] = QuoteStatus.EXPIRED
    if expired or stale:
        fields["expires_at"] = created_at + timedelta(minutes=15)
    else:
        fields["expires_at"] = datetime.datetime.now(datetime.UTC) + timedelta(days=1)
    return QuoteFactory(**fields)


@pytest.fixture
def days():
    today = datetime.datetime.now(datetime.UTC).date()
    return today - timedelta(days=3), today - timedelta(days=2)


@pytest.fixture
def known_quotes(days):
    first, second = days
    quote(at(first), ["upscale"], used_after_s=60)
    quote(at(first, 11), ["upscale", "resize"], used_after_s=180)
    quote(at(first, 12), ["resize"], expired=True)
    quote(at(first, 13), ["upscale"], stale=True)
    quote(at(second), ["enhance"], used_after_s=30)
    quote(at(second, 23), ["enhance"])
    # Outside the window: the day before it starts.
    quote(at(first - timedelta(days=1), 23), ["upscale"], used_after_s=5)


@pytest.fixture(params=["sql", "fallback"])
def median_by(request, monkeypatch):
    """Both ways to the median: PERCENTILE_CONT where the database has it, and the Python
    fallback the embedded SQLite uses."""
    if request.param == "sql" and connection.vendor != "postgresql":
        pytest.skip("PERCENTILE_CONT needs PostgreSQL")
    if request.param == "fallback":
        monkeypatch.setattr(analytics, "percentile_in_sql", lambda: False)
    return request.param


def by_key(rows):
    return {(row.day, row.op): row for row in rows}


def figures(row):
    return (row.created, row.used, row.expired, row.rate, row.median_seconds_to_use)


def test_conversion_per_day_and_op_has_exact_figures(known_quotes, days, median_by):
    first, second = days

    # when
    rows = by_key(quote_conversion(since=first, until=second))

    # then: every day x (all ops + each known op), zeros included
    assert len(rows) == 2 * 5
    assert figures(rows[first, ALL_OPS]) == (4, 2, 2, 0.5, 120.0)
    assert figures(rows[second, ALL_OPS]) == (2, 1, 0, 0.5, 30.0)
    assert figures(rows[first, "upscale"]) == (3, 2, 1, 2 / 3, 120.0)
    assert figures(rows[first, "resize"]) == (2, 1, 1, 0.5, 180.0)
    assert figures(rows[second, "enhance"]) == (2, 1, 0, 0.5, 30.0)
    assert figures(rows[second, "upscale"]) == (0, 0, 0, None, None)
    assert figures(rows[first, "remove_background"]) == (0, 0, 0, None, None)


def test_conversion_over_the_window_per_op(known_quotes, days, median_by):
    first, second = days

    # when
    rows = by_key(quote_conversion(since=first, until=second, by_day=False))

    # then: the window's median is of all its used quotes (30, 60, 180), not of day medians
    assert figures(rows[None, ALL_OPS]) == (6, 3, 2, 0.5, 60.0)
    assert figures(rows[None, "upscale"]) == (3, 2, 1, 2 / 3, 120.0)
    assert figures(rows[None, "enhance"]) == (2, 1, 0, 0.5, 30.0)
    assert figures(rows[None, "resize"]) == (2, 1, 1, 0.5, 180.0)


def test_a_day_without_quotes_is_zeros(days, median_by):
    first, _ = days

    rows = quote_conversion(since=first, until=first)

    assert {figures(row) for row in rows} == {(0, 0, 0, None, None)}


def test_cleanup_backlog_counts_stale_and_past_retention(settings):
    # given: one active past expiry, one used past retention, one live, one expired recent
    QuoteFactory(expired_ago=timedelta(minutes=1))
    old = QuoteFactory(expired_ago=settings.QUOTE_RETENTION + timedelta(days=1))
    old.status = QuoteStatus.EXPIRED
    old.save()
    QuoteFactory()
    QuoteFactory(expired_ago=timedelta(minutes=1), status=QuoteStatus.EXPIRED)

    # then
    assert quote_cleanup_backlog() == 2
