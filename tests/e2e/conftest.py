"""The `cluster` fixture: start real instances against the test database and Redis."""

import os
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.e2e.harness import Cluster, database_url


@pytest.fixture
def cluster_env(tmp_path):
    """Environment every process of a cluster shares (one database, one Redis, one media dir)."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": "e2e-secret-key-" + "k" * 40,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STORAGE_BACKEND": "local",
            "PYTHONUNBUFFERED": "1",
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        }
    )
    return env


@pytest.fixture
def cluster(request, transactional_db, tmp_path, cluster_env):
    """Start with `cluster.add_server()` / `add_worker()` / `add_beat()`, then
    `cluster.wait_ready()`. Every process is stopped at the end, even on failure; logs of
    all processes are printed when the test failed."""
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    started = Cluster(workdir=workdir, base_env=cluster_env)
    yield started
    started.close()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(started.logs())  # noqa: T201 - shown by pytest on failure


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
