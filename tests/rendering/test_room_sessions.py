"""Room sessions: signed upload, confirm (normalize, prep count), cleaned image, legacy URLs."""

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from PIL import Image

from rendering.models import RoomSession, UsageDaily
from tests.conftest import client_for
from tests.rendering.factories import (
    RoomSessionFactory,
    ShopFactory,
    image_bytes,
    product_upload,
    put_room_photo,
)
from uploads.storage import SIGNING_SALT, storage_exists, storage_open

pytestmark = pytest.mark.django_db

ONE_HOUR_S = 3600


def url_expiry_s(url: str) -> float:
    """Seconds until a local signed URL expires, read from its signed token."""
    token = parse_qs(urlsplit(url).query)["token"][0]
    return signing.loads(token, salt=SIGNING_SALT)["e"] - time.time()


def get_bytes(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content[:200]
    return b"".join(response.streaming_content)


def test_create_answers_a_signed_put_for_the_session_room_key(auth_client, user):
    shop = ShopFactory(owner=user)

    response = auth_client.post(f"/api/shops/{shop.pk}/room-sessions")

    assert response.status_code == 201, response.json()
    body = response.json()
    upload = body["upload"]
    assert upload["key"] == f"rooms/{shop.pk}/{body['id']}/room.jpg"
    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "image/jpeg"}
    assert 0 < url_expiry_s(upload["url"]) <= ONE_HOUR_S


def test_upload_then_confirm_normalizes_counts_prep_and_signs_a_fresh_url(
    auth_client, api_client, user, settings
):
    # given: a room photo PUT to the session's upload URL
    settings.ROOM_IMAGE_MAX_SIDE = 120
    shop = ShopFactory(owner=user)
    created = auth_client.post(f"/api/shops/{shop.pk}/room-sessions").json()
    upload = created["upload"]
    put = api_client.put(
        upload["url"], data=image_bytes((480, 240)), content_type=upload["headers"]["Content-Type"]
    )
    assert put.status_code == 200

    # when
    response = auth_client.post(f"/api/room-sessions/{created['id']}/confirm")

    # then: normalized, counted as one prep, behind a fresh signed URL
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == created["id"]
    assert body["original_image_key"] == f"rooms/{shop.pk}/{created['id']}/original.jpg"
    assert 0 < url_expiry_s(body["original_image_url"]) <= ONE_HOUR_S
    image = Image.open(io.BytesIO(get_bytes(api_client, body["original_image_url"])))
    assert (image.format, image.size) == ("JPEG", (120, 60))
    assert UsageDaily.objects.get(shop=shop).prep_renders == 1

    # Confirming again changes nothing and counts nothing; the URL is signed anew.
    again = auth_client.post(f"/api/room-sessions/{created['id']}/confirm").json()
    assert again["original_image_key"] == body["original_image_key"]
    assert UsageDaily.objects.get(shop=shop).prep_renders == 1

    # The database holds keys only, never a signed URL.
    session = RoomSession.objects.get(pk=created["id"])
    stored = [str(getattr(session, f.attname)) for f in RoomSession._meta.concrete_fields]
    assert not any("token=" in value or "Signature" in value for value in stored)


def test_confirm_without_an_upload_is_409_image_missing(auth_client, user):
    session = RoomSessionFactory(shop=ShopFactory(owner=user))

    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    assert response.status_code == 409
    assert response.json()["error"] == "image_missing"
    assert not UsageDaily.objects.filter(prep_renders__gt=0).exists()


def test_confirm_of_bytes_that_are_not_an_image_is_400(auth_client, user):
    session = RoomSessionFactory(shop=ShopFactory(owner=user))
    put_room_photo(session, b"definitely not a jpeg")

    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    assert response.status_code == 400
    assert "not a readable image" in response.json()["message"]


def test_oversized_room_photo_is_413_before_it_is_read(auth_client, user, settings):
    session = RoomSessionFactory(shop=ShopFactory(owner=user))
    put_room_photo(session, image_bytes((64, 64)))
    settings.MAX_UPLOAD_BYTES = 100

    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"


def test_room_photo_in_a_format_uploads_refuse_is_400(auth_client, user):
    session = RoomSessionFactory(shop=ShopFactory(owner=user))
    put_room_photo(session, image_bytes((64, 64), fmt="BMP"))

    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    assert response.status_code == 400
    assert RoomSession.objects.get(pk=session.pk).original_room_image_key == ""


def test_legacy_session_gets_its_keys_from_the_urls_on_first_use(auth_client, api_client, user):
    # given: a legacy session that stored a signed URL, not a key
    shop = ShopFactory(owner=user)
    session = RoomSessionFactory(shop=shop)
    key = put_room_photo(session, image_bytes((64, 32)))
    session.legacy_original_image_url = (
        f"https://storage.googleapis.com/legacy-bucket/{key}"
        "?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=86400&X-Goog-Signature=abc"
    )
    session.save()

    # when
    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    # then
    assert response.status_code == 200, response.json()
    assert response.json()["original_image_key"] == key
    session.refresh_from_db()
    assert session.original_room_image_key == key
    assert 0 < url_expiry_s(response.json()["original_image_url"]) <= ONE_HOUR_S
    assert get_bytes(api_client, response.json()["original_image_url"])[:2] == b"\xff\xd8"


def test_legacy_session_whose_object_is_gone_is_409(auth_client, user):
    session = RoomSessionFactory(
        shop=ShopFactory(owner=user),
        legacy_original_image_url="https://storage.googleapis.com/b/rooms/x/y/room.jpg?sig=1",
    )

    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    assert response.status_code == 409
    assert response.json()["error"] == "image_missing"


def test_cleaned_image_is_copied_under_the_session_and_counts_a_cleanup(auth_client, user):
    # given: an uploaded PNG of the user
    shop = ShopFactory(owner=user)
    session = RoomSessionFactory(shop=shop)
    upload = product_upload(user, image_bytes((50, 50), (0, 255, 0), fmt="PNG"), "clean.png")

    # when
    response = auth_client.post(
        f"/api/room-sessions/{session.pk}/cleaned", {"upload_id": str(upload.pk)}, format="json"
    )

    # then: a JPEG copy under the session, counted as one cleanup
    assert response.status_code == 200, response.json()
    key = response.json()["cleaned_image_key"]
    assert key.startswith(f"rooms/{shop.pk}/{session.pk}/cleaned-")
    assert key.endswith(".jpg")
    assert storage_exists(key)
    with storage_open(key) as handle:
        assert Image.open(handle).format == "JPEG"
    assert 0 < url_expiry_s(response.json()["cleaned_image_url"]) <= ONE_HOUR_S
    assert UsageDaily.objects.get(shop=shop).cleanup_renders == 1


def test_someone_elses_session_shop_or_upload_is_404(auth_client, user, make_user):
    other = make_user()
    theirs = RoomSessionFactory(shop=ShopFactory(owner=other))
    mine = RoomSessionFactory(shop=ShopFactory(owner=user))
    their_upload = product_upload(other)

    assert auth_client.post(f"/api/room-sessions/{theirs.pk}/confirm").status_code == 404
    assert auth_client.post(f"/api/shops/{theirs.shop_id}/room-sessions").status_code == 404
    assert auth_client.get(f"/api/shops/{theirs.shop_id}/usage").status_code == 404
    response = auth_client.post(
        f"/api/room-sessions/{mine.pk}/cleaned", {"upload_id": str(their_upload.pk)}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_room_session_endpoints_need_a_token(api_client, user):
    session = RoomSessionFactory(shop=ShopFactory(owner=user))
    assert api_client.post(f"/api/room-sessions/{session.pk}/confirm").status_code == 401
    assert api_client.post(f"/api/shops/{session.shop_id}/room-sessions").status_code == 401


def test_other_users_token_cannot_reach_the_session(user, make_user):
    session = RoomSessionFactory(shop=ShopFactory(owner=user))
    response = client_for(make_user()).post(f"/api/room-sessions/{session.pk}/confirm")
    assert response.status_code == 404
