"""ASGI guard: refuse oversized upload bodies before Django spools them to disk.

Django's ASGI handler reads the whole request body before any view runs, so a view can
only refuse a 1 GB upload after it has been written to a temporary file. Wrapping the
application with UploadBodyLimitMiddleware answers 413 from Content-Length at once, and
cuts off bodies that stream past the cap without (or despite) declaring a length.
"""

import json

from django.conf import settings

from uploads.handlers import MULTIPART_OVERHEAD_BYTES

# Paths whose bodies carry files: the multipart upload and the local signed PUT.
LIMITED_PATHS = ("/api/uploads",)
LIMITED_PREFIXES = ("/api/storage/",)


class BodyTooLarge(Exception):
    pass


def _limited(scope) -> bool:
    path = scope.get("path", "")
    return scope.get("method") in {"POST", "PUT"} and (
        path in LIMITED_PATHS or path.startswith(LIMITED_PREFIXES)
    )


async def _send_413(send) -> None:
    body = json.dumps(
        {
            "error": "file_too_large",
            "message": "The file is too large.",
            "details": {"max_bytes": settings.MAX_UPLOAD_BYTES},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class UploadBodyLimitMiddleware:
    """Wrap the ASGI application: `application = UploadBodyLimitMiddleware(app)`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _limited(scope):
            return await self.app(scope, receive, send)
        limit = settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length")
        try:
            if declared is not None and int(declared) > limit:
                return await _send_413(send)
        except ValueError:
            pass
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send)
