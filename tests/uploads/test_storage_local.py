"""The storage helpers on the local filesystem, and the signed URLs this API serves."""

import io
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core import signing
from django.test import Client

from uploads.errors import StorageKeyExists
from uploads.storage import (
    SIGNED_URL_MAX_TTL,
    SIGNING_SALT,
    signed_read_url,
    signed_upload,
    storage_delete,
    storage_exists,
    storage_open,
    storage_save,
    storage_size,
    upload_key,
)

from .images import jpeg_bytes


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_upload_key_shape():
    key = upload_key("owner-1", ".JPG")
    prefix, owner, name = key.split("/")
    assert (prefix, owner) == ("uploads", "owner-1")
    assert name.endswith(".jpg")
    assert len(name) == 36 + 4
    assert upload_key("owner-1", "jpg") != key


def test_save_open_size_delete_roundtrip(settings):
    key = upload_key("u", "bin")
    assert storage_save(key, io.BytesIO(b"hello world"), content_type="text/plain") == key
    assert storage_exists(key)
    assert storage_size(key) == 11
    with storage_open(key) as fileobj:
        assert fileobj.read() == b"hello world"
    assert (settings.MEDIA_ROOT / key).is_file()
    storage_delete(key)
    assert not storage_exists(key)
    storage_delete(key)  # missing is fine
    with pytest.raises(FileNotFoundError):
        storage_open(key)


def test_save_never_overwrites():
    key = upload_key("u", "bin")
    storage_save(key, io.BytesIO(b"first"), content_type="application/octet-stream")
    with pytest.raises(StorageKeyExists):
        storage_save(key, io.BytesIO(b"second"), content_type="application/octet-stream")
    with storage_open(key) as fileobj:
        assert fileobj.read() == b"first"


def test_signed_read_url_valid_serves_the_bytes(client):
    key = upload_key("u", "jpg")
    data = jpeg_bytes()
    storage_save(key, io.BytesIO(data), content_type="image/jpeg")
    url = signed_read_url(key)
    assert url.startswith(f"/api/storage/{key}?token=")

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == data


def test_signed_read_url_is_absolute_with_a_request(rf):
    url = signed_read_url("uploads/u/x.jpg", request=rf.get("/", HTTP_HOST="testserver"))
    assert url.startswith("http://testserver/api/storage/uploads/u/x.jpg?token=")


def test_signed_read_url_expired_is_refused(client):
    key = upload_key("u", "jpg")
    storage_save(key, io.BytesIO(jpeg_bytes()), content_type="image/jpeg")
    url = signed_read_url(key, ttl=timedelta(seconds=1))
    time.sleep(2.1)

    response = client.get(url)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert response.json()["details"] == {"reason": "expired"}


@pytest.mark.parametrize("tamper", ["signature", "key", "payload", "missing"])
def test_signed_read_url_tampered_is_refused(client, tamper):
    # given: two stored objects and a signed URL of one, tampered
    key = upload_key("u", "jpg")
    other = upload_key("u", "jpg")
    for name in (key, other):
        storage_save(name, io.BytesIO(jpeg_bytes()), content_type="image/jpeg")
    url = signed_read_url(key)
    if tamper == "signature":
        url = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    elif tamper == "key":
        url = url.replace(key, other)
    elif tamper == "payload":
        # Re-sign a longer-lived payload with the wrong salt: the signature can't match.
        forged = signing.dumps({"k": key, "m": "GET", "e": int(time.time()) + 10**9})
        url = url.split("?")[0] + "?" + urlencode({"token": forged})
    else:
        url = url.split("?")[0]

    # when
    response = client.get(url)
    # then
    assert response.status_code == 403, tamper
    assert response.json()["details"] == {"reason": "invalid"}


def test_read_token_does_not_authorize_a_put(client):
    key = upload_key("u", "jpg")
    url = signed_read_url(key)
    response = client.put(url, data=b"x", content_type="image/jpeg")
    assert response.status_code == 403
    assert not storage_exists(key)


@pytest.mark.parametrize("method", ["post", "patch", "delete", "options"])
def test_other_methods_on_a_signed_url_are_a_json_405(method):
    # Plain Django's 405 is an empty HTML page; every /api/ error is JSON.
    client = Client(enforce_csrf_checks=True)
    url = signed_read_url(upload_key("u", "jpg"))

    response = getattr(client, method)(url)

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] == "GET, PUT, HEAD"


@pytest.mark.parametrize("setting", [timedelta(hours=1), timedelta(days=30)])
def test_ttl_is_capped_at_one_hour(settings, setting):
    settings.SIGNED_URL_TTL = setting
    for url in (
        signed_read_url("uploads/u/x.jpg", ttl=timedelta(days=30)),
        signed_read_url("uploads/u/x.jpg"),
        signed_upload("uploads/u/x.jpg", content_type="image/jpeg")["url"],
    ):
        payload = signing.loads(_token(url), salt=SIGNING_SALT)
        assert payload["e"] <= time.time() + SIGNED_URL_MAX_TTL.total_seconds() + 1
        assert payload["e"] >= time.time() + SIGNED_URL_MAX_TTL.total_seconds() - 5


def test_default_ttl_is_the_setting(settings):
    settings.SIGNED_URL_TTL = timedelta(minutes=10)
    payload = signing.loads(_token(signed_read_url("uploads/u/x.jpg")), salt=SIGNING_SALT)
    assert abs(payload["e"] - (time.time() + 600)) < 5


def test_signed_upload_put_writes_once(client):
    # given
    key = upload_key("u", "jpg")
    data = jpeg_bytes()
    upload = signed_upload(key, content_type="image/jpeg")
    assert upload["method"] == "PUT"
    assert upload["key"] == key
    assert upload["headers"] == {"Content-Type": "image/jpeg"}

    # when: the first PUT
    response = client.put(upload["url"], data=data, content_type="image/jpeg")
    # then: stored
    assert response.status_code == 200
    with storage_open(key) as fileobj:
        assert fileobj.read() == data

    # when: a second PUT to the same URL
    again = client.put(upload["url"], data=b"other", content_type="image/jpeg")
    # then: refused, the first bytes stay
    assert again.status_code == 409
    assert again.json()["error"] == "storage_key_exists"
    with storage_open(key) as fileobj:
        assert fileobj.read() == data


def test_signed_upload_put_checks_content_type_and_size(client, settings):
    settings.MAX_UPLOAD_BYTES = 100
    key = upload_key("u", "jpg")
    upload = signed_upload(key, content_type="image/jpeg")

    wrong_type = client.put(upload["url"], data=b"x" * 10, content_type="text/html")
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"] == "validation_error"  # a code of API.md
    assert wrong_type.json()["details"] == {
        "Content-Type": ["Must be image/jpeg, the signed type."]
    }
    # (the test client sends no Content-Type with an empty body unless told)
    empty = client.put(upload["url"], data=b"", CONTENT_TYPE="image/jpeg")
    assert empty.status_code == 400
    assert empty.json()["details"] == {"body": ["The body is empty."]}
    too_big = client.put(upload["url"], data=b"x" * 101, content_type="image/jpeg")
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "file_too_large"
    assert not storage_exists(key)


def test_signed_upload_put_expired_is_refused(client):
    key = upload_key("u", "jpg")
    upload = signed_upload(key, content_type="image/jpeg", ttl=timedelta(seconds=1))
    time.sleep(2.1)
    response = client.put(upload["url"], data=b"x", content_type="image/jpeg")
    assert response.status_code == 403
    assert not storage_exists(key)
