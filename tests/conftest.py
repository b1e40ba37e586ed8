"""Shared fixtures: API clients, users and tokens, service requirements, Celery mode, the
SQLite test database, a GCS emulator, and the check that every error answer is documented."""

import os

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.models import User
from accounts.services.auth import auth_session_create
from config.errors import ERROR_CODES
from config.openapi import UNDOCUMENTED_CODES, view_error_codes

TEST_PASSWORD = "correct-horse-battery-staple-42"


def services_required() -> bool:
    """REQUIRE_SERVICES=1 (CI): a test that needs PostgreSQL or Redis fails, never skips."""
    return os.environ.get("REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def _missing(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    needs_postgres = item.get_closest_marker("postgres") or item.get_closest_marker("e2e")
    needs_redis = item.get_closest_marker("redis") or item.get_closest_marker("e2e")
    if needs_postgres and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if needs_redis and not settings.REDIS_URL:
        _missing("needs Redis: set REDIS_URL=redis://...")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests run on a fresh WAL file, like the `make run` default, never in memory.

    Django's default SQLite test database is in memory with a shared cache. There, threads
    lock whole tables and a conflicting reader fails at once with "database table is
    locked" (SQLITE_LOCKED ignores busy_timeout), which the embedded default never does:
    on a WAL file readers never wait and writers queue on busy_timeout. Same OPTIONS
    (IMMEDIATE transactions, WAL, busy timeout), only the file is a per-run temporary one.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# (view class, method, code, status) of every error answer of a DRF view in this process.
_error_answers: list[tuple[type, str, str, int]] = []
_finalize_response = APIView.finalize_response


def _recording_finalize_response(self, request, response, *args, **kwargs):
    response = _finalize_response(self, request, response, *args, **kwargs)
    data = getattr(response, "data", None)
    if response.status_code >= 400 and isinstance(data, dict) and "error" in data:
        method = "GET" if request.method == "HEAD" else request.method
        _error_answers.append((type(self), method, str(data["error"]), response.status_code))
    return response


APIView.finalize_response = _recording_finalize_response  # type: ignore[method-assign]


def undeclared_errors(answers) -> list[str]:
    """The answers whose code the view's schema does not document, or documents with
    another status (config.openapi.view_error_codes, config.errors.ERROR_CODES)."""
    problems = []
    for view_class, method, code, status_code in answers:
        if method == "OPTIONS" or code in UNDOCUMENTED_CODES:
            continue
        where = f"{method} {view_class.__module__}.{view_class.__qualname__}"
        if code not in ERROR_CODES:
            problems.append(f"{where} answered {status_code} {code!r}, not in ERROR_CODES")
        elif ERROR_CODES[code].status != status_code:
            problems.append(
                f"{where} answered {code!r} with {status_code}, ERROR_CODES says "
                f"{ERROR_CODES[code].status}"
            )
        elif code not in view_error_codes(view_class, method):
            problems.append(f"{where} answered {code!r}, missing from its error_codes")
    return sorted(set(problems))


@pytest.fixture(autouse=True)
def _errors_documented(request):
    """Fails a test whose requests got an error answer the OpenAPI schema does not list
    (unless marked `undocumented_errors`: it provokes a bug on purpose, a 500)."""
    _error_answers.clear()
    yield
    problems = undeclared_errors(_error_answers)
    _error_answers.clear()
    if problems and not request.node.get_closest_marker("undocumented_errors"):
        pytest.fail("Undocumented error answers:\n" + "\n".join(problems))


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Unit tests run tasks in-process; e2e tests use a real worker instead."""
    if request.node.get_closest_marker("e2e"):
        yield
        return
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Local storage writes under a per-test folder, never into var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def make_user(db):
    counter = {"n": 0}

    def make(**fields) -> User:
        counter["n"] += 1
        fields.setdefault("email", f"user{counter['n']}-{os.urandom(3).hex()}@example.com")
        fields.setdefault("name", f"User {counter['n']}")
        password = fields.pop("password", TEST_PASSWORD)
        return User.objects.create_user(password=password, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def staff_user(make_user):
    return make_user(is_staff=True)


def client_for(user: User) -> APIClient:
    """An APIClient carrying a real bearer token of `user`."""
    _, token = auth_session_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.token = token
    return client


@pytest.fixture
def auth_client(user):
    return client_for(user)


@pytest.fixture
def staff_client(staff_user):
    return client_for(staff_user)


# --- Google Cloud Storage (a real gcp-storage-emulator), for the uploads and rendering tests --


@pytest.fixture(scope="module")
def emulator():
    from tests.uploads.gcs_emulator import Emulator

    server = Emulator()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def credentials_json():
    from tests.uploads.gcs_emulator import service_account_json

    return service_account_json()


@pytest.fixture
def bucket(emulator, credentials_json, settings, monkeypatch):
    """Point default_storage at a fresh bucket of the emulator."""
    name = emulator.create_bucket()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    settings.STORAGE_BACKEND = "gcs"
    settings.GCS_BUCKET = name
    settings.GCS_ENDPOINT = emulator.url
    settings.GOOGLE_CREDENTIALS_JSON = credentials_json
    # Assigned last: changing STORAGES rebuilds default_storage with the values above.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "uploads.gcs.PrivateGoogleCloudStorage",
            "OPTIONS": {"bucket_name": name},
        },
    }
    return emulator.client().bucket(name)
