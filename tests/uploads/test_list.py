"""GET /api/uploads: the caller's own uploads, filtered by content_type, newest first."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import SYSTEM_USER_EMAIL, User
from tests.conftest import client_for
from uploads.models import UploadedFile

from .factories import make_upload
from .images import png_bytes
from .test_api import post_file

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def aged(upload: UploadedFile, minutes: int) -> UploadedFile:
    UploadedFile.objects.filter(pk=upload.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
    return upload


def test_a_user_sees_only_their_own_uploads_newest_first(make_user, settings):
    # given: uploads of two users and an anonymous one (owned by the system user)
    settings.ANONYMOUS_UPLOADS = True
    alice, bob = make_user(), make_user()
    old = aged(make_upload(owner=alice), 5)
    new = aged(make_upload(owner=alice), 1)
    bobs = make_upload(owner=bob)
    assert post_file(APIClient(), png_bytes(), "anon.png", "image/png").status_code == 201
    assert User.objects.get(email=SYSTEM_USER_EMAIL).uploaded_files.exists()

    # when
    alices = client_for(alice).get("/api/uploads")

    # then
    assert ids(alices) == [str(new.id), str(old.id)]
    assert ids(client_for(bob).get("/api/uploads")) == [str(bobs.id)]
    first = alices.json()["results"][0]
    assert first["url"]
    assert first["file_url"].endswith(f"/api/files/{new.id}")


def test_content_type_filter(user):
    jpeg = aged(make_upload(owner=user), 2)
    png = make_upload(owner=user, data=png_bytes(), filename="a.png")
    client = client_for(user)

    assert ids(client.get("/api/uploads?content_type=image/png")) == [str(png.id)]
    assert ids(client.get("/api/uploads?content_type=image%2Fjpeg")) == [str(jpeg.id)]
    assert ids(client.get("/api/uploads?content_type=image/webp")) == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("content_type=text/plain", "content_type"),
        ("content_type=", "content_type"),
        ("type=image/png", "type"),
        ("limit=1.5", "limit"),
    ],
)
def test_bad_filters_are_400(auth_client, query, parameter):
    response = auth_client.get(f"/api/uploads?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert parameter in response.json()["details"]


def test_listing_needs_a_token_even_with_anonymous_uploads(api_client, settings):
    settings.ANONYMOUS_UPLOADS = True

    assert api_client.get("/api/uploads").status_code == 401


def test_pages_follow_next(user):
    uploads = {str(aged(make_upload(owner=user), i).id) for i in range(3)}
    client = client_for(user)

    first = client.get("/api/uploads?limit=2")
    second = client.get(first.json()["next"])

    assert len(ids(first)) == 2
    assert set(ids(first)) | set(ids(second)) == uploads
    assert second.json()["next"] is None


def test_listing_does_not_count_against_the_upload_rate(auth_client, settings):
    # given: one upload an hour
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "uploads": "1/hour",
        },
    }

    # when: lists before and after the one upload
    listed = [auth_client.get("/api/uploads") for _ in range(3)]
    uploaded = post_file(auth_client, png_bytes(), "a.png", "image/png")

    # then: the lists ran under the default user rate, the upload under its own
    assert [r.status_code for r in listed] == [200, 200, 200]
    assert all('"uploads"' not in r["RateLimit-Policy"] for r in listed)
    assert uploaded.status_code == 201
    assert '"uploads";q=1;w=3600' in uploaded["RateLimit-Policy"]
