"""The ASGI handler of config.asgi: Django's, except that an open stream does not keep its
request (and the request's headers, query and URL match) alive."""

import asyncio
import gc
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIRequest

from config.asgi import application
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


def live_requests(path: str) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, ASGIRequest) and obj.path == path)


def test_an_open_stream_keeps_no_request_alive():
    run = QuoteRunFactory(session_id=SESSION)  # processing, no event: the stream stays open
    asyncio.run(_stream_and_look(f"/api/quote-runs/{run.pk}/stream"))


async def _stream_and_look(path: str) -> None:
    app = ApplicationCommunicator(
        application, http_scope(path, (b"x-session-id", SESSION.encode()))
    )
    await app.send_input({"type": "http.request", "body": b"", "more_body": False})

    start = await app.receive_output(timeout=10)
    first = await app.receive_output(timeout=10)

    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"Content-Type"] == b"text/event-stream"
    assert b"x-request-id" in {name.lower() for name in headers}
    assert first["body"].startswith(b"retry: ")
    assert first["more_body"] is True
    assert live_requests(path) == 0  # while the stream is open
    await app.send_input({"type": "http.disconnect"})
    await app.wait(timeout=10)


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
