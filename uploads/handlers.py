"""An upload handler that stops a multipart body as soon as its files exceed the size cap."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler

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
