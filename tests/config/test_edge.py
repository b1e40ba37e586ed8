"""The edge guards (config/edge.py) under ASGI and WSGI: 413 before a body is read, chunked
bodies read, Retry-After on every 503, JSON for a query string Django cannot decode."""

import asyncio
import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from config.body_limits import MULTIPART_OVERHEAD_BYTES, body_limit, too_large_error
from config.edge import EdgeAsgiMiddleware, EdgeWsgiMiddleware
from config.wsgi import django_application as django_wsgi_application

UPLOAD_LIMIT = 1000
JSON_LIMIT = 2000


class RecordingApp:
    """An inner ASGI application that reads the whole body, as Django's handler does."""

    def __init__(self, status=201, headers=()):
        self.called = False
        self.body = b""
        self.scope = None
        self.status = status
        self.headers = list(headers)

    async def __call__(self, scope, receive, send):
        self.called = True
        self.scope = scope
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"ok"})


def call_asgi(app, *, path="/api/uploads", method="POST", headers=(), chunks=(b"",), query=b""):
    sent = []
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "path": path,
        "method": method,
        "headers": list(headers),
        "query_string": query,
    }
    asyncio.run(EdgeAsgiMiddleware(app)(scope, receive, send))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.MAX_UPLOAD_BYTES = UPLOAD_LIMIT
    settings.MAX_JSON_BODY_BYTES = JSON_LIMIT


# --- the rule -------------------------------------------------------------------------------


def test_uploads_have_their_own_limit_and_everything_else_the_json_limit():
    assert body_limit("/api/uploads").cutoff_bytes == UPLOAD_LIMIT + MULTIPART_OVERHEAD_BYTES
    assert body_limit("/api/storage/rooms/s/k/room.jpg").cutoff_bytes == UPLOAD_LIMIT
    assert body_limit("/api/orders").cutoff_bytes == JSON_LIMIT
    assert body_limit("/admin/login/").cutoff_bytes == JSON_LIMIT
    assert too_large_error(body_limit("/api/orders")).code == "request_too_large"
    assert too_large_error(body_limit("/api/uploads")).code == "file_too_large"


# --- ASGI -----------------------------------------------------------------------------------


def test_declared_upload_over_the_cap_is_refused_without_calling_the_app():
    app = RecordingApp()
    too_long = str(UPLOAD_LIMIT + MULTIPART_OVERHEAD_BYTES + 1).encode()

    status, headers, body = call_asgi(app, headers=[(b"content-length", too_long)])

    assert status == 413
    assert json.loads(body) == {
        "error": "file_too_large",
        "message": "The file is too large.",
        "details": {"max_bytes": UPLOAD_LIMIT},
    }
    assert headers[b"connection"] == b"close"
    assert not app.called


@pytest.mark.parametrize("path", ["/api/orders", "/api/users/login", "/api/no-such", "/admin/"])
def test_declared_json_body_over_the_cap_is_refused_on_every_other_path(path):
    app = RecordingApp()

    status, _, body = call_asgi(
        app, path=path, headers=[(b"content-length", str(JSON_LIMIT + 1).encode())]
    )

    assert status == 413
    assert json.loads(body)["error"] == "request_too_large"
    assert json.loads(body)["details"] == {"max_bytes": JSON_LIMIT}
    assert not app.called


def test_chunked_body_over_the_cap_is_cut_off_before_the_app_runs():
    app = RecordingApp()
    chunks = [b"x" * 512] * 20  # 10 KiB, no Content-Length

    status, _, body = call_asgi(app, path="/api/quotes", chunks=chunks)

    assert status == 413
    assert json.loads(body)["error"] == "request_too_large"
    assert not app.called


def test_body_longer_than_declared_is_cut_off_while_streaming():
    app = RecordingApp()
    chunks = [b"x" * 512] * 20

    status, _, _ = call_asgi(
        app, path="/api/quotes", headers=[(b"content-length", b"100")], chunks=chunks
    )

    assert status == 413
    assert len(app.body) <= JSON_LIMIT


def test_chunked_body_under_the_cap_reaches_the_app_with_its_length():
    app = RecordingApp()
    chunks = [b'{"a": ', b"1", b"}"]

    status, _, _ = call_asgi(
        app, path="/api/quotes", headers=[(b"transfer-encoding", b"chunked")], chunks=chunks
    )

    assert status == 201
    assert app.body == b'{"a": 1}'
    assert (b"content-length", b"8") in app.scope["headers"]


def test_requests_without_a_body_pass_unchanged():
    app = RecordingApp()

    status, _, _ = call_asgi(app, path="/api/quotes", method="GET")

    assert status == 201
    assert app.body == b""
    assert not any(name == b"content-length" for name, _ in app.scope["headers"])


def test_every_503_gets_retry_after_and_a_given_one_is_kept():
    bare = call_asgi(RecordingApp(status=503), method="GET")
    given = call_asgi(RecordingApp(status=503, headers=[(b"retry-after", b"30")]), method="GET")
    fine = call_asgi(RecordingApp(status=200), method="GET")

    assert bare[1][b"retry-after"] == b"5"
    assert given[1][b"retry-after"] == b"30"
    assert b"retry-after" not in fine[1]


def test_a_query_string_that_is_not_utf8_is_a_json_400():
    app = RecordingApp()

    status, _, body = call_asgi(app, path="/api/orders", method="GET", query=b"status=\xff")

    assert status == 400
    assert json.loads(body)["error"] == "validation_error"
    assert not app.called


# --- WSGI -----------------------------------------------------------------------------------


class Unreadable(io.RawIOBase):
    def read(self, size=-1):
        raise AssertionError("the body was read")


def call_wsgi(app, *, path, method="POST", body=b"", **environ):
    base = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.input": io.BytesIO(body)}
    base.update(environ)
    setup_testing_defaults(base)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, dict(headers)

    content = b"".join(app(base, start_response))
    return int(started["status"][:3]), started["headers"], content


@pytest.fixture
def wsgi_app(db):
    """The real Django WSGI application behind the guard, inside the test's transaction
    (the test client likewise keeps Django from closing its connection per request)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield EdgeWsgiMiddleware(django_wsgi_application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_wsgi_refuses_a_declared_oversized_body_without_reading_it():
    def never_called(environ, start_response):
        raise AssertionError("the application ran")

    status, _, body = call_wsgi(
        EdgeWsgiMiddleware(never_called),
        path="/api/orders",
        CONTENT_LENGTH=str(JSON_LIMIT + 1),
        **{"wsgi.input": Unreadable()},
    )

    assert status == 413
    assert json.loads(body)["error"] == "request_too_large"


def test_wsgi_reads_a_chunked_body_which_django_would_take_as_empty(wsgi_app, user):
    # given: a login body without Content-Length, as a de-chunking WSGI server hands it on
    body = json.dumps({"email": user.email, "password": "wrong-password-123"}).encode()

    # when
    status, _, content = call_wsgi(
        wsgi_app,
        path="/api/users/login",
        body=body,
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        SERVER_NAME="127.0.0.1",
    )

    # then: the credentials were read and checked (an empty body would be a 400)
    assert status == 401, content
    assert json.loads(content)["error"] == "invalid_credentials"


def test_wsgi_cuts_off_a_chunked_body_over_the_limit():
    status, _, body = call_wsgi(
        EdgeWsgiMiddleware(lambda environ, start_response: [b""]),
        path="/api/quotes",
        body=b"x" * (JSON_LIMIT + 1),
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert status == 413
    assert json.loads(body)["error"] == "request_too_large"


def test_wsgi_503_gets_retry_after():
    def unavailable(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        return [b"{}"]

    status, headers, _ = call_wsgi(EdgeWsgiMiddleware(unavailable), path="/api/ping", method="GET")

    assert status == 503
    assert headers["Retry-After"] == "5"


def test_wsgi_413_carries_cors_headers_for_an_allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]

    status, headers, _ = call_wsgi(
        EdgeWsgiMiddleware(lambda environ, start_response: [b""]),
        path="/api/orders",
        CONTENT_LENGTH=str(JSON_LIMIT + 1),
        HTTP_ORIGIN="https://shop.example",
    )

    assert status == 413
    assert headers["access-control-allow-origin"] == "https://shop.example"
