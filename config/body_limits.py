"""How large a request body may be: one rule per path, one 413 answer (see config/edge.py)."""

from dataclasses import dataclass

from django.conf import settings

from config.errors import PayloadTooLarge

# Room for the multipart boundaries, part headers and small fields around an upload.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# Bodies carrying files: the multipart upload and the local signed PUT.
UPLOAD_PATH = "/api/uploads"
SIGNED_PUT_PREFIX = "/api/storage/"


@dataclass(frozen=True)
class BodyLimit:
    """`max_bytes` is what the client is told; `cutoff_bytes` what the body may reach
    (an upload's file plus its multipart framing)."""

    max_bytes: int
    cutoff_bytes: int
    code: str
    message: str


def body_limit(path: str) -> BodyLimit:
    """The one rule for how large a request body to `path` may be."""
    if path == UPLOAD_PATH or path.startswith(SIGNED_PUT_PREFIX):
        overhead = MULTIPART_OVERHEAD_BYTES if path == UPLOAD_PATH else 0
        cap = settings.MAX_UPLOAD_BYTES
        return BodyLimit(cap, cap + overhead, "file_too_large", "The file is too large.")
    cap = settings.MAX_JSON_BODY_BYTES
    return BodyLimit(cap, cap, "request_too_large", "The request body is too large.")


def too_large_error(limit: BodyLimit) -> PayloadTooLarge:
    """The 413 of `limit`, for code that refuses a body itself (upload handlers, views)."""
    return PayloadTooLarge(limit.message, code=limit.code, details={"max_bytes": limit.max_bytes})
