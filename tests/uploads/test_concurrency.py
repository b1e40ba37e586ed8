"""Concurrent writers: one key is written once; the upload rate limit admits exactly N."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.concurrency import fire_concurrently
from tests.conftest import client_for
from uploads.errors import StorageKeyExists
from uploads.models import UploadedFile
from uploads.storage import storage_open, storage_save, upload_key

from .images import jpeg_bytes


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_of_one_key_have_exactly_one_winner():
    # given
    key = upload_key("race", "bin")

    def save(index: int) -> str:
        try:
            storage_save(key, io.BytesIO(b"writer %d " % index * 1000), content_type="x/y")
        except StorageKeyExists:
            return "exists"
        return f"saved {index}"

    # when: 12 writers of one key at once
    outcomes = fire_concurrently(save, 12, processes=4)

    # then: one wins and its bytes are stored
    winners = [outcome for outcome in outcomes if outcome.startswith("saved")]
    assert len(winners) == 1, outcomes
    assert outcomes.count("exists") == 11
    index = int(winners[0].split()[1])
    with storage_open(key) as fileobj:
        assert fileobj.read() == b"writer %d " % index * 1000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_upload_rate_limit_is_exact_under_concurrency(make_user, settings):
    # given: 5 uploads an hour
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "uploads": "5/hour",
        },
    }
    client = client_for(make_user())
    data = jpeg_bytes()

    def upload(index: int) -> int:
        file = SimpleUploadedFile(f"{index}.jpg", data, "image/jpeg")
        return client.post("/api/uploads", {"file": file}, format="multipart").status_code

    # when: 16 at once from 4 processes
    statuses = fire_concurrently(upload, 16, processes=4)

    # then
    assert sorted(statuses) == [201] * 5 + [429] * 11, statuses
    assert UploadedFile.objects.count() == 5
