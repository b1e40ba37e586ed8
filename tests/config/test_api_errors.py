"""Every /api/ failure answers the API.md error shape, never HTML or a traceback."""

import pytest
from rest_framework.test import APIClient


def test_ping_reports_every_check(api_client, db):
    response = api_client.get("/api/ping")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["storage"] == "ok"
    assert body["redis"] in {"ok", "disabled"}


def test_unknown_api_path_is_json_404(api_client, db):
    response = api_client.get("/api/no-such-thing/here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_wrong_method_is_json_405(api_client, db):
    response = api_client.post("/api/ping", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_openapi_schema_and_offline_docs_are_served(api_client, db):
    schema = api_client.get("/api/schema/")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"openapi" in schema.content
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn." not in docs.content  # sidecar: served from our own static files


@pytest.mark.django_db
def test_database_outage_is_json_503(api_client, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)

    response = api_client.get("/api/ping")

    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"


def test_storage_outage_is_json_503(auth_client, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.uploads.images import png_bytes
    from uploads.models import UploadedFile

    # given: a media root storage cannot write under
    not_a_directory = tmp_path / "media-is-a-file"
    not_a_directory.write_text("storage cannot write under a regular file")
    settings.MEDIA_ROOT = not_a_directory

    # when
    response = auth_client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")},
        format="multipart",
    )

    # then: a JSON 503 and no row left behind
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "service_unavailable"
    assert not UploadedFile.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("x=1", "application/x-www-form-urlencoded"), ("hello", "text/plain"), ("{", "image/png")],
)
def test_json_endpoints_answer_400_to_a_body_that_is_not_json(auth_client, body, content_type):
    response = auth_client.post("/api/addresses", body, content_type=content_type)

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_is_json_404_for_every_method_without_csrf_token(db, method):
    # The API fuzzer's input: an id that is no UUID misses every route, and a browser-less
    # client sends no CSRF token; that is a 404, never Django's HTML CSRF page.
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)("/api/addresses/null,null", {}, format="json")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
