"""POST /api/uploads, GET and DELETE /api/files/{id} on local storage."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import SYSTEM_USER_EMAIL
from tests.conftest import client_for
from uploads.models import UploadedFile
from uploads.storage import storage_delete, storage_exists

from .factories import make_upload
from .images import jpeg_bytes, png_bytes, webp_bytes

pytestmark = pytest.mark.django_db


def post_file(client, data: bytes, name: str = "photo.jpg", content_type="image/jpeg", **extra):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post("/api/uploads", {"file": upload}, format="multipart", **extra)


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("data", "name", "content_type", "size"),
    [
        (jpeg_bytes(64, 48), "holiday.jpg", "image/jpeg", (64, 48)),
        (jpeg_bytes(1, 1), "dot.jpg", "image/jpeg", (1, 1)),  # was a 500 (API fuzzer)
        (png_bytes(20, 10), "icon.png", "image/png", (20, 10)),
        (webp_bytes(40, 30), "pic.webp", "image/webp", (40, 30)),
    ],
)
def test_upload_records_what_the_bytes_are(auth_client, user, data, name, content_type, size):
    # when: the client claims another content type
    response = post_file(auth_client, data, name, content_type="application/octet-stream")

    # then: the type and size come from the bytes, and the URL serves them
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filename"] == name
    assert body["content_type"] == content_type
    assert body["size_bytes"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["width"], body["height"]) == size
    assert body["created_at"]
    upload = UploadedFile.objects.get(id=body["id"])
    assert upload.owner == user
    assert upload.key.startswith(f"uploads/{user.id}/")
    assert storage_exists(upload.key)
    signed = auth_client.get(body["url"])
    assert signed.status_code == 200
    assert b"".join(signed.streaming_content) == data


def test_filename_is_sanitized(auth_client):
    response = post_file(auth_client, jpeg_bytes(), name="../../etc/pass<x>;.jpg")
    assert response.status_code == 201
    assert response.json()["filename"] == "pass_x_.jpg"


def test_upload_needs_a_file(auth_client):
    response = auth_client.post("/api/uploads", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "file" in response.json()["details"]


def test_upload_refuses_unknown_fields(auth_client):
    response = auth_client.post("/api/uploads", {"other": "x"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["details"] == {"other": ["Unknown field."]}


def test_upload_needs_auth_unless_anonymous_uploads(api_client, settings):
    settings.ANONYMOUS_UPLOADS = False
    response = post_file(api_client, jpeg_bytes())
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert UploadedFile.objects.count() == 0


def test_get_file_streams_bytes_with_headers(auth_client):
    # given
    data = png_bytes()
    file_id = post_file(auth_client, data, "résumé photo.png").json()["id"]

    # when
    response = auth_client.get(f"/api/files/{file_id}")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(data))
    assert response["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response["Content-Disposition"] == (
        "inline; filename*=utf-8''r%C3%A9sum%C3%A9%20photo.png"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == data

    # when: the client sends the ETag back
    not_modified = auth_client.get(f"/api/files/{file_id}", HTTP_IF_NONE_MATCH=response["ETag"])
    assert not_modified.status_code == 304
    assert not_modified.content == b""


def test_files_are_visible_to_owner_and_staff_only(user, make_user, staff_client, api_client):
    upload = make_upload(owner=user)
    other = client_for(make_user())

    assert client_for(user).get(f"/api/files/{upload.id}").status_code == 200
    assert staff_client.get(f"/api/files/{upload.id}").status_code == 200
    for client in (other, api_client):
        response = client.get(f"/api/files/{upload.id}")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    assert api_client.get("/api/files/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api_client.get("/api/files/not-a-uuid").status_code == 404


def test_delete_removes_row_and_object(user, make_user):
    upload = make_upload(owner=user)
    other = client_for(make_user())

    assert other.delete(f"/api/files/{upload.id}").status_code == 404
    assert APIClient().delete(f"/api/files/{upload.id}").status_code == 404
    assert storage_exists(upload.key)

    owner = client_for(user)
    assert owner.delete(f"/api/files/{upload.id}").status_code == 204
    assert not UploadedFile.objects.filter(id=upload.id).exists()
    assert not storage_exists(upload.key)
    assert owner.get(f"/api/files/{upload.id}").status_code == 404
    assert owner.delete(f"/api/files/{upload.id}").status_code == 404


def test_file_whose_object_vanished_is_404_not_500(user):
    upload = make_upload(owner=user)
    from uploads.storage import storage_delete

    storage_delete(upload.key)
    response = client_for(user).get(f"/api/files/{upload.id}")
    assert response.status_code == 404


def test_upload_rate_limit(auth_client, settings):
    # given: 2 uploads a minute
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "uploads": "2/min",
        },
    }
    # when
    statuses = [post_file(auth_client, jpeg_bytes()).status_code for _ in range(3)]
    # then
    assert statuses == [201, 201, 429]

    refused = post_file(auth_client, jpeg_bytes())
    assert refused.json()["error"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert refused["X-RateLimit-Limit"] == "2"
    assert UploadedFile.objects.count() == 2


def test_anonymous_uploads_are_limited_per_ip(api_client, auth_client, settings):
    # given: anonymous uploads, 1 a minute
    settings.ANONYMOUS_UPLOADS = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "uploads": "1/min",
        },
    }
    # then: per IP, and a user's own limit is apart
    assert post_file(api_client, jpeg_bytes()).status_code == 201
    assert post_file(api_client, jpeg_bytes()).status_code == 429
    other_ip = post_file(api_client, jpeg_bytes(), REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 201
    assert post_file(auth_client, jpeg_bytes()).status_code == 201
    system_files = UploadedFile.objects.filter(owner__email=SYSTEM_USER_EMAIL)
    assert system_files.count() == 2


def test_admin_lists_uploads_with_signed_thumbnails(client, user, make_user):
    # given
    upload = make_upload(owner=user)
    admin = make_user(is_staff=True, is_superuser=True)
    client.force_login(admin)

    # when
    changelist = client.get("/admin/uploads/uploadedfile/")
    # then: a thumbnail through a signed URL that serves the file
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert f"/api/storage/{upload.key}?token=" in html
    assert upload.sha256[:12] in html

    detail = client.get(f"/admin/uploads/uploadedfile/{upload.id}/change/")
    assert detail.status_code == 200
    thumbnail = html.split(f"/api/storage/{upload.key}?token=")[1].split('"')[0]
    served = client.get(f"/api/storage/{upload.key}?token={thumbnail}".replace("&amp;", "&"))
    assert served.status_code == 200


def test_admin_shows_missing_for_an_upload_whose_object_is_gone(client, user, make_user):
    # given: a row whose stored object was removed behind its back
    upload = make_upload(owner=user)
    storage_delete(upload.key)
    client.force_login(make_user(is_staff=True, is_superuser=True))

    # when
    html = client.get("/admin/uploads/uploadedfile/").content.decode()

    # then: a placeholder, not an <img> the browser would draw broken
    assert "atelier-missing" in html
    assert f"/api/storage/{upload.key}?token=" not in html


def test_admin_delete_removes_the_object(client, user, make_user):
    upload = make_upload(owner=user)
    client.force_login(make_user(is_staff=True, is_superuser=True))
    response = client.post(
        f"/admin/uploads/uploadedfile/{upload.id}/delete/", {"post": "yes"}, follow=False
    )
    assert response.status_code == 302
    assert not UploadedFile.objects.filter(id=upload.id).exists()
    assert not storage_exists(upload.key)
