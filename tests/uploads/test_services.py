"""Upload services: filenames, the anonymous owner, cleanup, and nothing left on failure."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.services.auth import system_user_get_or_create
from config.cleanup import cleanup_run
from uploads.models import UploadedFile
from uploads.services import (
    anonymous_upload_cleanup,
    sanitize_filename,
    upload_create,
    upload_create_anonymous,
)
from uploads.storage import storage_exists

from .factories import make_upload
from .images import jpeg_bytes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("C:\\Users\\me\\My Photo (1).jpg", "My Photo (1).jpg"),
        ("../../etc/passwd", "passwd"),
        ('a"b\r\nc\x00d.png', "a_bcd.png"),
        ("...", "upload.jpg"),
        ("", "upload.jpg"),
        ("\uff46\uff55\uff4c\uff4c.jpg", "full.jpg"),
        ("x" * 300 + ".jpeg", "x" * 250 + ".jpeg"),
    ],
)
def test_sanitize_filename(raw, expected):
    assert sanitize_filename(raw, ext="jpg") == expected


@pytest.mark.django_db
def test_system_user_is_idempotent_inactive_and_cannot_log_in(api_client):
    first = system_user_get_or_create()
    second = system_user_get_or_create()

    assert first.pk == second.pk
    assert User.objects.filter(pk=first.pk).count() == 1
    assert not first.is_active
    assert not first.is_staff
    assert not first.has_usable_password()
    response = api_client.post(
        "/api/users/login", {"email": first.email, "password": ""}, format="json"
    )
    assert response.status_code in {400, 401}


@pytest.mark.django_db
def test_anonymous_upload_is_owned_by_system_user_and_reachable_by_id(api_client, settings):
    # given
    settings.ANONYMOUS_UPLOADS = True
    from django.core.files.uploadedfile import SimpleUploadedFile

    # when: an anonymous client uploads
    response = api_client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("a.jpg", jpeg_bytes(), "image/jpeg")},
        format="multipart",
    )
    # then: the system user owns it; anyone can read it by id, nobody delete it
    assert response.status_code == 201
    upload = UploadedFile.objects.get(id=response.json()["id"])
    assert upload.owner.email == system_user_get_or_create().email

    assert api_client.get(f"/api/files/{upload.id}").status_code == 200
    # Reachable is not deletable: nobody owns it but the system.
    assert api_client.delete(f"/api/files/{upload.id}").status_code == 404
    assert storage_exists(upload.key)


@pytest.mark.django_db
def test_anonymous_cleanup_deletes_old_rows_and_objects_only(user, settings):
    # given: an old and a fresh anonymous upload, and an old one of a user
    settings.ANONYMOUS_UPLOAD_RETENTION = timedelta(hours=24)
    old = upload_create_anonymous(fileobj=io.BytesIO(jpeg_bytes()), filename="old.jpg")
    fresh = upload_create_anonymous(fileobj=io.BytesIO(jpeg_bytes()), filename="new.jpg")
    users_old = make_upload(owner=user)
    past = timezone.now() - timedelta(hours=25)
    UploadedFile.objects.filter(pk__in=[old.pk, users_old.pk]).update(created_at=past)

    # when: the cleanup runs through the registry, as beat and `manage.py cleanup_expired` do
    assert cleanup_run(name="anonymous_uploads") == {
        "anonymous_uploads_deleted": 1,
        "anonymous_objects_deleted": 1,
    }
    # then: only the old anonymous row and object are gone
    assert not UploadedFile.objects.filter(pk=old.pk).exists()
    assert not storage_exists(old.key)
    for kept in (fresh, users_old):
        assert UploadedFile.objects.filter(pk=kept.pk).exists()
        assert storage_exists(kept.key)
    assert anonymous_upload_cleanup()["anonymous_uploads_deleted"] == 0


@pytest.mark.django_db(transaction=True)
def test_object_is_deleted_when_the_row_cannot_be_inserted(settings):
    # An owner that is not in the database: the foreign key fails at commit.
    ghost = User(email="ghost@example.com")
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        upload_create(owner=ghost, fileobj=io.BytesIO(jpeg_bytes()), filename="g.jpg")
    assert UploadedFile.objects.count() == 0
    leftovers = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert leftovers == []
