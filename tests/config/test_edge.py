"""The ASGI guard answers 413 before the application reads an oversized body."""

import asyncio

import pytest

from uploads.asgi import UploadBodyLimitMiddleware
from uploads.handlers import MULTIPART_OVERHEAD_BYTES

LIMIT = 1000


class RecordingApp:
    """An inner application that reads the whole body, as Django's handler does."""

    def __init__(self):
        self.called = False
        self.bytes_read = 0

    async def __call__(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            self.bytes_read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(app, *, path="/api/uploads", method="POST", headers=(), chunks=(b"",)):
    sent = []
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": method, "headers": list(headers)}
    asyncio.run(UploadBodyLimitMiddleware(app)(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.MAX_UPLOAD_BYTES = LIMIT


def test_declared_length_over_the_cap_is_refused_without_calling_the_app():
    app = RecordingApp()
    too_long = str(LIMIT + MULTIPART_OVERHEAD_BYTES + 1).encode()
    status, body = call(app, headers=[(b"content-length", too_long)])
    assert status == 413
    assert b'"file_too_large"' in body
    assert not app.called


def test_streamed_body_over_the_cap_is_cut_off():
    app = RecordingApp()
    chunk = b"x" * 16 * 1024
    chunks = [chunk] * 20  # 320 KiB, no Content-Length
    status, _ = call(app, path="/api/storage/uploads/u/k.jpg", method="PUT", chunks=chunks)
    assert status == 413
    assert app.bytes_read <= LIMIT + MULTIPART_OVERHEAD_BYTES


def test_small_bodies_and_other_paths_pass():
    assert call(RecordingApp(), chunks=[b"x" * 10])[0] == 201
    big = [b"x" * 100_000] * 2
    assert call(RecordingApp(), path="/api/orders", chunks=big)[0] == 201
    assert call(RecordingApp(), method="GET", chunks=big)[0] == 201
