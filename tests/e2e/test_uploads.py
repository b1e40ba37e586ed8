"""Uploads across real instances: written on A, read on B, kept through kill -9, one rate
limit for all instances, and the same flow on a GCS emulator bucket."""

import hashlib
from urllib.parse import urlsplit

import pytest
import requests

from accounts.models import User
from accounts.services import auth_session_create
from tests.uploads.gcs_emulator import Emulator, gcs_settings, service_account_json
from tests.uploads.images import jpeg_bytes, png_bytes

TIMEOUT_S = 15


def bearer_for(email: str) -> dict[str, str]:
    user = User.objects.create_user(email=email, password="e2e-password-123456")
    _, token = auth_session_create(user=user)
    return {"Authorization": f"Bearer {token}"}


def upload(base_url: str, headers: dict, data: bytes, name: str = "photo.jpg"):
    return requests.post(
        f"{base_url}/api/uploads",
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
        timeout=TIMEOUT_S,
    )


def on(server, url: str) -> str:
    """The same path and query, sent to another instance."""
    parts = urlsplit(url)
    return f"{server.url}{parts.path}?{parts.query}"


def test_upload_on_one_instance_is_served_by_another_and_survives_kill9(cluster):
    headers = bearer_for("uploader@example.com")
    first, second = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()
    data = png_bytes(48, 24)

    created = upload(first.url, headers, data, "pic.png")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()

    for server in (second, first):
        got = requests.get(f"{server.url}/api/files/{body['id']}", headers=headers, timeout=5)
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["Content-Type"] == "image/png"
    # A URL signed by one instance is honoured by the other: the signing key is shared.
    assert requests.get(on(second, body["url"]), timeout=5).content == data

    cluster.restart(first, kill=True)
    cluster.restart(second, kill=True)

    for server in (first, second):
        got = requests.get(f"{server.url}/api/files/{body['id']}", headers=headers, timeout=5)
        assert got.status_code == 200, f"{server.name} lost the file"
        assert got.content == data

    deleted = requests.delete(f"{second.url}/api/files/{body['id']}", headers=headers, timeout=5)
    assert deleted.status_code == 204
    gone = requests.get(f"{first.url}/api/files/{body['id']}", headers=headers, timeout=5)
    assert gone.status_code == 404


def test_upload_rate_limit_counts_across_instances(cluster):
    headers = bearer_for("busy@example.com")
    first = cluster.add_server(RATE_UPLOADS="3/hour")
    second = cluster.add_server(RATE_UPLOADS="3/hour")
    cluster.wait_ready()
    data = jpeg_bytes()

    statuses = [
        upload(server.url, headers, data).status_code for server in (first, second, first, second)
    ]
    assert statuses == [201, 201, 201, 429]

    cluster.restart(second, kill=True)
    refused = upload(second.url, headers, data)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other_user = bearer_for("calm@example.com")
    assert upload(first.url, other_user, data).status_code == 201


@pytest.fixture
def emulator():
    server = Emulator()
    server.start()
    yield server
    server.stop()


def test_gcs_upload_on_one_instance_redirects_on_another(cluster, emulator):
    headers = bearer_for("cloud@example.com")
    env = gcs_settings(emulator, emulator.create_bucket(), service_account_json())
    first, second = cluster.add_server(**env), cluster.add_server(**env)
    cluster.wait_ready()
    data = jpeg_bytes(80, 60)

    created = upload(first.url, headers, data)
    assert created.status_code == 201, created.text
    file_id = created.json()["id"]

    cluster.restart(first, kill=True)
    response = requests.get(
        f"{second.url}/api/files/{file_id}", headers=headers, timeout=5, allow_redirects=False
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(emulator.url)
    assert "X-Goog-Signature=" in location
    assert requests.get(location, timeout=5).content == data
