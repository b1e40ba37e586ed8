"""What every request passes before Django, under ASGI and WSGI alike: body limits, chunked
bodies, and Retry-After on every 503.

Django's ASGI handler reads a whole body (spooling it to /tmp) before any view runs, and a
WSGI view that reads `request.body` does the same; a view can only refuse 512 MiB after
they are written. So the servers' entry points wrap the application here:

- a body over its limit (`body_limit`) is refused with 413 before it is read: at once
  from Content-Length, or when a streamed body passes the limit;
- a chunked body (Transfer-Encoding: chunked, no Content-Length) is read here, up to the
  limit, and handed on with its Content-Length: Django and DRF take a request without
  one as empty;
- a 503 without Retry-After gets one (RETRY_AFTER_S), whoever answered it.

`config/asgi.py` wraps with EdgeAsgiMiddleware, `config/wsgi.py` with EdgeWsgiMiddleware.
"""

import json
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

from config.body_limits import BodyLimit, body_limit, too_large_error
from config.cors import HEADER_ENCODING, cors_headers
from config.errors import RETRY_AFTER_S, error_body

READ_CHUNK_BYTES = 64 * 1024


def _too_large_body(limit: BodyLimit) -> bytes:
    error = too_large_error(limit)
    return json.dumps(error_body(error.code, error.message, error.details)).encode()


def _declared_length(value: str | bytes | None) -> int | None:
    """Content-Length as a number; None when absent or not a number (the server refuses
    those; here they simply get no early answer)."""
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        return None


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


class _SpooledBody:
    """A body read to its end, in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, then on disk."""

    def __init__(self):
        # Closed by whoever reads it to the end (or when the body turns out too large).
        self.file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        )
        self.size = 0

    def add(self, chunk: bytes, limit: BodyLimit) -> None:
        self.size += len(chunk)
        if self.size > limit.cutoff_bytes:
            self.file.close()
            raise BodyTooLarge()
        self.file.write(chunk)

    def rewind(self):
        self.file.seek(0)
        return self.file


# --- ASGI ----------------------------------------------------------------------------------


def _asgi_json_response(status: int, body: bytes) -> list[dict[str, Any]]:
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread rest of the body must not be taken for the next request.
                (b"connection", b"close"),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def _asgi_with_retry_after(message: dict[str, Any]) -> dict[str, Any]:
    if message["type"] == "http.response.start" and message.get("status") == 503:
        headers = list(message.get("headers") or [])
        if not any(name.lower() == b"retry-after" for name, _ in headers):
            headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
            return {**message, "headers": headers}
    return message


class EdgeAsgiMiddleware:
    """Wrap the ASGI application: `application = EdgeAsgiMiddleware(django_application)`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def guarded_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(_asgi_with_retry_after(message))

        async def refuse(status: int, body: bytes) -> None:
            if not started:
                for message in _asgi_json_response(status, body):
                    await guarded_send(message)

        if not _query_is_utf8(scope):
            return await refuse(400, _bad_query_body())
        limit = body_limit(scope.get("path", ""))
        # No header dict kept in this frame: it lives as long as the request (streams too).
        declared = _declared_length(dict(scope.get("headers") or []).get(b"content-length"))
        if declared is not None and declared > limit.cutoff_bytes:
            return await refuse(413, _too_large_body(limit))
        try:
            if declared is None:
                scope, receive = await _read_unframed_body(scope, receive, limit)
            await self.app(scope, _counting(receive, limit), guarded_send)
        except BodyTooLarge:
            await refuse(413, _too_large_body(limit))
        except ClientGone:
            return None


def _counting(receive, limit: BodyLimit):
    """`receive` that raises BodyTooLarge once the body passes the limit, whatever the
    declared length said."""
    received = 0

    async def counting_receive():
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit.cutoff_bytes:
                raise BodyTooLarge()
        return message

    return counting_receive


async def _read_unframed_body(scope, receive, limit: BodyLimit):
    """A body without Content-Length (chunked, or HTTP/2) is read here to its end; the
    application gets it back with its Content-Length, then the rest of the messages."""
    body = _SpooledBody()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            body.file.close()
            raise ClientGone()  # Django would give up on this request the same way
        body.add(message.get("body", b""), limit)
        if not message.get("more_body", False):
            break
    if body.size == 0:
        body.file.close()
        return scope, _replay(None, 0, receive)
    headers = [
        (name, value) for name, value in scope.get("headers") or [] if name != b"content-length"
    ]
    headers.append((b"content-length", str(body.size).encode()))
    return {**scope, "headers": headers}, _replay(body.rewind(), body.size, receive)


def _replay(file, size: int, receive):
    """Messages carrying `file` in chunks, then whatever `receive` says (a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()
        chunk = file.read(READ_CHUNK_BYTES) if file is not None else b""
        more = file is not None and file.tell() < size
        if not more:
            sent = True
            if file is not None:
                file.close()
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def _query_is_utf8(scope) -> bool:
    """Django's ASGI request decodes the query string as UTF-8 and answers a plain-text 400
    when it is not; here the answer is the API's JSON."""
    try:
        scope.get("query_string", b"").decode()
    except UnicodeDecodeError:
        return False
    return True


def _bad_query_body() -> bytes:
    message = "The query string is not UTF-8."
    return json.dumps(
        error_body("validation_error", message, {"query": [message]}), ensure_ascii=True
    ).encode()


# --- WSGI ----------------------------------------------------------------------------------

StartResponse = Callable[..., Any]


def _wsgi_refusal(environ, start_response: StartResponse, limit: BodyLimit) -> Iterable[bytes]:
    """The 413 of `limit`, with the CORS headers Django's CorsMiddleware would have added
    (under ASGI, config.cors.CorsAsgiMiddleware adds them around this guard)."""
    body = _too_large_body(limit)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    origin = environ.get("HTTP_ORIGIN")
    if origin:
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        headers += [
            (name.decode(HEADER_ENCODING), value.decode(HEADER_ENCODING))
            for name, value in cors_headers(method=method, path=path, origin=origin)
        ]
    start_response("413 Request Entity Too Large", headers)
    return [body]


def _wsgi_with_retry_after(start_response: StartResponse) -> StartResponse:
    def start(status: str, headers: list[tuple[str, str]], exc_info=None):
        if status.startswith("503") and not any(k.lower() == "retry-after" for k, _ in headers):
            headers = [*headers, ("Retry-After", str(RETRY_AFTER_S))]
        return start_response(status, headers, exc_info)

    return start


def _is_chunked(environ) -> bool:
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding or bool(environ.get("wsgi.input_terminated"))


class EdgeWsgiMiddleware:
    """Wrap the WSGI application: `application = EdgeWsgiMiddleware(django_application)`.

    WSGI (PEP 3333) has no framing for a body of unknown length: a server that de-chunks
    (gunicorn, granian) hands on the bytes without CONTENT_LENGTH, and Django then reads
    none. Such a body is read here to its end, up to the limit.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        start_response = _wsgi_with_retry_after(start_response)
        limit = body_limit(environ.get("PATH_INFO", ""))
        declared = _declared_length(environ.get("CONTENT_LENGTH"))
        if declared is not None and declared > limit.cutoff_bytes:
            return _wsgi_refusal(environ, start_response, limit)
        if declared is None and _is_chunked(environ):
            body = _SpooledBody()
            stream = environ["wsgi.input"]
            try:
                while chunk := stream.read(READ_CHUNK_BYTES):
                    body.add(chunk, limit)
            except BodyTooLarge:
                return _wsgi_refusal(environ, start_response, limit)
            environ = {**environ, "CONTENT_LENGTH": str(body.size), "wsgi.input": body.rewind()}
        return self.app(environ, start_response)
