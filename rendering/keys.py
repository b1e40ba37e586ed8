"""Storage keys of rendering objects, and keys recovered from legacy (signed) URLs."""

import uuid
from urllib.parse import unquote, urlsplit

from django.conf import settings

GCS_HOST_SUFFIX = "storage.googleapis.com"


def room_upload_key(*, shop_id, session_id) -> str:
    """Where the client PUTs the raw room photo."""
    return f"rooms/{shop_id}/{session_id}/room.jpg"


def room_original_key(*, shop_id, session_id) -> str:
    """The normalized room photo (EXIF applied, size capped, JPEG)."""
    return f"rooms/{shop_id}/{session_id}/original.jpg"


def room_cleaned_key(*, shop_id, session_id) -> str:
    """A cleaned room image; a session may get several, each under its own key."""
    return f"rooms/{shop_id}/{session_id}/cleaned-{uuid.uuid4().hex[:12]}.jpg"


def render_result_key(*, shop_id, job_id, attempt: int = 1) -> str:
    """Each attempt writes its own object, so an attempt that outlived its lease never
    overwrites, nor deletes, the result of the attempt that took over."""
    if attempt == 1:
        return f"renders/{shop_id}/{job_id}.png"
    return f"renders/{shop_id}/{job_id}-{attempt}.png"


def legacy_url_to_key(url: str) -> str | None:
    """The storage key a legacy URL pointed at, or None if it cannot be one of ours.

    Legacy sessions stored 24-hour signed URLs: Cloud Storage path style
    (https://storage.googleapis.com/<bucket>/<key>?X-Goog-...), virtual-host style
    (https://<bucket>.storage.googleapis.com/<key>), or local media URLs
    (/media/<key>). The signature in the query string is dropped.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = unquote(parts.path).lstrip("/")
    endpoint = urlsplit(settings.GCS_ENDPOINT) if settings.GCS_ENDPOINT else None
    on_endpoint = endpoint is not None and parts.netloc.lower() == endpoint.netloc.lower()
    if host == GCS_HOST_SUFFIX or on_endpoint:
        # Path style: the first segment is the bucket.
        path = path.partition("/")[2]
    elif host.endswith("." + GCS_HOST_SUFFIX):
        pass  # virtual-host style: the path is the key
    else:
        media_prefix = settings.MEDIA_URL.strip("/") + "/"
        if path.startswith(media_prefix):
            path = path[len(media_prefix) :]
    segments = path.split("/")
    if not path or any(segment in {"", ".", ".."} for segment in segments):
        return None
    return path
