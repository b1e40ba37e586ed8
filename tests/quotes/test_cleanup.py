"""Scheduled cleanup: expire in batches, delete past retention in batches, counts."""

import logging
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.cleanup import cleanup_run
from quotes.models import Quote, QuoteStatus
from quotes.services import quote_cleanup
from tests.quotes.factories import QuoteFactory


@pytest.mark.django_db
def test_cleanup_marks_expired_and_counts():
    live = QuoteFactory.create_batch(2)
    past = QuoteFactory.create_batch(3, expired_ago=timedelta(minutes=1))
    used = QuoteFactory(status=QuoteStatus.USED, used_at=timezone.now())

    counts = quote_cleanup()

    assert counts == {"expired": 3, "deleted": 0}
    assert {q.pk for q in Quote.objects.filter(status=QuoteStatus.EXPIRED)} == {q.pk for q in past}
    assert Quote.objects.filter(status=QuoteStatus.ACTIVE).count() == len(live)
    assert Quote.objects.get(pk=used.pk).status == QuoteStatus.USED
    assert quote_cleanup() == {"expired": 0, "deleted": 0}


@pytest.mark.django_db
def test_retention_deletes_old_quotes_in_batches(settings):
    # given: 11 quotes past retention (2 of them still active), 3 recent; batches of 4
    settings.QUOTE_CLEANUP_BATCH_SIZE = 4
    settings.QUOTE_RETENTION = timedelta(days=30)
    old_expired = QuoteFactory.create_batch(
        5, status=QuoteStatus.EXPIRED, expired_ago=timedelta(days=31)
    )
    old_used = QuoteFactory.create_batch(
        4,
        status=QuoteStatus.USED,
        used_at=timezone.now() - timedelta(days=31),
        expired_ago=timedelta(days=31),
    )
    # never cleaned while active, now past retention: expired first, then deleted
    old_active = QuoteFactory.create_batch(2, expired_ago=timedelta(days=40))
    recent = QuoteFactory.create_batch(
        3, status=QuoteStatus.EXPIRED, expired_ago=timedelta(days=29)
    )

    # when
    with CaptureQueriesContext(connection) as queries:
        counts = quote_cleanup()

    # then
    assert counts == {"expired": 2, "deleted": len(old_expired) + len(old_used) + len(old_active)}
    assert set(Quote.objects.values_list("pk", flat=True)) == {q.pk for q in recent}
    deletes = [q["sql"] for q in queries if 'DELETE FROM "quotes_quote"' in q["sql"]]
    # 11 rows at 4 per batch: three DELETE statements, none larger than a batch
    assert len(deletes) == 3


@pytest.mark.django_db
def test_expire_batches_re_check_the_guard(settings):
    settings.QUOTE_CLEANUP_BATCH_SIZE = 2
    QuoteFactory.create_batch(5, expired_ago=timedelta(seconds=5))

    with CaptureQueriesContext(connection) as queries:
        counts = quote_cleanup()

    updates = [q["sql"] for q in queries if 'UPDATE "quotes_quote"' in q["sql"]]
    assert counts["expired"] == 5
    assert len(updates) == 3
    assert all("expires_at" in sql and "status" in sql for sql in updates)


@pytest.mark.django_db
def test_cleanup_is_registered_and_runs_via_the_command(caplog):
    QuoteFactory(expired_ago=timedelta(seconds=1))

    with caplog.at_level(logging.INFO):
        assert cleanup_run(name="quotes") == {"expired": 1, "deleted": 0}
    assert "quote cleanup: 1 expired" in caplog.text

    QuoteFactory(expired_ago=timedelta(seconds=1))
    call_command("cleanup_expired", "quotes")
    assert not Quote.objects.expired_uncleaned().exists()


@pytest.mark.django_db
def test_batches_continue_past_rows_that_expired_at_the_same_instant(settings):
    settings.QUOTE_CLEANUP_BATCH_SIZE = 2
    same_instant = QuoteFactory.create_batch(5, expired_ago=timedelta(seconds=5))
    Quote.objects.filter(pk__in=[q.pk for q in same_instant]).update(
        expires_at=same_instant[0].expires_at
    )

    assert quote_cleanup()["expired"] == 5
    assert not Quote.objects.filter(status=QuoteStatus.ACTIVE).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cleanup_skips_a_row_a_request_holds_instead_of_waiting_for_it(settings):
    # given: three expired quotes, one of them locked by another transaction
    settings.QUOTE_CLEANUP_BATCH_SIZE = 10
    held, *_others = QuoteFactory.create_batch(3, expired_ago=timedelta(seconds=5))
    params = connection.get_connection_params()
    for option in ("pool", "cursor_factory", "context"):
        params.pop(option, None)
    with psycopg.connect(**params) as other:
        other.execute("SELECT 1 FROM quotes_quote WHERE id = %s FOR UPDATE", [held.pk])

        # when: the cleanup runs while the lock is held
        counts = quote_cleanup()

        # then: it did the others without waiting; the held one stays for the next run
        assert counts["expired"] == 2
        assert Quote.objects.get(pk=held.pk).status == QuoteStatus.ACTIVE
        other.rollback()
    assert quote_cleanup()["expired"] == 1
