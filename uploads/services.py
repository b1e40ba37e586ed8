"""Uploads: validate, store, record, delete; the anonymous-uploads owner and its cleanup."""

import functools
import hashlib
import logging
import re
import tempfile
import unicodedata
import uuid
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import SYSTEM_USER_EMAIL, User
from accounts.services.auth import system_user_get_or_create
from config.cleanup import in_batches
from config.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from config.transactions import on_rollback
from uploads.handlers import too_large
from uploads.models import UploadedFile
from uploads.selectors import upload_get_for_user
from uploads.storage import (
    UPLOADS_PREFIX,
    storage_delete,
    storage_listdir,
    storage_modified_at,
    storage_save,
    upload_key,
)
from uploads.validation import sniff_image

logger = logging.getLogger(__name__)

FILENAME_MAX_CHARS = 255
HASH_CHUNK_BYTES = 1024 * 1024
STREAM_CHUNK_BYTES = 64 * 1024
CLEANUP_BATCH = 500
_UNSAFE_FILENAME_CHARS = re.compile(r"[^\w.\- ()]+")


class Readable(Protocol):
    """A body read in chunks (an HttpRequest, a file)."""

    def read(self, size: int = ..., /) -> bytes: ...


def sanitize_filename(name: str, *, ext: str) -> str:
    """A display name safe in headers and on any filesystem; falls back to upload.<ext>."""
    name = unicodedata.normalize("NFKC", name or "")
    name = PurePosixPath(name.replace("\\", "/")).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_FILENAME_CHARS.sub("_", name).strip(" .")
    if not name:
        return f"upload.{ext}"
    if len(name) > FILENAME_MAX_CHARS:
        stem, dot, suffix = name.rpartition(".")
        suffix = suffix[:16] if dot else ""
        keep = FILENAME_MAX_CHARS - len(suffix) - len(dot)
        name = (stem if dot else name)[:keep] + dot + suffix
    return name


def _measure(fileobj: File) -> tuple[int, str]:
    """(size in bytes, sha256 hex) read in chunks, never the whole file in memory."""
    digest = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    while chunk := fileobj.read(HASH_CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return size, digest.hexdigest()


def upload_create(*, owner: User, fileobj: File, filename: str) -> UploadedFile:
    """Validate `fileobj` by its bytes, store it under a fresh key and record it.

    Nothing is left behind on failure: the object is written only after validation, and
    deleted again if the row cannot be inserted or, inside an outer transaction opened by
    config.transactions.atomic_with_undo (an Idempotency-Key request), if that one does not
    commit. A row never exists without its object.
    """
    size, sha256 = _measure(fileobj)
    if size > settings.MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            "The file is too large.", details={"max_bytes": settings.MAX_UPLOAD_BYTES}
        )
    if size == 0:
        raise UnsupportedMediaType("The file is empty.", details={"reason": "empty"})
    info = sniff_image(fileobj)
    key = storage_save(upload_key(owner.pk, info.ext), fileobj, content_type=info.content_type)
    try:
        with transaction.atomic():
            upload = UploadedFile.objects.create(
                owner=owner,
                key=key,
                filename=sanitize_filename(filename, ext=info.ext),
                content_type=info.content_type,
                size_bytes=size,
                sha256=sha256,
                width=info.width,
                height=info.height,
            )
    except BaseException:
        storage_delete(key)
        raise
    on_rollback(functools.partial(storage_delete, key))
    return upload


def upload_create_anonymous(*, fileobj: File, filename: str) -> UploadedFile:
    """An upload without an account, owned by the system user (ANONYMOUS_UPLOADS)."""
    return upload_create(owner=system_user_get_or_create(), fileobj=fileobj, filename=filename)


def upload_delete(*, user: User | AnonymousUser, upload_id: uuid.UUID | str) -> None:
    """Delete a file (its owner, or staff): row and object, for every instance at once.
    Anonymous callers own nothing (a system-user file is still not theirs): NotFound."""
    if not user.is_authenticated:
        raise NotFound("No such file.")
    upload = upload_get_for_user(user=user, upload_id=upload_id)
    if upload.owner_id != user.pk and not user.is_staff:
        raise Forbidden("Only the owner can delete this file.")
    upload_purge(upload=upload)


def signed_object_put(*, key: str, body: Readable, content_type: str) -> str:
    """Write the bytes read from `body` under `key`, once (the local signed-URL PUT).

    Spooled to memory, then disk, in chunks, never the whole body in memory; refused with
    413 as soon as it passes MAX_UPLOAD_BYTES and 400 validation_error when there is none. An
    existing object is never overwritten (storage_save raises StorageKeyExists).
    """
    with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as spool:
        received = 0
        while chunk := body.read(STREAM_CHUNK_BYTES):
            received += len(chunk)
            if received > settings.MAX_UPLOAD_BYTES:
                raise too_large()
            spool.write(chunk)
        if received == 0:
            raise ValidationFailed("The body is empty.", details={"body": ["The body is empty."]})
        return storage_save(key, spool, content_type=content_type)


def upload_purge(*, upload: UploadedFile) -> bool:
    """Delete the row, then its object; True if this call deleted the row.

    The row goes first so that no reader is ever handed a key whose bytes are gone; a
    crash between the two leaves an orphan object, which is only garbage.
    """
    deleted, _ = UploadedFile.objects.filter(pk=upload.pk).delete()
    if deleted:
        storage_delete(upload.key)
    return bool(deleted)


def anonymous_upload_cleanup() -> dict[str, int]:
    """Delete anonymous uploads older than ANONYMOUS_UPLOAD_RETENTION: row, then object.

    Each row is claimed by its own DELETE, committed before its object goes (so two
    concurrent cleanups never both delete, and count, the same object, and a row never
    outlives its object); a crash in between leaves an orphan object, only garbage.
    """
    cutoff = timezone.now() - settings.ANONYMOUS_UPLOAD_RETENTION
    objects = 0

    def delete_batch(batch: QuerySet[UploadedFile]) -> int:
        nonlocal objects
        rows = 0
        for pk, key in batch.values_list("pk", "key"):
            deleted, _ = UploadedFile.objects.filter(pk=pk).delete()
            if not deleted:
                continue
            rows += 1
            try:
                storage_delete(key)
                objects += 1
            except Exception:
                logger.exception("could not delete object %s of anonymous upload %s", key, pk)
        return rows

    rows, _batches = in_batches(
        UploadedFile.objects.filter(owner__email=SYSTEM_USER_EMAIL, created_at__lt=cutoff),
        delete_batch,
        batch_size=CLEANUP_BATCH,
        atomic=False,
    )
    if rows:
        logger.info("anonymous upload cleanup: %d rows, %d objects deleted", rows, objects)
    return {"anonymous_uploads_deleted": rows, "anonymous_objects_deleted": objects}


def upload_orphans_sweep(*, older_than: timedelta, delete: bool) -> dict[str, int]:
    """Find (and with `delete`, remove) objects under uploads/ that no row references and
    that are older than `older_than`: what a process killed between writing an upload's
    object and committing its row leaves behind. Younger objects may belong to an upload
    still in flight and are never touched. Lists the whole prefix: run it by hand or from
    cron (`manage.py upload_orphans`), not on every beat tick."""
    cutoff = timezone.now() - older_than
    found = deleted = 0
    owners, _ = storage_listdir(UPLOADS_PREFIX)
    for owner in owners:
        _, names = storage_listdir(f"{UPLOADS_PREFIX}/{owner}")
        for start in range(0, len(names), CLEANUP_BATCH):
            keys = [
                f"{UPLOADS_PREFIX}/{owner}/{name}" for name in names[start : start + CLEANUP_BATCH]
            ]
            known = set(UploadedFile.objects.filter(key__in=keys).values_list("key", flat=True))
            for key in keys:
                if key in known or storage_modified_at(key) >= cutoff:
                    continue
                found += 1
                if delete:
                    storage_delete(key)
                    deleted += 1
    if found:
        logger.info("upload orphans: %d found, %d deleted", found, deleted)
    return {"orphans_found": found, "orphans_deleted": deleted}
