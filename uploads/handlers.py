"""The upload body's size cap: a handler that stops a multipart body as soon as its files
exceed it, and the multipart parser that puts that handler first."""

from django.conf import settings
from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from config.body_limits import UPLOAD_PATH, body_limit, too_large_error
from config.errors import PayloadTooLarge


def too_large() -> PayloadTooLarge:
    """The 413 of an upload (config.body_limits has the one rule and body)."""
    return too_large_error(body_limit(UPLOAD_PATH))


def content_length_too_large(meta) -> bool:
    """True when the declared body cannot fit a file under the cap (no body read)."""
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return declared > body_limit(UPLOAD_PATH).cutoff_bytes


class SizeLimitUploadHandler(FileUploadHandler):
    """First in the handler chain: counts file bytes as they stream and raises
    PayloadTooLarge past MAX_UPLOAD_BYTES, so a body without (or lying about) its
    Content-Length is still cut off early. Passes data on to the storing handlers."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length_too_large(META):
            raise too_large()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            raise too_large()
        return raw_data

    def file_complete(self, file_size):
        return None


class UploadMultiPartParser(MultiPartParser):
    """The multipart parser of uploads: refuses on the declared length before a byte of the
    body is read, then streams files through SizeLimitUploadHandler ahead of Django's
    storing handlers. Runs whenever the body is first parsed, whoever asks (the
    Idempotency-Key fingerprint or the view's serializer)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        if content_length_too_large(request.META):
            raise too_large()
        handlers = [
            SizeLimitUploadHandler(request),
            MemoryFileUploadHandler(request),
            TemporaryFileUploadHandler(request),
        ]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        # DRF's own charset rule (get_encoding is newer than the stubs).
        encoding = parsers.get_encoding(parser_context)  # type: ignore[attr-defined]
        try:
            parser = DjangoMultiPartParser(meta, stream, handlers, encoding)
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from None
        return DataAndFiles(data, files)
