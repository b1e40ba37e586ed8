"""Admin: quote list, filters, search, expire action; editing the active schedule versions it."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from quotes.models import CreditSchedule, Quote, QuoteStatus
from tests.quotes.factories import QuoteFactory


@pytest.fixture
def admin_browser(make_user):
    staff = make_user(is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(staff)
    return browser


@pytest.mark.django_db
def test_quote_list_filters_and_search(admin_browser, make_user):
    # given: a live quote of a user, an expired one of a session
    owner = make_user(email="findme@example.com")
    live = QuoteFactory(user=owner)
    stale = QuoteFactory(expired_ago=timedelta(minutes=1), session_id="stale_session_000001")

    # when
    listing = admin_browser.get("/admin/quotes/quote/")
    uncleaned = admin_browser.get("/admin/quotes/quote/?uncleaned=yes")
    by_email = admin_browser.get("/admin/quotes/quote/?q=findme")
    by_id = admin_browser.get(f"/admin/quotes/quote/?q={stale.pk}")
    detail = admin_browser.get(f"/admin/quotes/quote/{live.pk}/change/")

    # then: the filters and the search find the right one
    assert listing.status_code == 200
    assert str(live.pk) in listing.text
    assert str(stale.pk) in listing.text
    assert str(stale.pk) in uncleaned.text
    assert str(live.pk) not in uncleaned.text
    assert str(live.pk) in by_email.text
    assert str(stale.pk) not in by_email.text
    assert str(stale.pk) in by_id.text
    assert str(live.pk) not in by_id.text
    assert detail.status_code == 200
    assert "&quot;upscale&quot;: 6" in detail.text  # pretty-printed per_file JSON


@pytest.mark.django_db
def test_expire_action(admin_browser):
    active = QuoteFactory()
    used = QuoteFactory(status=QuoteStatus.USED, used_at=timezone.now())

    response = admin_browser.post(
        "/admin/quotes/quote/",
        {"action": "expire_selected", "_selected_action": [active.pk, used.pk]},
    )

    assert response.status_code == 302
    assert Quote.objects.get(pk=active.pk).status == QuoteStatus.EXPIRED
    assert Quote.objects.get(pk=used.pk).status == QuoteStatus.USED


@pytest.mark.django_db
def test_saving_the_active_schedule_publishes_a_new_version(admin_browser):
    # given
    active = CreditSchedule.objects.get(is_active=True)
    ops = {"upscale": {"base_credits": 9, "credits_per_megapixel": 1}}

    # when: staff save the active schedule with new prices
    response = admin_browser.post(
        f"/admin/quotes/creditschedule/{active.pk}/change/",
        {
            "ops": json.dumps(ops),
            "max_files": 5,
            "quote_ttl_seconds": 60,
            "max_quote_ttl_seconds": 3600,
        },
    )

    # then: a new active version, the old one untouched
    assert response.status_code == 302, response.content[:2000]
    active.refresh_from_db()
    newest = CreditSchedule.objects.get(is_active=True)
    assert not active.is_active
    assert active.ops["upscale"]["base_credits"] == 2  # the old version is untouched
    assert newest.version == active.version + 1
    assert newest.ops == ops
    assert newest.max_quote_ttl_seconds == 3600


@pytest.mark.django_db
def test_admin_rejects_a_malformed_schedule(admin_browser):
    active = CreditSchedule.objects.get(is_active=True)

    response = admin_browser.post(
        f"/admin/quotes/creditschedule/{active.pk}/change/",
        {
            "ops": json.dumps({"upscale": {"base_credits": -1}}),
            "max_files": 5,
            "quote_ttl_seconds": 60,
            "max_quote_ttl_seconds": 3600,
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert CreditSchedule.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("ttl", "max_ttl"), [(900, 600), (30, 59)])
def test_admin_rejects_a_max_ttl_below_the_default_or_the_minimum(admin_browser, ttl, max_ttl):
    active = CreditSchedule.objects.get(is_active=True)

    response = admin_browser.post(
        f"/admin/quotes/creditschedule/{active.pk}/change/",
        {
            "ops": json.dumps(active.ops),
            "max_files": 5,
            "quote_ttl_seconds": ttl,
            "max_quote_ttl_seconds": max_ttl,
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert "errornote" in response.text
    assert CreditSchedule.objects.count() == 1
