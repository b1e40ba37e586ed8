"""Admin: lists render, revoke and reset actions, password/deactivation end sessions."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Address, AuthSession, RateLimitToken
from accounts.ratelimit import rate_limit_hit
from accounts.services.addresses import address_create
from accounts.services.notifications import notification_create
from tests.conftest import client_for

FIELDS = {"line1": "2 Main St", "city": "Lyon", "postal_code": "69001", "country": "FR"}
NEW_PASSWORD = "brand-new-Secret-77"


@pytest.fixture
def admin_browser(make_user):
    admin_user = make_user(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin_user)
    return browser


@pytest.mark.django_db
def test_every_accounts_changelist_renders_and_searches(admin_browser, user):
    client_for(user)
    rate_limit_hit(key="login_ip:ip:1.2.3.4", limit=5, window_s=60)
    address_create(user=user, **FIELDS)
    notification_create(user=user, kind="k", title="t", body="b")

    for model in ["user", "authsession", "ratelimittoken", "address", "notification"]:
        url = reverse(f"admin:accounts_{model}_changelist")
        assert admin_browser.get(url).status_code == 200, model
        assert admin_browser.get(url, {"q": "example"}).status_code == 200, model


@pytest.mark.django_db
def test_revoke_action_kills_the_token(admin_browser, user):
    api = client_for(user)
    session = AuthSession.objects.get(user=user)

    admin_browser.post(
        reverse("admin:accounts_authsession_changelist"),
        {"action": "revoke", "_selected_action": [str(session.pk)]},
    )

    assert api.get("/api/users/me").status_code == 401


@pytest.mark.django_db
def test_reset_action_gives_a_fresh_window(admin_browser):
    for _ in range(3):
        rate_limit_hit(key="login_ip:ip:1.2.3.4", limit=2, window_s=60)
    token = RateLimitToken.objects.get()

    admin_browser.post(
        reverse("admin:accounts_ratelimittoken_changelist"),
        {"action": "reset", "_selected_action": [str(token.pk)]},
    )

    assert rate_limit_hit(key="login_ip:ip:1.2.3.4", limit=2, window_s=60).allowed


@pytest.mark.django_db
def test_admin_password_change_ends_the_users_sessions(admin_browser, user):
    api = client_for(user)

    response = admin_browser.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert api.get("/api/users/me").status_code == 401
    assert not AuthSession.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_deactivating_in_the_change_form_ends_sessions(admin_browser, user):
    # given: a user with a live session
    api = client_for(user)
    url = reverse("admin:accounts_user_change", args=[user.pk])

    # when: staff untick "active" in the change form
    response = admin_browser.post(
        url,
        {
            "email": user.email,
            "name": user.name,
            "is_active": "",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    # then
    assert response.status_code == 302, response.content[:2000]
    assert api.get("/api/users/me").status_code == 401
    assert not AuthSession.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_deactivate_action_ends_sessions(admin_browser, user):
    api = client_for(user)

    admin_browser.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [str(user.pk)]},
    )

    user.refresh_from_db()
    assert not user.is_active
    assert not AuthSession.objects.filter(user=user).exists()
    assert api.get("/api/users/me").status_code == 401


@pytest.mark.django_db
def test_admin_address_writes_keep_one_default(admin_browser, user):
    add_url = reverse("admin:accounts_address_add")
    form = {"user": str(user.pk), "label": "Home", "line2": "", **FIELDS}

    assert admin_browser.post(add_url, form).status_code == 302
    assert admin_browser.post(add_url, {**form, "label": "Work"}).status_code == 302
    assert Address.objects.filter(user=user, is_default=True).count() == 1
    home = Address.objects.get(label="Home")

    admin_browser.post(reverse("admin:accounts_address_delete", args=[home.pk]), {"post": "yes"})

    assert list(Address.objects.filter(user=user).values_list("label", "is_default")) == [
        ("Work", True)
    ]
