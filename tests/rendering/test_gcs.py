"""The rendering flow on the GCS backend (a real gcp-storage-emulator): V4 signed PUT and
GET URLs of at most an hour, keys only in the database, legacy URLs backfilled."""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image

from rendering.models import RenderJob, RoomSession, UsageDaily
from tests.rendering.factories import (
    RoomSessionFactory,
    ShopFactory,
    image_bytes,
    post_render,
    product_png,
    product_upload,
    put_room_photo,
)
from uploads.storage import is_cloud_storage, storage_delete

pytestmark = pytest.mark.django_db

ONE_HOUR_S = 3600


def expires_s(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Goog-Expires"][0])


def no_signed_urls_in(row) -> bool:
    values = [str(getattr(row, field.attname)) for field in row._meta.concrete_fields]
    return not any("X-Goog" in value or "token=" in value for value in values)


def test_room_upload_confirm_render_and_read_back_through_signed_urls(bucket, auth_client, user):
    # given: a shop on GCS
    assert is_cloud_storage()
    shop = ShopFactory(owner=user, daily_quota=2)

    # when: the client PUTs a room photo to its signed URL
    created = auth_client.post(f"/api/shops/{shop.pk}/room-sessions").json()
    upload = created["upload"]
    assert urlsplit(upload["url"]).path == f"/{bucket.name}/{upload['key']}"
    assert 0 < expires_s(upload["url"]) <= ONE_HOUR_S
    put = requests.put(
        upload["url"],
        data=image_bytes((200, 100), (0, 0, 255)),
        headers=upload["headers"],
        timeout=10,
    )
    assert put.status_code == 200

    # when: the session is confirmed
    confirmed = auth_client.post(f"/api/room-sessions/{created['id']}/confirm")
    # then: a freshly signed URL of the normalized original
    assert confirmed.status_code == 200, confirmed.json()
    original_url = confirmed.json()["original_image_url"]
    assert 0 < expires_s(original_url) <= ONE_HOUR_S
    original = Image.open(io.BytesIO(requests.get(original_url, timeout=10).content))
    assert (original.format, original.size) == ("JPEG", (200, 100))

    # when: a render is requested
    product = product_upload(user, product_png((40, 40), (255, 0, 0, 255)))
    response = post_render(
        auth_client,
        {
            "shop_id": str(shop.pk),
            "room_session_id": created["id"],
            "product_image_id": str(product.pk),
            "placement": {"x": 0.25, "y": 0.5, "scale": 0.2},
        },
    )
    assert response.status_code == 202, response.json()

    # then: its result is in the bucket, behind a signed URL of at most an hour
    detail = auth_client.get(f"/api/renders/{response.json()['id']}").json()
    assert detail["status"] == "completed", detail
    result_url = detail["result_image_url"]
    assert urlsplit(result_url).path == f"/{bucket.name}/renders/{shop.pk}/{detail['id']}.png"
    assert 0 < expires_s(result_url) <= ONE_HOUR_S
    result = Image.open(io.BytesIO(requests.get(result_url, timeout=10).content)).convert("RGB")
    red, _green, blue = result.getpixel((50, 50))
    assert red > 240
    assert blue < 15
    assert result.getpixel((150, 50))[2] > 240

    # then: counted once, and the database holds keys only
    usage = UsageDaily.objects.get(shop=shop)
    assert (usage.composite_renders, usage.reserved, usage.prep_renders) == (1, 0, 1)
    assert no_signed_urls_in(RoomSession.objects.get(pk=created["id"]))
    assert no_signed_urls_in(RenderJob.objects.get(pk=detail["id"]))


def test_legacy_gcs_url_is_turned_into_a_key_on_first_use(bucket, auth_client, user):
    # given: a legacy session that stored a signed URL, not a key
    shop = ShopFactory(owner=user)
    session = RoomSessionFactory(shop=shop)
    key = put_room_photo(session, image_bytes((80, 60)))
    legacy_url = (
        f"https://storage.googleapis.com/{bucket.name}/{key}"
        "?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=86400&X-Goog-Signature=00ff"
    )
    RoomSession.objects.filter(pk=session.pk).update(legacy_original_image_url=legacy_url)

    # when
    response = auth_client.post(f"/api/room-sessions/{session.pk}/confirm")

    # then: the key is taken from the URL and a fresh URL is signed
    assert response.status_code == 200, response.json()
    assert response.json()["original_image_key"] == key
    assert RoomSession.objects.get(pk=session.pk).original_room_image_key == key
    fresh = response.json()["original_image_url"]
    assert 0 < expires_s(fresh) <= ONE_HOUR_S
    assert requests.get(fresh, timeout=10).status_code == 200


def test_missing_object_in_the_bucket_fails_the_render_and_refunds(bucket, auth_client, user):
    # given: a product image whose object is gone from the bucket; when: it is rendered
    shop = ShopFactory(owner=user, daily_quota=1)
    session = RoomSessionFactory(shop=shop)
    put_room_photo(session, image_bytes((80, 60)))
    assert auth_client.post(f"/api/room-sessions/{session.pk}/confirm").status_code == 200
    product = product_upload(user, product_png())
    storage_delete(product.key)

    response = post_render(
        auth_client,
        {
            "shop_id": str(shop.pk),
            "room_session_id": str(session.pk),
            "product_image_id": str(product.pk),
            "placement": {"x": 0.5, "y": 0.5, "scale": 0.5},
        },
    )

    # then: the render fails readably and its slot is refunded
    detail = auth_client.get(f"/api/renders/{response.json()['id']}").json()
    assert detail["status"] == "failed"
    assert detail["error"] == "The product image is missing from storage."
    usage = UsageDaily.objects.get(shop=shop)
    assert (usage.composite_renders, usage.reserved) == (0, 0)
