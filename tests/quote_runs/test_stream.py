"""The SSE view: replay after Last-Event-ID, live events via pub/sub or polling, keepalive,
identity (headers or the capability token of stream_url), headers; the retry line first; it
ends after the terminal event, and a reconnect after that is a 204."""

import asyncio
import threading
from datetime import timedelta
from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client
from django.utils import timezone

from quotes.runs.events import run_event_append
from quotes.runs.models import QuoteRun
from quotes.runs.services import quote_run_execute
from quotes.runs.stream_tokens import quote_run_stream_url, stream_token_issue
from tests.conftest import client_for
from tests.e2e.harness import free_port
from tests.quote_runs.factories import QuoteRunFactory
from tests.quote_runs.streams import (
    SESSION,
    append_later,
    open_stream,
    parse,
    read_all,
    stream,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def completed_run():
    run = QuoteRunFactory(session_id=SESSION, providers=["standard", "bulk"])
    return quote_run_execute(run_id=run.id)


def test_replays_every_event_in_order_and_ends_after_the_terminal_one(completed_run):
    response, text = stream(completed_run.id)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"
    retry, *events = parse(text)
    assert retry == {"retry": "1000"}
    assert [e["id"] for e in events] == list(range(1, completed_run.last_event_id + 1))
    assert events[0]["event"] == "run.started"
    assert events[-1]["event"] == "run.completed"
    assert events[-1]["data"] == completed_run.result
    assert text.startswith("retry: 1000\n\nid: 1\nevent: run.started\ndata: {")


@pytest.mark.parametrize("how", [{"Last-Event-ID": "4"}, {"query": "?last_event_id=4"}])
def test_resumes_right_after_last_event_id(completed_run, how):
    _, text = stream(completed_run.id, **how)

    ids = [e["id"] for e in parse(text)[1:]]
    assert ids == list(range(5, completed_run.last_event_id + 1))


@pytest.mark.parametrize("past_the_end", [0, 1])
def test_reconnect_after_the_terminal_event_is_a_204(completed_run, past_the_end):
    # A 204 ends an EventSource for good: it never reconnects again.
    last_event_id = str(completed_run.last_event_id + past_the_end)

    response, text = stream(completed_run.id, **{"Last-Event-ID": last_event_id})

    assert response.status_code == 204
    assert text is None
    assert response.content == b""


def test_reconnect_before_the_terminal_event_gets_the_rest(completed_run):
    last = completed_run.last_event_id

    response, text = stream(completed_run.id, **{"Last-Event-ID": str(last - 1)})

    assert response.status_code == 200
    assert [(e["id"], e["event"]) for e in parse(text)[1:]] == [(last, "run.completed")]


def test_retry_line_follows_the_setting(completed_run, settings):
    settings.SSE_RETRY_MS = 2500

    _, text = stream(completed_run.id)

    assert text.startswith("retry: 2500\n\nid: 1\n")


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "99999999999999"])
def test_malformed_last_event_id_is_a_400(completed_run, value):
    response, _ = stream(completed_run.id, **{"Last-Event-ID": value})

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_others_get_404_and_a_bad_token_401(completed_run, make_user):
    stranger = client_for(make_user())
    assert (
        stream(completed_run.id, **{"X-Session-Id": "someone-else-000000001"})[0].status_code == 404
    )
    response, _ = stream(
        completed_run.id, Authorization=f"Bearer {stranger.token}", **{"X-Session-Id": None}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    bad, _ = stream(completed_run.id, Authorization="Bearer nonsense")
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_token"


def test_owner_by_token_may_stream(make_user):
    owner = make_user()
    run = quote_run_execute(run_id=QuoteRunFactory(user=owner, session_id=None).id)

    response, text = stream(
        run.id, **{"X-Session-Id": None, "Authorization": f"Bearer {client_for(owner).token}"}
    )

    assert response.status_code == 200
    assert parse(text)[-1]["event"] == "run.completed"


@pytest.mark.parametrize(
    "pubsub",
    [pytest.param(True, id="pubsub", marks=pytest.mark.redis), pytest.param(False, id="polling")],
)
def test_live_events_arrive_and_the_stream_ends(settings, pubsub):
    if not pubsub:
        settings.QUOTE_RUN_PUBSUB_URL = ""
    # given: a run with one event already stored
    run = QuoteRunFactory(session_id=SESSION)
    run_event_append(run_id=run.id, event_type="run.started", key="start")

    # when: three more are appended once the stream has replayed the first
    async def go():
        response = await open_stream(run.id)
        writer = asyncio.ensure_future(asyncio.sleep(0))

        async def on_chunk(text):
            nonlocal writer
            if text.count("\n\n") == 2:  # retry + the replayed event: now go live
                writer = asyncio.ensure_future(append_later(run.id, ["a", "b", "c"], True))

        text = await read_all(response, on_chunk=on_chunk)
        await writer
        return text

    events = parse(asyncio.run(go()))[1:]

    # then: all five arrive in order and the stream ends after the terminal one
    assert [e["id"] for e in events] == [1, 2, 3, 4, 5]
    assert events[-1]["event"] == "run.failed"


def test_unreachable_redis_falls_back_to_polling(settings, caplog):
    settings.QUOTE_RUN_PUBSUB_URL = f"redis://127.0.0.1:{free_port()}/0"
    run = QuoteRunFactory(session_id=SESSION)

    async def go():
        response = await open_stream(run.id)
        writer = asyncio.ensure_future(append_later(run.id, ["a"], True))
        text = await read_all(response)
        await writer
        return text

    events = parse(asyncio.run(go()))[1:]

    assert [e["event"] for e in events] == ["provider.progress", "run.failed"]
    assert "pub/sub unavailable, polling" in caplog.text


def test_idle_stream_sends_keepalives(settings):
    # given: a run with no events and a short keepalive
    settings.SSE_KEEPALIVE_S = 0.3
    run = QuoteRunFactory(session_id=SESSION)
    done = threading.Event()

    # when: the stream idles until two keepalives went out, then the run ends; then: the
    # keepalives came first, the terminal event last
    async def go():
        response = await open_stream(run.id)

        async def on_chunk(text):
            if text.count(": keepalive") == 2 and not done.is_set():
                done.set()
                await append_later(run.id, [], True)

        return await read_all(response, on_chunk=on_chunk)

    blocks = parse(asyncio.run(go()))

    assert blocks[:3] == [{"retry": "1000"}, {"comment": "keepalive"}, {"comment": "keepalive"}]
    assert blocks[-1]["event"] == "run.failed"


def test_run_deleted_mid_stream_ends_the_stream(settings):
    # given: a polling stream of a run
    settings.QUOTE_RUN_PUBSUB_URL = ""
    run = QuoteRunFactory(session_id=SESSION)

    @sync_to_async
    def delete_run():
        try:
            run.delete()
        finally:
            connection.close()

    # when: the run is deleted while streaming; then: the stream ends with no event
    async def go():
        response = await open_stream(run.id)
        deleter = asyncio.ensure_future(delete_run())
        text = await read_all(response)
        await deleter
        return text

    assert asyncio.run(go()) == "retry: 1000\n\n"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_are_a_json_405_without_a_csrf_token(completed_run, method):
    # A token or session client sends no CSRF token: a JSON 405, not Django's HTML 403.
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)(f"/api/quote-runs/{completed_run.id}/stream")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] == "GET"


# --- The capability token of stream_url (what a browser's EventSource uses) ---------------


def no_headers(url: str) -> dict:
    """stream() arguments for a bare GET of `url`, as EventSource sends it."""
    _, _, query = url.partition("?")
    return {"X-Session-Id": None, "query": f"?{query}"}


def test_stream_url_alone_reads_the_stream(completed_run, api_client):
    url = api_client.get(f"/api/quote-runs/{completed_run.id}", HTTP_X_SESSION_ID=SESSION).json()[
        "stream_url"
    ]

    response, text = stream(completed_run.id, **no_headers(url))

    assert url.startswith(f"/api/quote-runs/{completed_run.id}/stream?token=")
    assert response.status_code == 200
    assert [e["id"] for e in parse(text)[1:]] == list(range(1, completed_run.last_event_id + 1))


def test_token_resumes_with_last_event_id_and_ends_with_a_204(completed_run):
    url = quote_run_stream_url(run=completed_run)

    _, tail = stream(completed_run.id, **no_headers(url), **{"Last-Event-ID": "4"})
    ended, _ = stream(
        completed_run.id, **no_headers(url), **{"Last-Event-ID": str(completed_run.last_event_id)}
    )

    assert [e["id"] for e in parse(tail)[1:]] == list(range(5, completed_run.last_event_id + 1))
    assert ended.status_code == 204


def test_token_decides_alone_whatever_the_headers_say(completed_run):
    url = quote_run_stream_url(run=completed_run)

    response, _ = stream(
        completed_run.id, **{**no_headers(url), "X-Session-Id": "someone-else-000000001"}
    )

    assert response.status_code == 200


def tampered(token: str) -> list[str]:
    value, _, signature = token.rpartition(":")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    payload = value.split(":")[0]
    return [
        f"{value}:{flipped}",  # signature changed
        f"{payload[:-2]}{'x' if payload[-2] != 'x' else 'y'}{payload[-1]}:{signature}",
        value,  # signature dropped
        "",
        "x" * 5000,
    ]


def test_tampered_tokens_are_a_404(completed_run):
    token = stream_token_issue(run_id=completed_run.id, expires_at=completed_run.expires_at)

    for bad in tampered(token):
        response, _ = stream(completed_run.id, **no_headers(f"?token={quote(bad)}"))

        assert response.status_code == 404, bad
        assert response.json()["error"] == "not_found"


def test_token_of_another_run_is_a_404_even_with_the_owners_headers(completed_run):
    other = QuoteRunFactory(session_id=SESSION)
    url = quote_run_stream_url(run=other)

    # The owner's own session header does not rescue a token of another run.
    response, _ = stream(completed_run.id, query=f"?{url.partition('?')[2]}")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Not found."}


def test_expired_token_is_a_404_while_the_run_lives(completed_run):
    expired = stream_token_issue(
        run_id=completed_run.id, expires_at=timezone.now() - timedelta(seconds=1)
    )

    response, _ = stream(completed_run.id, **no_headers(f"?token={quote(expired)}"))

    assert response.status_code == 404
    assert stream(completed_run.id)[0].status_code == 200  # the run itself is alive


def test_token_of_a_run_past_retention_is_a_404(completed_run):
    url = quote_run_stream_url(run=completed_run)
    QuoteRun.objects.filter(pk=completed_run.pk).update(expires_at=timezone.now())

    response, _ = stream(completed_run.id, **no_headers(url))

    assert response.status_code == 404


def test_token_signed_by_another_key_is_a_404_but_survives_a_rotation(completed_run, settings):
    url = quote_run_stream_url(run=completed_run)
    old_key, settings.SECRET_KEY = settings.SECRET_KEY, "rotated-" + "r" * 50

    refused, _ = stream(completed_run.id, **no_headers(url))
    settings.SECRET_KEY_FALLBACKS = [old_key]
    accepted, _ = stream(completed_run.id, **no_headers(url))

    assert refused.status_code == 404
    assert accepted.status_code == 200
