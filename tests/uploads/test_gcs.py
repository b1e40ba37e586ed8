"""The GCS backend against a real gcp-storage-emulator, with the real google-cloud-storage
client: upload, read back, signed URL shape and TTL, signed PUT, delete, and the API."""

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from uploads.errors import StorageKeyExists
from uploads.models import UploadedFile
from uploads.storage import (
    is_cloud_storage,
    signed_read_url,
    signed_upload,
    storage_delete,
    storage_exists,
    storage_open,
    storage_save,
    storage_size,
    upload_key,
)

from .gcs_emulator import SERVICE_ACCOUNT_EMAIL
from .images import jpeg_bytes, png_bytes


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_save_read_back_and_delete(bucket):
    # given
    assert is_cloud_storage()
    key = upload_key("owner", "jpg")
    data = jpeg_bytes()

    # when
    assert storage_save(key, io.BytesIO(data), content_type="image/jpeg") == key

    # then
    blob = bucket.get_blob(key)
    assert blob is not None
    assert blob.content_type == "image/jpeg"
    assert blob.download_as_bytes() == data
    assert storage_exists(key)
    assert storage_size(key) == len(data)
    with storage_open(key) as fileobj:
        assert fileobj.read() == data

    # when: it is deleted
    storage_delete(key)
    assert bucket.get_blob(key) is None
    assert not storage_exists(key)
    storage_delete(key)  # already gone is fine


def test_save_never_overwrites(bucket):
    key = upload_key("owner", "png")
    storage_save(key, io.BytesIO(b"first"), content_type="image/png")
    with pytest.raises(StorageKeyExists):
        storage_save(key, io.BytesIO(b"second"), content_type="image/png")
    assert bucket.get_blob(key).download_as_bytes() == b"first"


def test_signed_read_url_shape_ttl_and_content(bucket, emulator):
    # given
    key = upload_key("owner", "jpg")
    data = jpeg_bytes()
    storage_save(key, io.BytesIO(data), content_type="image/jpeg")

    # when
    url = signed_read_url(key)

    # then: a V4 URL of the emulator, one hour, that serves the object
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == emulator.url
    assert parts.path == f"/{bucket.name}/{key}"
    params = query(url)
    assert params["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    assert params["X-Goog-Credential"].startswith(f"{SERVICE_ACCOUNT_EMAIL}/")
    assert params["X-Goog-Credential"].endswith("/auto/storage/goog4_request")
    assert params["X-Goog-Expires"] == "3600"
    assert params["X-Goog-SignedHeaders"] == "host"
    assert len(params["X-Goog-Signature"]) == 512  # RSA-2048, hex
    int(params["X-Goog-Signature"], 16)

    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == data


def test_signed_url_ttl_is_capped_at_one_hour(bucket, settings):
    assert query(signed_read_url("k.jpg", ttl=timedelta(minutes=5)))["X-Goog-Expires"] == "300"
    assert query(signed_read_url("k.jpg", ttl=timedelta(days=30)))["X-Goog-Expires"] == "3600"
    settings.SIGNED_URL_TTL = timedelta(hours=2)
    assert query(signed_read_url("k.jpg"))["X-Goog-Expires"] == "3600"
    assert query(signed_upload("k.jpg", content_type="image/jpeg")["url"])["X-Goog-Expires"] == (
        "3600"
    )


def test_signed_upload_put(bucket):
    key = upload_key("owner", "png")
    data = png_bytes()

    upload = signed_upload(key, content_type="image/png")

    assert upload["method"] == "PUT"
    assert upload["key"] == key
    assert upload["headers"] == {"Content-Type": "image/png", "x-goog-if-generation-match": "0"}
    params = query(upload["url"])
    assert params["X-Goog-SignedHeaders"] == "content-type;host;x-goog-if-generation-match"
    assert params["X-Goog-Expires"] == "3600"
    response = requests.put(upload["url"], data=data, headers=upload["headers"], timeout=10)
    assert response.status_code == 200
    assert bucket.get_blob(key).download_as_bytes() == data


@pytest.mark.django_db
def test_api_upload_redirects_reads_and_deletes(bucket, auth_client):
    # given: an upload through the API
    data = jpeg_bytes()
    created = auth_client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("p.jpg", data, "image/jpeg")},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    upload = UploadedFile.objects.get(id=created.json()["id"])
    assert bucket.get_blob(upload.key).download_as_bytes() == data
    assert query(created.json()["url"])["X-Goog-Expires"] == "3600"

    # when: it is read by id
    response = auth_client.get(f"/api/files/{upload.id}")
    # then: a redirect to a signed URL
    assert response.status_code == 302
    location = response["Location"]
    assert urlsplit(location).path == f"/{bucket.name}/{upload.key}"
    assert int(query(location)["X-Goog-Expires"]) <= 3600
    assert requests.get(location, timeout=10).content == data

    # when: it is deleted
    assert auth_client.delete(f"/api/files/{upload.id}").status_code == 204
    # then: the object goes with the row
    assert bucket.get_blob(upload.key) is None
    assert not UploadedFile.objects.filter(id=upload.id).exists()


@pytest.mark.django_db
def test_api_urls_live_at_most_an_hour_whatever_the_setting(bucket, auth_client, settings):
    # given: an operator who set a longer default lifetime than API.md allows
    settings.SIGNED_URL_TTL = timedelta(hours=6)
    created = auth_client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")},
        format="multipart",
    )
    assert created.status_code == 201, created.content

    # when: the client reads the upload's URL and follows GET /api/files/{id}
    redirect = auth_client.get(f"/api/files/{created.json()['id']}")

    # then: both signed URLs are valid for one hour, not six
    assert redirect.status_code == 302
    assert query(created.json()["url"])["X-Goog-Expires"] == "3600"
    assert query(redirect["Location"])["X-Goog-Expires"] == "3600"


@pytest.mark.django_db
def test_api_bad_file_leaves_nothing_in_the_bucket(bucket, auth_client):
    response = auth_client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("x.png", b"not an image at all", "image/png")},
        format="multipart",
    )
    assert response.status_code == 415
    assert list(bucket.list_blobs()) == []
    assert UploadedFile.objects.count() == 0
