"""Factories and image helpers for rendering tests."""

import io

import factory
from django.core.files.base import ContentFile
from django.test import TestCase
from PIL import Image

from rendering.keys import room_upload_key
from rendering.models import RoomSession, Shop
from rendering.services.room_sessions import room_session_confirm
from uploads.services import upload_create
from uploads.storage import storage_save


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    daily_quota = 5


class RoomSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoomSession

    shop = factory.SubFactory(ShopFactory)


def image_bytes(size=(200, 100), color=(0, 0, 255), *, mode="RGB", fmt="JPEG", exif=None):
    image = Image.new(mode, size, color)
    out = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def product_png(size=(40, 40), color=(255, 0, 0, 255), *, transparent_right_half=False):
    """An opaque square, or with a fully transparent right half."""
    image = Image.new("RGBA", size, color)
    if transparent_right_half:
        image.paste((0, 0, 0, 0), (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def product_upload(owner, data: bytes | None = None, filename="product.png"):
    return upload_create(owner=owner, fileobj=io.BytesIO(data or product_png()), filename=filename)


def put_room_photo(session: RoomSession, data: bytes) -> str:
    """What the client's signed PUT does: write the raw photo at the session's upload key."""
    key = room_upload_key(shop_id=session.shop_id, session_id=session.pk)
    return storage_save(key, ContentFile(data), content_type="image/jpeg")


def confirmed_session(shop: Shop, *, size=(200, 100), color=(0, 0, 255)) -> RoomSession:
    session = RoomSessionFactory(shop=shop)
    put_room_photo(session, image_bytes(size, color))
    return room_session_confirm(session=session)


def post_render(client, body):
    """POST /api/renders and publish what it enqueued: the test's transaction never commits,
    so the on-commit publish runs when the request is done, as a real commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/api/renders", body, format="json")
