"""`manage.py upload_orphans`: objects a crash left without a row, and only those."""

import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from uploads.services import upload_orphans_sweep
from uploads.storage import storage_exists, storage_save, upload_key

from .factories import make_upload
from .images import jpeg_bytes

pytestmark = pytest.mark.django_db

TWO_DAYS_S = 2 * 24 * 3600


def write_object(settings, owner_id, *, age_s: int) -> str:
    """An object under a server-made key with no row, as a kill -9 before the commit leaves."""
    key = storage_save(upload_key(owner_id, "jpg"), ContentFile(jpeg_bytes()), content_type="")
    old = time.time() - age_s
    os.utime(settings.MEDIA_ROOT / key, (old, old))
    return key


def run(*args) -> str:
    out = StringIO()
    call_command("upload_orphans", *args, stdout=out)
    return out.getvalue().strip()


def test_only_old_objects_without_a_row_are_orphans(settings, user):
    # given an old upload with its row, an old orphan and a fresh one (maybe in flight)
    kept = make_upload(owner=user)
    os.utime(settings.MEDIA_ROOT / kept.key, (time.time() - TWO_DAYS_S,) * 2)
    orphan = write_object(settings, user.pk, age_s=TWO_DAYS_S)
    in_flight = write_object(settings, user.pk, age_s=60)

    # when an operator counts, then deletes
    counted = run()
    deleted = run("--delete")

    # then only the old orphan is gone
    assert counted == "orphans_found=1, orphans_deleted=0"
    assert deleted == "orphans_found=1, orphans_deleted=1"
    assert not storage_exists(orphan)
    assert storage_exists(kept.key)
    assert storage_exists(in_flight)
    assert run("--delete") == "orphans_found=0, orphans_deleted=0"


def test_no_uploads_folder_is_nothing_to_do():
    assert run() == "orphans_found=0, orphans_deleted=0"


def test_a_minimum_age_below_an_hour_is_refused():
    with pytest.raises(CommandError):
        run("--older-than-h", "0")


def test_orphans_are_found_in_a_gcs_bucket_too(bucket, user):
    kept = make_upload(owner=user)
    orphan = storage_save(upload_key(user.pk, "jpg"), ContentFile(jpeg_bytes()), content_type="")

    # Every object is younger than the minimum age of one hour: none may be touched...
    assert run("--older-than-h", "1", "--delete") == "orphans_found=0, orphans_deleted=0"
    # ...until it is old enough, which the sweep reads from the bucket's own timestamps.
    assert upload_orphans_sweep(older_than=timedelta(seconds=-60), delete=True) == {
        "orphans_found": 1,
        "orphans_deleted": 1,
    }
    assert not storage_exists(orphan)
    assert storage_exists(kept.key)
