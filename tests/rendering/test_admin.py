"""Admin pages: shops with today's usage bar, usage history, jobs with thumbnails and errors."""

import pytest
from django.test import Client

from rendering.models import RenderJob
from rendering.quota import quota_day, quota_reserve
from tests.rendering.factories import (
    ShopFactory,
    confirmed_session,
    post_render,
    product_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(make_user):
    browser = Client()
    browser.force_login(make_user(is_staff=True, is_superuser=True))
    return browser


@pytest.fixture
def rendered(user, auth_client):
    shop = ShopFactory(owner=user, name="Corner Loft", daily_quota=4)
    session = confirmed_session(shop)
    product = product_upload(user)
    response = post_render(
        auth_client,
        {
            "shop_id": str(shop.pk),
            "room_session_id": str(session.pk),
            "product_image_id": str(product.pk),
            "placement": {"x": 0.5, "y": 0.5, "scale": 0.5},
        },
    )
    assert response.status_code == 202
    assert quota_reserve(shop_id=shop.pk, day=quota_day(shop=shop))  # one in flight
    return shop, session, RenderJob.objects.get(pk=response.json()["id"])


def test_shop_list_shows_todays_usage_bar(admin_browser, rendered):
    page = admin_browser.get("/admin/rendering/shop/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Corner Loft" in text
    assert "1 used · 1 reserved · 2 left of 4" in text
    assert "width:25.0%" in text  # used share of the bar


def test_shop_page_has_usage_history(admin_browser, rendered):
    page = admin_browser.get(f"/admin/rendering/shop/{rendered[0].pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Usage history (last 30 days)" in text
    assert "1 used · 1 reserved · 2 left of 4" in text


def test_render_job_pages_show_signed_thumbnails(admin_browser, rendered):
    job = rendered[2]

    listing = admin_browser.get("/admin/rendering/renderjob/")
    detail = admin_browser.get(f"/admin/rendering/renderjob/{job.pk}/change/")

    assert listing.status_code == 200
    assert detail.status_code == 200
    text = detail.content.decode()
    for key in (job.room_image_key, job.product_image_key, job.result_image_key):
        assert f"/api/storage/{key}?token=" in text


def test_room_session_and_usage_pages_render(admin_browser, rendered):
    session = rendered[1]
    assert admin_browser.get("/admin/rendering/roomsession/").status_code == 200
    assert (
        admin_browser.get(f"/admin/rendering/roomsession/{session.pk}/change/").status_code == 200
    )
    assert admin_browser.get("/admin/rendering/usagedaily/").status_code == 200
