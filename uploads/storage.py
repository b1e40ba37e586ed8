"""The storage layer: server-made keys, never-overwriting saves, and signed URLs on any backend.

Every function works over Django's `default_storage`, so callers behave the same on the
local filesystem and on Google Cloud Storage. The database stores keys; URLs are minted
here on demand and never stored.
"""

import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.urls import reverse

from uploads.errors import SignatureInvalid, StorageKeyExists

# API.md: a signed URL handed out lives at most an hour, whatever SIGNED_URL_TTL_S says
# (well under Cloud Storage's 7-day V4 limit). The one home of that rule is signed_ttl.
SIGNED_URL_MAX_TTL = timedelta(hours=1)
SIGNED_URL_MIN_TTL = timedelta(seconds=1)
SIGNING_SALT = "uploads.signed-url"
SIGNED_URL_VIEW = "uploads:signed-object"
GCS_NO_OVERWRITE_HEADER = "x-goog-if-generation-match"


# --- keys -----------------------------------------------------------------------------------


UPLOADS_PREFIX = "uploads"


def upload_key(owner_id, ext: str) -> str:
    """A fresh key for a user's upload: uploads/<owner>/<uuid>.<ext>."""
    return f"{UPLOADS_PREFIX}/{owner_id}/{uuid.uuid4()}.{ext.lower().lstrip('.')}"


# --- objects --------------------------------------------------------------------------------


def storage_save(key: str, content, *, content_type: str) -> str:
    """Write `content` under `key` and return the key; raises StorageKeyExists if taken.

    Never overwrites: GCS uploads carry an if-generation-match=0 precondition, local
    files are created with O_EXCL (a concurrent writer of the same key loses).
    """
    save_new = getattr(default_storage, "save_new", None)
    if save_new is not None:
        return save_new(key, content, content_type=content_type)
    if default_storage.exists(key):
        raise StorageKeyExists()
    content.seek(0)
    # A plain File (not a TemporaryUploadedFile) makes FileSystemStorage stream into an
    # O_EXCL file rather than rename over the target.
    stored_as = default_storage.save(key, File(getattr(content, "file", content), name=key))
    if stored_as != key:
        # Django picked an alternative name because the key appeared meanwhile.
        default_storage.delete(stored_as)
        raise StorageKeyExists()
    return key


def storage_open(key: str):
    """The object as a binary file; FileNotFoundError when it is missing."""
    return default_storage.open(key, "rb")


def storage_exists(key: str) -> bool:
    return default_storage.exists(key)


def storage_delete(key: str) -> None:
    """Delete the object; deleting a missing object is not an error."""
    default_storage.delete(key)


def storage_size(key: str) -> int:
    return default_storage.size(key)


def storage_listdir(prefix: str) -> tuple[list[str], list[str]]:
    """(sub-folders, object names) directly under `prefix`; ([], []) when there is none."""
    try:
        return default_storage.listdir(prefix)
    except FileNotFoundError:
        return [], []


def storage_modified_at(key: str) -> datetime:
    return default_storage.get_modified_time(key)


def is_cloud_storage() -> bool:
    """True when objects are served by the cloud backend's own signed URLs."""
    return hasattr(default_storage, "signed_url")


# --- signed URLs ----------------------------------------------------------------------------


def signed_ttl(ttl: timedelta | None = None) -> timedelta:
    """The lifetime of every signed URL, on any backend: `ttl`, else SIGNED_URL_TTL,
    capped at SIGNED_URL_MAX_TTL (1 h, API.md) and at least SIGNED_URL_MIN_TTL."""
    ttl = settings.SIGNED_URL_TTL if ttl is None else ttl
    return max(SIGNED_URL_MIN_TTL, min(ttl, SIGNED_URL_MAX_TTL))


def signed_read_url(key: str, *, ttl: timedelta | None = None, request=None) -> str:
    """A URL that lets anyone holding it GET the object until it expires."""
    ttl = signed_ttl(ttl)
    cloud_signed_url = getattr(default_storage, "signed_url", None)
    if cloud_signed_url is not None:
        return cloud_signed_url(key, method="GET", ttl=ttl)
    return _local_signed_url(key, method="GET", ttl=ttl, request=request)


def signed_upload(
    key: str, *, content_type: str, ttl: timedelta | None = None, request=None
) -> dict:
    """How a client PUTs the object itself: {method, url, headers, key}.

    The client must send exactly `headers`. The object can be written once; a second
    PUT to the same key is refused.
    """
    ttl = signed_ttl(ttl)
    headers = {"Content-Type": content_type}
    cloud_signed_url = getattr(default_storage, "signed_url", None)
    if cloud_signed_url is not None:
        # Signed into the URL, so a second PUT (or a replay) cannot replace the object.
        guard = {GCS_NO_OVERWRITE_HEADER: "0"}
        url = cloud_signed_url(key, method="PUT", ttl=ttl, content_type=content_type, headers=guard)
        headers.update(guard)
    else:
        url = _local_signed_url(
            key, method="PUT", ttl=ttl, request=request, content_type=content_type
        )
    return {"method": "PUT", "url": url, "headers": headers, "key": key}


def _local_signed_url(
    key: str, *, method: str, ttl: timedelta, request=None, content_type: str = ""
) -> str:
    payload = {
        "k": key,
        "m": method,
        "e": int(time.time() + ttl.total_seconds()),
    }
    if content_type:
        payload["ct"] = content_type
    token = signing.dumps(payload, salt=SIGNING_SALT, compress=True)
    path = reverse(SIGNED_URL_VIEW, kwargs={"key": key}) + "?" + urlencode({"token": token})
    return request.build_absolute_uri(path) if request is not None else path


def signed_token_check(*, token: str, key: str, method: str) -> dict:
    """The payload of a local signed URL, if it was signed for this key and method and has
    not expired; SignatureInvalid otherwise."""
    try:
        payload = signing.loads(
            token,
            salt=SIGNING_SALT,
            max_age=SIGNED_URL_MAX_TTL,
        )
    except signing.SignatureExpired as exc:
        raise SignatureInvalid("This URL has expired.", details={"reason": "expired"}) from exc
    except signing.BadSignature as exc:
        raise SignatureInvalid(
            "The signature of this URL is invalid.", details={"reason": "invalid"}
        ) from exc
    if not isinstance(payload, dict) or payload.get("k") != key or payload.get("m") != method:
        raise SignatureInvalid(
            "This URL was not signed for this object or method.", details={"reason": "invalid"}
        )
    if not isinstance(payload.get("e"), int) or payload["e"] < time.time():
        raise SignatureInvalid("This URL has expired.", details={"reason": "expired"})
    return payload
