"""POST /api/quotes/batch: up to 50 quotes, all or nothing; the admin's bulk expire."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from quotes.models import Quote, QuoteStatus
from quotes.services import MAX_QUOTES_PER_BATCH, quote_expire_many
from tests.quotes.factories import QuoteFactory
from tests.quotes.test_api import SESSION, job, session_client


def item(**overrides):
    body = job()
    del body["session_id"]
    return body | overrides


def inserts_into_quotes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "quotes_quote"')]


@pytest.mark.django_db
def test_batch_creates_every_quote_with_one_insert(api_client):
    # given: three jobs, one with its own TTL
    items = [item(), item(ops={"enhance": True}), item(ttl_seconds=120)]

    # when
    with CaptureQueriesContext(connection) as queries:
        response = api_client.post(
            "/api/quotes/batch", {"session_id": SESSION, "quotes": items}, format="json"
        )

    # then: three quotes in request order, stored with one multi-row INSERT
    assert response.status_code == 201, response.content
    results = response.json()["results"]
    assert [r["ops"] for r in results] == [item()["ops"], {"enhance": True}, item()["ops"]]
    assert all(r["session_id"] == SESSION and r["status"] == "active" for r in results)
    assert results[0]["credits_total"] == 23
    assert len(inserts_into_quotes(queries.captured_queries)) == 1
    stored = {q.pk: q for q in Quote.objects.all()}
    assert set(map(str, stored)) == {r["id"] for r in results}
    third = stored[next(q for q in stored if str(q) == results[2]["id"])]
    assert third.expires_at - third.created_at == timedelta(seconds=120)
    # readable one by one by its owner, like any quote
    one = session_client().get(f"/api/quotes/{results[1]['id']}")
    assert one.status_code == 200
    assert one.json() == results[1]


@pytest.mark.django_db
def test_batch_owner_comes_from_the_header_too():
    response = session_client().post("/api/quotes/batch", {"quotes": [item()]}, format="json")

    assert response.status_code == 201
    assert response.json()["results"][0]["session_id"] == SESSION


@pytest.mark.django_db
def test_one_bad_item_creates_nothing_and_names_the_item(api_client):
    # given: items 1 and 3 are bad (unknown op; TTL below the minimum)
    items = [item(), item(ops={"teleport": True}), item(), item(ttl_seconds=59)]

    # when
    response = api_client.post(
        "/api/quotes/batch", {"session_id": SESSION, "quotes": items}, format="json"
    )

    # then: 400 with the errors of each bad item under its index, nothing stored
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert set(body["details"]["quotes"]) == {"1", "3"}
    assert "teleport" in body["details"]["quotes"]["1"]["ops"]
    assert "ttl_seconds" in body["details"]["quotes"]["3"]
    assert not Quote.objects.exists()


@pytest.mark.django_db
@pytest.mark.undocumented_errors  # the 500 of a failing insert, on purpose
def test_a_failing_insert_rolls_back_the_whole_batch(api_client, monkeypatch):
    """All or nothing also when the database refuses a row after others went in."""
    from django.db import IntegrityError

    from quotes import services

    real_bulk_create = Quote.objects.bulk_create

    def half_then_fail(quotes, **kwargs):
        real_bulk_create(quotes[:1], **kwargs)
        raise IntegrityError("refused")

    monkeypatch.setattr(services.Quote.objects, "bulk_create", half_then_fail)

    response = api_client.post(
        "/api/quotes/batch", {"session_id": SESSION, "quotes": [item(), item()]}, format="json"
    )

    assert response.status_code == 500
    assert not Quote.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, MAX_QUOTES_PER_BATCH + 1])
def test_batch_size_outside_1_to_50_is_a_400(api_client, count):
    response = api_client.post(
        "/api/quotes/batch",
        {"session_id": SESSION, "quotes": [item()] * count},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "quotes" in response.json()["details"]
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_batch_of_50_is_accepted(api_client):
    response = api_client.post(
        "/api/quotes/batch",
        {"session_id": SESSION, "quotes": [item()] * MAX_QUOTES_PER_BATCH},
        format="json",
    )

    assert response.status_code == 201
    assert len(response.json()["results"]) == MAX_QUOTES_PER_BATCH
    assert Quote.objects.count() == MAX_QUOTES_PER_BATCH


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"session_id": SESSION},
        {"session_id": SESSION, "quotes": {"0": {}}},
        {"session_id": SESSION, "quotes": [item()], "extra": 1},
        {"session_id": SESSION, "quotes": [item(session_id=SESSION)]},
        {"quotes": [item()]},  # anonymous without any session id
        [item()],
    ],
    ids=["no-quotes", "not-a-list", "unknown-field", "item-session", "no-owner", "bare-list"],
)
def test_malformed_batches_are_400(api_client, body):
    response = api_client.post("/api/quotes/batch", body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"
    assert not Quote.objects.exists()


@pytest.mark.django_db
def test_batch_with_idempotency_key_creates_once(api_client):
    body = {"session_id": SESSION, "quotes": [item(), item()]}

    first = api_client.post("/api/quotes/batch", body, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    again = api_client.post("/api/quotes/batch", body, format="json", HTTP_IDEMPOTENCY_KEY="b-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Quote.objects.count() == 2


# --- the admin's bulk expire ------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_expire_is_one_update_statement(django_assert_num_queries):
    # given: active, used and already expired quotes
    active = QuoteFactory.create_batch(3)
    used = QuoteFactory(status=QuoteStatus.USED, used_at=active[0].created_at)
    selection = Quote.objects.filter(pk__in=[q.pk for q in [*active, used]])

    # when / then: one statement, only the active ones change
    with django_assert_num_queries(1):
        count = quote_expire_many(quotes=selection)
    assert count == 3
    assert Quote.objects.filter(status=QuoteStatus.EXPIRED).count() == 3
    used.refresh_from_db()
    assert used.status == QuoteStatus.USED


@pytest.mark.django_db
def test_admin_expire_all_across_pages_is_one_update(make_user):
    # given: more quotes than one admin page shows, "select all" chosen
    staff = make_user(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(staff)
    QuoteFactory.create_batch(105)

    # when
    with CaptureQueriesContext(connection) as queries:
        response = browser.post(
            "/admin/quotes/quote/",
            {"action": "expire_selected", "select_across": "1", "_selected_action": ["x"]},
        )

    # then: every quote expired by a single UPDATE of the quotes table, no SELECT of ids
    assert response.status_code == 302
    assert Quote.objects.filter(status=QuoteStatus.EXPIRED).count() == 105
    quote_statements = [q["sql"] for q in queries.captured_queries if '"quotes_quote"' in q["sql"]]
    updates = [sql for sql in quote_statements if sql.startswith("UPDATE")]
    assert len(updates) == 1, quote_statements
    assert not [sql for sql in quote_statements if sql.startswith('SELECT "quotes_quote"."id"')]
