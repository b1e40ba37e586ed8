"""Hostile requests outside the body: forged cursors, disallowed hosts, NUL in query
parameters and headers, OS errors that are no storage outage, 503s without Retry-After."""

import base64
import errno

import pytest
from django.test import Client

from accounts.models import AuthSession
from config.errors import ServiceUnavailable, api_exception_handler, is_storage_unavailable
from tests.accounts.factories import AddressFactory

pytestmark = pytest.mark.django_db


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        b64("p=2026"),  # a year is no timestamp
        b64("p=2026-02-30 10:00:00+00:00"),
        b64("p=\x00"),
        b64("o=-1"),
        b64("r=maybe"),
        "garbage!!",
        "é",
        base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_forged_cursor_is_a_400_naming_the_cursor(auth_client, cursor):
    response = auth_client.get("/api/addresses", {"cursor": cursor})

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"
    assert list(response.json()["details"]) == ["cursor"]


def test_real_cursors_still_page_through_every_row(auth_client, user):
    for _ in range(3):
        AddressFactory(user=user)
    seen, url = [], "/api/addresses?limit=2"

    while url:
        page = auth_client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]

    assert len(seen) == len(set(seen)) == 3


def test_a_forged_cursor_on_a_list_ordered_by_text_is_checked_too(api_client):
    assert api_client.get("/api/products", {"cursor": b64("p=\x00")}).status_code == 400
    assert api_client.get("/api/products", {"cursor": b64("p=sku-1")}).status_code == 200


@pytest.mark.parametrize("path", ["/api/ping", "/api/users/me", "/api/no-such-path"])
def test_a_disallowed_host_under_api_is_a_json_400(path):
    response = Client(HTTP_HOST="evil.example").get(path)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "validation_error"
    assert response.json()["details"] == {"host": ["Not in ALLOWED_HOSTS."]}


def test_a_disallowed_host_outside_api_keeps_djangos_page():
    response = Client(HTTP_HOST="evil.example").get("/admin/login/")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_nul_in_a_query_parameter_is_a_400_naming_it(auth_client):
    response = auth_client.get("/api/notifications", {"unread": "tr\x00ue"})

    assert response.status_code == 400
    assert response.json()["details"] == {"unread": ["It contains a NUL character (\\u0000)."]}


def test_nul_in_a_header_is_refused_before_it_is_stored(user):
    # given: a login whose User-Agent would be stored with the session (PostgreSQL refuses NUL)
    client = Client(HTTP_USER_AGENT="agent\x00smith")

    # when
    response = client.post(
        "/api/users/login",
        {"email": user.email, "password": "correct-horse-battery-staple-42"},
        content_type="application/json",
    )

    # then
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["User-Agent"]
    assert not AuthSession.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (OSError(errno.EIO, "I/O error"), True),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory"), True),
        (IsADirectoryError(errno.EISDIR, "Is a directory: '/usr/share/zoneinfo/Europe'"), False),
        (OSError(errno.ENAMETOOLONG, "File name too long"), False),
        (FileNotFoundError(errno.ENOENT, "No such file"), False),
        (OSError("cannot identify image file"), False),
    ],
)
def test_only_disk_and_network_failures_count_as_a_storage_outage(exc, outage):
    assert is_storage_unavailable(exc) is outage


def test_every_service_unavailable_answer_carries_retry_after():
    # /api/ping raised ServiceUnavailable without headers: its 503 had no Retry-After.
    plain = api_exception_handler(ServiceUnavailable("The database is unreachable."), {})
    chosen = api_exception_handler(ServiceUnavailable(headers={"Retry-After": "30"}), {})

    assert plain.status_code == 503
    assert plain["Retry-After"] == "5"
    assert chosen["Retry-After"] == "30"
