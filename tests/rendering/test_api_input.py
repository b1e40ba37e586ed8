"""Shops and bad input: every malformed or foreign request is a 4xx with an API.md code."""

import uuid

import pytest

from rendering.models import RenderJob, Shop, UsageDaily
from tests.conftest import client_for
from tests.rendering.factories import (
    RoomSessionFactory,
    ShopFactory,
    confirmed_session,
    product_png,
    product_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(user):
    shop = ShopFactory(owner=user, daily_quota=3)
    session = confirmed_session(shop)
    product = product_upload(user, product_png())
    return shop, session, product


def body_for(shop, session, product, **overrides):
    body = {
        "shop_id": str(shop.pk),
        "room_session_id": str(session.pk),
        "product_image_id": str(product.pk),
        "placement": {"x": 0.5, "y": 0.5, "scale": 0.5},
    }
    body.update(overrides)
    return body


def test_shop_create_uses_the_default_quota_and_refuses_a_client_quota(auth_client, user, settings):
    settings.DEFAULT_DAILY_RENDER_QUOTA = 17

    refused = auth_client.post(
        "/api/shops",
        {"name": "Loft", "daily_quota": 10_000, "timezone": "Europe/Paris"},
        format="json",
    )
    response = auth_client.post(
        "/api/shops", {"name": "Loft", "timezone": "Europe/Paris"}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["details"] == {"daily_quota": ["Unknown field."]}
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["daily_quota"], body["timezone"]) == ("Loft", 17, "Europe/Paris")
    assert Shop.objects.get(pk=body["id"]).owner == user


@pytest.mark.parametrize(
    "payload", [{}, {"name": ""}, {"name": "x" * 201}, {"name": "Loft", "timezone": "Mars/Base"}]
)
def test_shop_create_rejects_bad_input(auth_client, payload):
    response = auth_client.post("/api/shops", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_usage_of_a_fresh_shop(auth_client, user):
    shop = ShopFactory(owner=user, daily_quota=4)
    body = auth_client.get(f"/api/shops/{shop.pk}/usage").json()
    assert body["daily_quota"] == 4
    assert body["used"] == {"render": 0, "prep": 0, "cleanup": 0}
    assert (body["reserved"], body["remaining"]) == (0, 4)
    assert set(body) >= {"date", "resets_at"}


@pytest.mark.parametrize(
    "placement",
    [
        {"x": 1.01, "y": 0.5, "scale": 1},
        {"x": -0.1, "y": 0.5, "scale": 1},
        {"x": 0.5, "y": 2, "scale": 1},
        {"x": 0.5, "y": 0.5, "scale": 0.01},
        {"x": 0.5, "y": 0.5, "scale": 2.5},
        {"x": 0.5, "y": 0.5},
        {"x": "left", "y": 0.5, "scale": 1},
        "center",
    ],
)
def test_placement_out_of_range_is_400_and_reserves_nothing(auth_client, setup, placement):
    response = auth_client.post(
        "/api/renders", body_for(*setup, placement=placement), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "placement" in response.json()["details"]
    assert not UsageDaily.objects.filter(reserved__gt=0).exists()


@pytest.mark.parametrize("field", ["shop_id", "room_session_id", "product_image_id"])
def test_unknown_ids_are_404_and_malformed_ids_400(auth_client, setup, field):
    unknown = auth_client.post(
        "/api/renders", body_for(*setup, **{field: str(uuid.uuid4())}), format="json"
    )
    malformed = auth_client.post("/api/renders", body_for(*setup, **{field: "42"}), format="json")

    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["error"]) == (400, "validation_error")
    assert RenderJob.objects.count() == 0


def test_someone_elses_shop_session_product_or_render_is_404(auth_client, setup, make_user):
    # given: another user's shop, session and product, and a session of my other shop
    shop = setup[0]
    other = make_user()
    their_shop = ShopFactory(owner=other)
    their_session = confirmed_session(their_shop)
    their_product = product_upload(other, product_png())
    my_other_shop_session = confirmed_session(ShopFactory(owner=shop.owner))

    # when: a render names any of them
    for overrides in (
        {"shop_id": str(their_shop.pk)},
        {"room_session_id": str(their_session.pk)},
        {"product_image_id": str(their_product.pk)},
        {"room_session_id": str(my_other_shop_session.pk)},
    ):
        response = auth_client.post("/api/renders", body_for(*setup, **overrides), format="json")
        # then: 404, as if it did not exist
        assert response.status_code == 404, overrides
        assert response.json()["error"] == "not_found"

    # when: they render themselves
    theirs = client_for(other).post(
        "/api/renders", body_for(their_shop, their_session, their_product), format="json"
    )
    # then: I cannot read their render, and my quota was never touched
    assert theirs.status_code == 202
    assert auth_client.get(f"/api/renders/{theirs.json()['id']}").status_code == 404
    assert auth_client.get(f"/api/renders/{uuid.uuid4()}").status_code == 404
    assert UsageDaily.objects.get(shop=shop).reserved == 0


def test_staff_cannot_render_with_a_customers_upload(staff_client, staff_user, user, setup):
    shop = ShopFactory(owner=staff_user)
    session = confirmed_session(shop)
    customers_product = setup[2]

    response = staff_client.post(
        "/api/renders", body_for(shop, session, customers_product), format="json"
    )

    assert response.status_code == 404


def test_unconfirmed_room_session_is_409_image_missing(auth_client, setup):
    shop, _session, product = setup
    bare = RoomSessionFactory(shop=shop)

    response = auth_client.post("/api/renders", body_for(shop, bare, product), format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "image_missing"


def test_non_json_bodies_are_4xx(auth_client):
    broken = auth_client.post("/api/renders", "{not json", content_type="application/json")
    text = auth_client.post("/api/renders", "x=1", content_type="text/plain")
    array = auth_client.post("/api/renders", [1, 2], format="json")
    nan = auth_client.post(
        "/api/renders",
        '{"placement": {"x": NaN, "y": 0, "scale": 1}}',
        content_type="application/json",
    )

    assert (broken.status_code, broken.json()["error"]) == (400, "validation_error")
    assert (text.status_code, text.json()["error"]) == (400, "validation_error")
    assert (array.status_code, array.json()["error"]) == (400, "validation_error")
    assert nan.status_code == 400


def test_render_endpoints_need_a_token(api_client, setup):
    assert api_client.post("/api/renders", body_for(*setup), format="json").status_code == 401
    assert api_client.post("/api/shops", {"name": "x"}, format="json").status_code == 401
    assert api_client.get(f"/api/renders/{uuid.uuid4()}").status_code == 401


@pytest.mark.parametrize(
    "zone", ["Europe", "America", "Etc", "A" * 300, "../../../etc/passwd", "/etc/localtime", ""]
)
def test_shop_time_zones_that_are_directories_or_no_names_are_400_not_503(auth_client, zone):
    # "Europe" is a directory of the zone database (IsADirectoryError) and 300 characters
    # are too long a file name (OSError): both used to read as a storage outage.
    response = auth_client.post("/api/shops", {"name": "Loft", "timezone": zone}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "validation_error"
    assert "timezone" in response.json()["details"]
    assert not Shop.objects.exists()


def test_shop_time_zone_in_the_admin_form_is_checked_the_same_way():
    from django.core.exceptions import ValidationError

    from rendering.models import validate_timezone

    validate_timezone("Europe/Paris")
    with pytest.raises(ValidationError):
        validate_timezone("Europe")
