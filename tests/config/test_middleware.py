"""The admin's cookie machinery runs outside /api/ only; the admin keeps all of it."""

import pytest
from django.core.checks import run_checks
from django.test import Client

from accounts.services.auth import auth_session_create
from tests.conftest import TEST_PASSWORD


@pytest.mark.django_db
def test_api_requests_skip_sessions_csrf_auth_and_messages(client, user):
    # given: a browser that is logged in to the admin (a session cookie) calls the API
    client.force_login(user)

    response = client.get("/api/credit-schedule")

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


@pytest.mark.django_db
def test_api_posts_need_no_csrf_token_even_with_a_session_cookie(user):
    _, token = auth_session_create(user=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post("/api/users/logout", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 204


@pytest.mark.django_db
def test_admin_login_is_csrf_protected_and_keeps_its_session(make_user):
    staff = make_user(is_staff=True, is_superuser=True)
    browser = Client(enforce_csrf_checks=True)

    page = browser.get("/admin/login/")
    token = page.cookies["csrftoken"].value
    refused = browser.post("/admin/login/", {"username": staff.email, "password": TEST_PASSWORD})
    accepted = browser.post(
        "/admin/login/",
        {"username": staff.email, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token},
    )
    index = browser.get("/admin/")

    assert refused.status_code == 403
    assert accepted.status_code == 302
    assert index.status_code == 200
    assert staff.email in index.content.decode()


def test_csrf_check_warns_without_a_csrf_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]

    messages = run_checks(include_deployment_checks=True, tags=["security"])

    assert "config.W003" in {message.id for message in messages}
