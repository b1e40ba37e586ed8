"""A long-lived streaming response leaves the request machinery once its headers are sent.

Django's `ASGIHandler` keeps every frame of a request alive until the response's last
byte: its `handle` (with the request, its META and resolver match), a task listening for
the disconnect, a task sending the response, the response and Django's wrapper generator,
and above it a coroutine and a `send` closure per ASGI middleware. For an SSE stream that
is the whole life of the stream, ~175 garbage-collected objects per idle stream, and every
full garbage collection of the process scans them all (bench/README.md, "Streams at
scale").

A view returns a `DetachableStreamingResponse` instead. Behind `StreamDetachMiddleware`
(outermost in config.asgi) the handler sends its status and headers through the whole
chain as usual, then hands the body iterator to the middleware and finishes the request as
if the response had been sent: the request is closed, `request_finished` fires, and every
middleware frame returns. The middleware then sends the body with the server's own
`send`, watching for the disconnect, from the one coroutine the server awaits.

Middlewares see the `http.response.start` message, as before, but not the body messages
of a detached stream: none of config.asgi's look at a body. Without the middleware (tests'
AsyncClient, Django's own handler) a DetachableStreamingResponse is an ordinary
StreamingHttpResponse.
"""

import asyncio
import contextvars
from collections.abc import AsyncIterator, Callable

from django.core.handlers.asgi import ASGIHandler
from django.http import StreamingHttpResponse

from config.request_id import request_id_var

# The scope key through which the middleware offers to take a body (a callable).
DETACH_SCOPE_KEY = "atelier.detach_body"

_Detached = tuple[AsyncIterator[bytes], str | None]  # the body, and its request's id
_detach: contextvars.ContextVar[Callable[[_Detached], None] | None] = contextvars.ContextVar(
    "atelier_detach_body", default=None
)


class DetachableStreamingResponse(StreamingHttpResponse):
    """A StreamingHttpResponse over an async iterator of bytes that may be sent from
    outside the request machinery (module docstring). The iterator must not need the
    request (a view that streams has read what it needs of it), and its chunks are sent
    as they are: `streaming_content` is the iterator itself, not Django's wrapper that
    converts each chunk and keeps the response alive. A middleware may still wrap it
    (config.metrics counts open streams so)."""

    @property
    def streaming_content(self):
        return self._iterator  # type: ignore[attr-defined]

    @streaming_content.setter
    def streaming_content(self, value):
        self._set_streaming_content(value)  # type: ignore[attr-defined]


class AtelierAsgiHandler(ASGIHandler):
    """Django's ASGI handler, except that a DetachableStreamingResponse's body is handed
    to StreamDetachMiddleware when the scope offers it."""

    async def handle(self, scope, receive, send):
        token = _detach.set(scope.get(DETACH_SCOPE_KEY))
        try:
            await super().handle(scope, receive, send)
        finally:
            _detach.reset(token)

    async def send_response(self, response, send):
        detach = _detach.get()
        if (
            detach is None
            or not isinstance(response, DetachableStreamingResponse)
            or not response.is_async
        ):
            return await super().send_response(response, send)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": _asgi_headers(response),
            }
        )
        # The body's log lines keep their request's id (config/request_id.py), which the
        # middlewares' context no longer holds once they have returned.
        detach((response.streaming_content, request_id_var.get()))
        return None


class StreamDetachMiddleware:
    """Outermost HTTP middleware: sends the bodies that AtelierAsgiHandler detached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        detached: list[_Detached] = []
        await self.app({**scope, DETACH_SCOPE_KEY: detached.append}, receive, send)
        if detached:
            body, request_id = detached.pop()
            request_id_var.set(request_id)  # in the server's context of this request only
            await send_detached_body(body, receive, send)
        return None


async def send_detached_body(body: AsyncIterator[bytes], receive, send) -> None:
    """Send `body`'s chunks, then the end of the response; a disconnect of the client
    cancels the sending (and so closes `body`) at once, as Django's handler would."""
    sending = _DetachedBody(receive)
    watcher = asyncio.get_running_loop().create_task(sending.watch_disconnect())
    try:
        try:
            async for chunk in body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await body.aclose()  # type: ignore[attr-defined]
        sending.finished = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not sending.disconnected:
            raise
        sending.task.uncancel()
    finally:
        sending.finished = True
        watcher.cancel()


class _DetachedBody:
    """What the disconnect watcher shares with the sending coroutine (one small object
    rather than a closure's cells: it lives as long as the stream)."""

    __slots__ = ("disconnected", "finished", "receive", "task")

    def __init__(self, receive):
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - called from the server's request task
        self.task = task
        self.receive = receive
        self.finished = False
        self.disconnected = False

    async def watch_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        if not self.finished:
            self.disconnected = True
            self.task.cancel()


def _asgi_headers(response) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI wants them (as Django encodes them)."""
    headers = [
        (
            header.encode("ascii") if isinstance(header, str) else bytes(header),
            value.encode("latin1") if isinstance(value, str) else bytes(value),
        )
        for header, value in response.items()
    ]
    headers.extend(
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    )
    return headers
