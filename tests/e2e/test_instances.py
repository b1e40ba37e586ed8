"""Several real instances share one state; a crash loses nothing; a dead database is a 503."""

import re

import requests

from accounts.models import User
from tests.e2e.harness import free_port

ADMIN_PASSWORD = "e2e-admin-password-123"


def admin_login(base_url: str, email: str) -> requests.Session:
    """Log in through the Django admin form: the session row is written by that instance."""
    browser = requests.Session()
    form = browser.get(f"{base_url}/admin/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = browser.post(
        f"{base_url}/admin/login/?next=/admin/",
        data={"username": email, "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": csrf},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return browser


def test_two_instances_answer_ping(cluster):
    first, second = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()

    for server in (first, second):
        body = requests.get(f"{server.url}/api/ping", timeout=5).json()
        assert body == {"status": "ok", "database": "ok", "redis": "ok", "storage": "ok"}


def test_state_written_on_one_instance_is_read_on_another_and_survives_kill9(cluster):
    # given: an admin session made on the first instance
    User.objects.create_superuser(email="ops@example.com", password=ADMIN_PASSWORD)
    first, second = cluster.add_server(), cluster.add_server()
    cluster.wait_ready()

    browser = admin_login(first.url, "ops@example.com")
    # then: the second instance knows it
    on_second = browser.get(f"{second.url}/admin/", timeout=10, allow_redirects=False)
    assert on_second.status_code == 200
    assert "Site administration" in on_second.text

    # when: both are killed -9 and restarted
    cluster.restart(first, kill=True)
    cluster.restart(second, kill=True)

    # then: both still know it
    for server in (first, second):
        after = browser.get(f"{server.url}/admin/", timeout=10, allow_redirects=False)
        assert after.status_code == 200, f"{server.name} lost the session"


def test_instance_with_unreachable_database_answers_503_json(cluster):
    broken = cluster.add_server(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        DB_POOL_TIMEOUT_S="2",
    )
    cluster.wait_ready()

    for path in ("/api/ping", "/api/no-such-endpoint"):
        response = requests.get(f"{broken.url}{path}", timeout=20)
        if path == "/api/no-such-endpoint":
            assert response.status_code == 404
            continue
        assert response.status_code == 503, (path, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"] == "service_unavailable"
