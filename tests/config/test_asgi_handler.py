"""The ASGI handler of config.asgi: Django's, except that a stream's body is sent from
outside the request machinery (config/asgi_handler.py): while it streams, nothing of its
request, its response or the middleware chain is alive; events still arrive, the terminal
one ends the response, and a disconnect ends the stream at once."""

import asyncio
import gc
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse

from config.asgi import application
from config.request_id import request_id_var
from quotes.runs import sse
from quotes.runs.events import run_event_append
from quotes.runs.wakeups import hubs_for_tests
from tests.quote_runs.factories import QuoteRunFactory

pytestmark = pytest.mark.django_db(transaction=True)

SESSION = "asgi-handler-session-0001"


def http_scope(path: str, *headers: tuple[bytes, bytes]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def open_detached_stream(run, session: str) -> ApplicationCommunicator:
    """The run's stream through config.asgi, past its headers and `retry:` line."""
    app, _start = await open_stream_with_headers(run, session)
    return app


async def open_stream_with_headers(run, session: str) -> tuple[ApplicationCommunicator, dict]:
    app = ApplicationCommunicator(
        application,
        http_scope(f"/api/quote-runs/{run.pk}/stream", (b"x-session-id", session.encode())),
    )
    await app.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await app.receive_output(timeout=10)
    first = await app.receive_output(timeout=10)
    assert start["status"] == 200
    assert first["body"].startswith(b"retry: ")
    return app, start


def alive(kind: type) -> int:
    gc.collect()
    # type(), not isinstance(): the heap holds weak proxies whose referent is gone.
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), kind))


def watched_runs() -> set:
    return {
        waiter.run_id for hub in hubs_for_tests() for ws in hub.waiters.values() for waiter in ws
    }


def test_an_open_stream_keeps_nothing_of_its_request_alive():
    run = QuoteRunFactory(session_id=SESSION)  # processing, no event: the stream stays open

    async def go():
        app, start = await open_stream_with_headers(run, SESSION)
        # while the stream is open
        requests, responses = alive(ASGIRequest), alive(StreamingHttpResponse)
        await app.send_input({"type": "http.disconnect"})
        await app.wait(timeout=10)
        return start, requests, responses

    start, requests, responses = asyncio.run(go())

    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"text/event-stream"
    assert b"x-request-id" in {name.lower() for name in headers}  # the middlewares saw it
    assert (requests, responses) == (0, 0)


def test_events_reach_a_detached_stream_and_the_terminal_one_ends_the_response():
    run = QuoteRunFactory(session_id=SESSION)

    async def go():
        app = await open_detached_stream(run, SESSION)
        await asyncio.to_thread(
            run_event_append, run_id=run.id, event_type="provider.progress", key="one"
        )
        progress = await app.receive_output(timeout=10)
        await asyncio.to_thread(
            run_event_append,
            run_id=run.id,
            event_type="run.completed",
            key="done",
            result={"quotes": []},
        )
        bodies = []
        while True:
            message = await app.receive_output(timeout=10)
            bodies.append(message)
            if not message.get("more_body", False):
                break
        await app.wait(timeout=10)
        return progress, bodies

    progress, bodies = asyncio.run(go())

    assert b"event: provider.progress" in progress["body"]
    assert b"event: run.completed" in b"".join(message["body"] for message in bodies)
    assert bodies[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_disconnect_ends_a_detached_stream_and_its_registration_at_once():
    run = QuoteRunFactory(session_id=SESSION)

    async def go():
        app = await open_detached_stream(run, SESSION)
        watched_while_open = run.id in watched_runs()
        await app.send_input({"type": "http.disconnect"})
        await app.wait(timeout=2)  # long before the next keepalive
        return watched_while_open, run.id in watched_runs()

    assert asyncio.run(go()) == (True, False)


def test_a_detached_body_runs_under_its_requests_id(monkeypatch):
    run = QuoteRunFactory(session_id=SESSION)

    async def body(run_id, after):
        yield f"request id: {request_id_var.get()}".encode()

    monkeypatch.setattr(sse, "run_event_stream", body)

    async def go():
        app = ApplicationCommunicator(
            application,
            http_scope(
                f"/api/quote-runs/{run.pk}/stream",
                (b"x-session-id", SESSION.encode()),
                (b"x-request-id", b"detach-trace-0001"),
            ),
        )
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        await app.receive_output(timeout=10)  # the headers
        first = await app.receive_output(timeout=10)
        await app.wait(timeout=10)
        return first["body"]

    assert asyncio.run(go()) == b"request id: detach-trace-0001"


def test_other_answers_are_djangos():
    asyncio.run(_health())


async def _health() -> None:
    app = ApplicationCommunicator(application, http_scope("/api/health/live"))
    await app.send_input({"type": "http.request", "body": b"", "more_body": False})

    start = await app.receive_output(timeout=10)
    body = await app.receive_output(timeout=10)

    assert start["status"] == 200
    assert dict(start["headers"])[b"Content-Type"] == b"application/json"
    assert json.loads(body["body"]) == {"status": "ok"}
    assert body.get("more_body", False) is False
    await app.wait(timeout=10)
