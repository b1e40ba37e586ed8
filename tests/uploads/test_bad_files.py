"""A corpus of bad files: each refused with the right code, nothing left in storage or DB."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, MemoryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from config.body_limits import MULTIPART_OVERHEAD_BYTES
from config.errors import PayloadTooLarge
from uploads.handlers import SizeLimitUploadHandler
from uploads.models import UploadedFile

from .images import jpeg_bytes, png_bomb, png_bytes, png_with_text

pytestmark = pytest.mark.django_db

MAX_BYTES = 50_000

TYPE = "unsupported_media_type"
LARGE = "file_too_large"
HTML = b"<script>alert(1)</script>"
SVG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"

CORPUS = [
    pytest.param(b"\xff\xd8\xff" + b"\0" * MAX_BYTES, "big.jpg", 413, LARGE, id="oversized"),
    pytest.param(b"", "empty.jpg", 415, TYPE, id="empty"),
    pytest.param(b"hello, I am text\n" * 20, "photo.png", 415, TYPE, id="text-named-png"),
    pytest.param(jpeg_bytes(300, 200)[:-500], "cut.jpg", 415, TYPE, id="truncated-jpeg"),
    pytest.param(png_bomb(), "bomb.png", 413, LARGE, id="decompression-bomb"),
    pytest.param(jpeg_bytes() + HTML, "poly.jpg", 415, TYPE, id="polyglot-jpeg-html"),
    pytest.param(png_with_text(b"<html><body>" + HTML), "p.png", 415, TYPE, id="polyglot-png-html"),
    pytest.param(b"GIF89a/*" + b"\0" * 10 + b"*/=alert(1)//", "x.gif", 415, TYPE, id="gif-js"),
    pytest.param(SVG, "x.png", 415, TYPE, id="svg"),
]


@pytest.mark.parametrize(("data", "name", "status", "code"), CORPUS)
def test_bad_file_is_refused_and_nothing_is_left(auth_client, settings, data, name, status, code):
    settings.MAX_UPLOAD_BYTES = MAX_BYTES
    upload = SimpleUploadedFile(name, data, content_type="image/png")

    response = auth_client.post("/api/uploads", {"file": upload}, format="multipart")

    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert UploadedFile.objects.count() == 0
    media = settings.MEDIA_ROOT
    assert not media.exists() or [p for p in media.rglob("*") if p.is_file()] == []


def test_declared_content_length_is_refused_before_parsing(auth_client, settings):
    settings.MAX_UPLOAD_BYTES = MAX_BYTES
    body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("a.png", png_bytes())})
    response = auth_client.generic(
        "POST",
        "/api/uploads",
        body,
        content_type=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(MAX_BYTES + MULTIPART_OVERHEAD_BYTES + 1),
    )
    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert UploadedFile.objects.count() == 0


class CountingHandler(FileUploadHandler):
    """Records how many file bytes got past the size limit."""

    seen = 0

    def receive_data_chunk(self, raw_data, start):
        CountingHandler.seen += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None


def test_streaming_body_is_cut_off_at_the_cap(rf, settings):
    """When Content-Length can't be trusted, the handler stops the parse at the cap, long
    before the whole body is consumed."""
    # given: an 8 MiB body that declares 1000 bytes, and a 1 MiB cap
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    total = 8 * 1024 * 1024
    body = encode_multipart(
        BOUNDARY, {"file": SimpleUploadedFile("big.jpg", b"\xff" * total, "image/jpeg")}
    )
    request = rf.generic("POST", "/api/uploads", body, content_type=MULTIPART_CONTENT)
    # A body that understates its length: the declared size passes the early check.
    meta = {**request.META, "CONTENT_LENGTH": "1000"}
    CountingHandler.seen = 0
    limiter = SizeLimitUploadHandler(request)
    handlers = [limiter, CountingHandler(request), MemoryFileUploadHandler(request)]
    parser = MultiPartParser(meta, io.BytesIO(body), handlers)

    # when
    with pytest.raises(PayloadTooLarge):
        parser.parse()
    # then: the parse stopped near the cap
    assert CountingHandler.seen <= settings.MAX_UPLOAD_BYTES
    assert limiter.received < 2 * settings.MAX_UPLOAD_BYTES
