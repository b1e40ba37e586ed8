"""No input, however malformed, gives a 500: every accounts endpoint answers 400/401/404."""

import uuid

import pytest

BODIES = [
    ("raw", b"{not json", "application/json"),
    ("raw", b"[1, 2, 3]", "application/json"),
    ("raw", b'"just a string"', "application/json"),
    ("raw", b"null", "application/json"),
    ("raw", b"\xff\xfe\x00garbage", "application/json"),
    ("raw", b"email=a&password=b", "text/plain"),
    ("json", {}, None),
    ("json", {"email": ["a@example.com"], "password": {"x": 1}}, None),
    ("json", {"email": 12, "password": 34, "name": False}, None),
    ("json", {"email": "a@example.com", "password": "p" * 100_000}, None),
    ("json", {"email": "a" * 10_000 + "@example.com", "password": "x"}, None),
    ("json", {"email": "a@example.com\x00", "password": "x\x00y"}, None),
]
POST_PATHS = [
    "/api/users/register",
    "/api/users/login",
    "/api/users/password",
    "/api/addresses",
    f"/api/addresses/{uuid.uuid4()}/default",
]


def send(client, method, path, kind, body, content_type):
    if kind == "raw":
        return getattr(client, method)(path, data=body, content_type=content_type)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize(("kind", "body", "content_type"), BODIES)
def test_malformed_bodies_never_500(auth_client, path, kind, body, content_type):
    response = send(auth_client, "post", path, kind, body, content_type)

    assert response.status_code in {400, 401, 404, 415}, (response.status_code, response.content)
    payload = response.json()
    assert set(payload) <= {"error", "message", "details"}
    assert payload["error"]
    assert payload["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "body", "content_type"), BODIES)
def test_malformed_patch_of_an_address_never_500(auth_client, kind, body, content_type):
    created = auth_client.post(
        "/api/addresses",
        {"line1": "1 A St", "city": "Oslo", "postal_code": "0150", "country": "NO"},
        format="json",
    ).json()

    response = send(
        auth_client, "patch", f"/api/addresses/{created['id']}", kind, body, content_type
    )

    assert response.status_code in {200, 400, 415}, (response.status_code, response.content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/addresses/not-a-uuid",
        "/api/users/sessions/12345",
        "/api/notifications/%00/read",
        "/api/notifications?unread=%00%ff",
        "/api/notifications?cursor=garbage",
        "/api/addresses?limit=-5",
        "/api/addresses?limit=abc",
    ],
)
def test_malformed_paths_and_queries_never_500(auth_client, path):
    response = auth_client.get(path)

    assert response.status_code in {200, 400, 404, 405}, (response.status_code, response.content)
    if response.status_code != 200:
        assert "error" in response.json()
