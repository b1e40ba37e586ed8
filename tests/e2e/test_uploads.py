"""Uploads across real instances: written on A, read on B, kept through kill -9, one rate
limit for all instances, and the same flow on a GCS emulator bucket."""

import hashlib
from urllib.parse import urlsplit

import requests

from accounts.models import User
from accounts.services.auth import auth_session_create
from tests.uploads.gcs_emulator import gcs_settings, service_account_json
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
    # given: two instances
    headers = bearer_for("uploader@example.com")
    first, second = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()
    data = png_bytes(48, 24)

    # when: a file is uploaded on the first
    created = upload(first.url, headers, data, "pic.png")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()

    # then: both serve it, by id and by the signed URL one of them minted
    for server in (second, first):
        got = requests.get(f"{server.url}/api/files/{body['id']}", headers=headers, timeout=5)
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["Content-Type"] == "image/png"
    # A URL signed by one instance is honoured by the other: the signing key is shared.
    assert requests.get(on(second, body["url"]), timeout=5).content == data

    # when: both are killed -9 and restarted
    cluster.restart(first, kill=True)
    cluster.restart(second, kill=True)

    # then: both still serve it
    for server in (first, second):
        got = requests.get(f"{server.url}/api/files/{body['id']}", headers=headers, timeout=5)
        assert got.status_code == 200, f"{server.name} lost the file"
        assert got.content == data

    # when: it is deleted on the second; then: the first no longer has it
    deleted = requests.delete(f"{second.url}/api/files/{body['id']}", headers=headers, timeout=5)
    assert deleted.status_code == 204
    gone = requests.get(f"{first.url}/api/files/{body['id']}", headers=headers, timeout=5)
    assert gone.status_code == 404


def test_upload_rate_limit_counts_across_instances(cluster):
    # given: two instances allowing 3 uploads an hour
    headers = bearer_for("busy@example.com")
    first = cluster.add_server(RATE_UPLOADS="3/hour")
    second = cluster.add_server(RATE_UPLOADS="3/hour")
    cluster.wait_ready()
    data = jpeg_bytes()

    # when: four uploads, alternating instances
    statuses = [
        upload(server.url, headers, data).status_code for server in (first, second, first, second)
    ]
    # then: the fourth is refused: one count for both
    assert statuses == [201, 201, 201, 429]

    # when: the refusing instance is killed -9 and restarted; then: the count survived
    cluster.restart(second, kill=True)
    refused = upload(second.url, headers, data)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other_user = bearer_for("calm@example.com")
    assert upload(first.url, other_user, data).status_code == 201


def test_gcs_upload_on_one_instance_redirects_on_another(cluster, emulator):
    # given: two instances on one GCS emulator bucket
    headers = bearer_for("cloud@example.com")
    env = gcs_settings(emulator, emulator.create_bucket(), service_account_json())
    first, second = cluster.add_server(**env), cluster.add_server(**env)
    cluster.wait_ready()
    data = jpeg_bytes(80, 60)

    # when: uploaded on the first, which is then killed -9
    created = upload(first.url, headers, data)
    assert created.status_code == 201, created.text
    file_id = created.json()["id"]

    cluster.restart(first, kill=True)
    response = requests.get(
        f"{second.url}/api/files/{file_id}", headers=headers, timeout=5, allow_redirects=False
    )
    # then: the second redirects to a signed URL of the bucket that serves the bytes
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(emulator.url)
    assert "X-Goog-Signature=" in location
    assert requests.get(location, timeout=5).content == data
