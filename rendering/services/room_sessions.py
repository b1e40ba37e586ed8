"""Room sessions: the room photo a shop renders products into, and its cleaned version."""

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from config.errors import (
    Conflict,
    PayloadTooLarge,
    ValidationFailed,
)
from rendering import compositor
from rendering.keys import (
    legacy_url_to_key,
    room_cleaned_key,
    room_original_key,
    room_upload_key,
)
from rendering.models import RoomSession, Shop
from rendering.objects import object_read
from rendering.quota import quota_day, usage_count
from uploads.selectors import upload_get_own
from uploads.storage import (
    storage_delete,
    storage_exists,
    storage_save,
    storage_size,
)


def _object_replace(key: str, data: bytes, *, content_type: str) -> str:
    """Save under `key`, removing a leftover of an earlier attempt that never committed.

    Only for keys the caller owns exclusively (a locked row), since objects are otherwise
    never overwritten.
    """
    if storage_exists(key):
        storage_delete(key)
    return storage_save(key, ContentFile(data), content_type=content_type)


def room_session_create(*, shop: Shop, created_by: User) -> RoomSession:
    """A new session; the client uploads the room photo to its upload key."""
    return RoomSession.objects.create(shop=shop, created_by=created_by)


def room_session_backfill_keys(*, session: RoomSession) -> RoomSession:
    """Give a legacy session (URLs only) its keys, derived from the URLs; stored once.

    Idempotent and safe to race: each key is written only while it is still empty.
    """
    pairs = (
        ("original_room_image_key", session.legacy_original_image_url),
        ("cleaned_room_image_key", session.legacy_cleaned_image_url),
    )
    for field, url in pairs:
        if getattr(session, field) or not url:
            continue
        key = legacy_url_to_key(url)
        if key is None or not storage_exists(key):
            continue
        updated = RoomSession.objects.filter(pk=session.pk, **{field: ""}).update(**{field: key})
        if updated and field == "original_room_image_key":
            RoomSession.objects.filter(pk=session.pk, confirmed_at__isnull=True).update(
                confirmed_at=timezone.now()
            )
    session.refresh_from_db()
    return session


def room_session_confirm(*, session: RoomSession) -> RoomSession:
    """Take the uploaded room photo: normalize it (EXIF orientation, longest side at most
    ROOM_IMAGE_MAX_SIDE, JPEG) and count one prep render. A second confirm changes nothing.

    409 image_missing when nothing was uploaded; 400 when the upload is not an image.
    """
    if not session.original_room_image_key and session.legacy_original_image_url:
        session = room_session_backfill_keys(session=session)
        if session.original_room_image_key:
            return session
    with transaction.atomic():
        # The row lock makes concurrent confirms of one session take turns.
        locked = RoomSession.objects.select_for_update().select_related("shop").get(pk=session.pk)
        if locked.original_room_image_key:
            return locked
        upload_key = room_upload_key(shop_id=locked.shop_id, session_id=locked.pk)
        if not storage_exists(upload_key):
            raise Conflict(
                "Nothing was uploaded for this room session yet.",
                code="image_missing",
                details={"key": upload_key},
            )
        # A cloud signed PUT does not limit the size; check before reading it into memory.
        if storage_size(upload_key) > settings.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(
                "The room photo is too large.", details={"max_bytes": settings.MAX_UPLOAD_BYTES}
            )
        try:
            raw = object_read(upload_key, what="room image")
            jpeg, width, height = compositor.room_normalize(raw)
        except compositor.ImageInputError as exc:
            raise ValidationFailed(str(exc), details={"key": upload_key}) from exc
        locked.original_room_image_key = _object_replace(
            room_original_key(shop_id=locked.shop_id, session_id=locked.pk),
            jpeg,
            content_type="image/jpeg",
        )
        locked.width, locked.height = width, height
        locked.confirmed_at = timezone.now()
        locked.save(update_fields=["original_room_image_key", "width", "height", "confirmed_at"])
        usage_count(shop_id=locked.shop_id, day=quota_day(shop=locked.shop), counter="prep_renders")
    return locked


def room_session_set_cleaned(
    *, session: RoomSession, user: User, upload_id: uuid.UUID | str
) -> RoomSession:
    """Use the caller's upload as the session's cleaned room image; counts one cleanup.

    The upload is normalized and copied under the session's own key, so the session
    keeps working when the upload is deleted.
    """
    upload = upload_get_own(user=user, upload_id=upload_id)
    try:
        raw = object_read(upload.key, what="cleaned image")
        jpeg, _width, _height = compositor.room_normalize(raw)
    except compositor.ImageInputError as exc:
        raise ValidationFailed(str(exc), details={"upload_id": str(upload_id)}) from exc
    key = storage_save(
        room_cleaned_key(shop_id=session.shop_id, session_id=session.pk),
        ContentFile(jpeg),
        content_type="image/jpeg",
    )
    with transaction.atomic():
        RoomSession.objects.filter(pk=session.pk).update(cleaned_room_image_key=key)
        usage_count(
            shop_id=session.shop_id, day=quota_day(shop=session.shop), counter="cleanup_renders"
        )
    session.refresh_from_db()
    return session
