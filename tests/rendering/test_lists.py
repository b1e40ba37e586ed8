"""GET /api/shops, /api/shops/{id}, /api/renders and the usage history of a shop."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from rendering.models import RenderJob, RenderJobStatus, UsageDaily
from rendering.quota import quota_day
from rendering.selectors import USAGE_HISTORY_MAX_DAYS
from tests.conftest import client_for
from tests.rendering.factories import RoomSessionFactory, ShopFactory

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def make_job(shop, *, status=RenderJobStatus.QUEUED, minutes_ago=0) -> RenderJob:
    return RenderJob.objects.create(
        shop=shop,
        room_session=RoomSessionFactory(shop=shop),
        product_upload_id=uuid.uuid4(),
        product_image_key="products/p.png",
        room_image_key="rooms/r.jpg",
        placement_x=0.5,
        placement_y=0.5,
        placement_scale=0.5,
        status=status,
        usage_date=quota_day(shop=shop),
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


# --- shops -------------------------------------------------------------------------------


def test_shops_lists_only_the_callers_shops_newest_first(make_user):
    alice, bob = make_user(), make_user()
    first = ShopFactory(owner=alice)
    second = ShopFactory(owner=alice)
    bobs = ShopFactory(owner=bob)

    assert ids(client_for(alice).get("/api/shops")) == [str(second.id), str(first.id)]
    assert ids(client_for(bob).get("/api/shops")) == [str(bobs.id)]


def test_shops_pages_follow_next(user):
    shops = {str(ShopFactory(owner=user).id) for _ in range(3)}
    client = client_for(user)

    first = client.get("/api/shops?limit=2")
    second = client.get(first.json()["next"])

    assert len(ids(first)) == 2
    assert set(ids(first)) | set(ids(second)) == shops
    assert second.json()["next"] is None


@pytest.mark.parametrize("query", ["name=Shop", "limit=-1", "cursor=zzz"])
def test_shops_refuse_unknown_or_bad_parameters(auth_client, query):
    response = auth_client.get(f"/api/shops?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["details"]


def test_shop_detail_is_the_callers_shop_only(make_user):
    alice, bob = make_user(), make_user()
    shop = ShopFactory(owner=alice, daily_quota=7)

    mine = client_for(alice).get(f"/api/shops/{shop.id}")
    theirs = client_for(bob).get(f"/api/shops/{shop.id}")

    assert mine.status_code == 200
    assert mine.json()["daily_quota"] == 7
    assert mine.json()["id"] == str(shop.id)
    assert theirs.status_code == 404


def test_shop_post_still_creates(auth_client):
    created = auth_client.post("/api/shops", {"name": "Atelier"}, format="json")

    assert created.status_code == 201
    assert ids(auth_client.get("/api/shops")) == [created.json()["id"]]


# --- renders -----------------------------------------------------------------------------


def test_renders_lists_the_renders_of_the_callers_shops_only(make_user):
    alice, bob = make_user(), make_user()
    shop_one, shop_two = ShopFactory(owner=alice), ShopFactory(owner=alice)
    old = make_job(shop_one, minutes_ago=3)
    new = make_job(shop_two, minutes_ago=1)
    bobs = make_job(ShopFactory(owner=bob))

    assert ids(client_for(alice).get("/api/renders")) == [str(new.id), str(old.id)]
    assert ids(client_for(bob).get("/api/renders")) == [str(bobs.id)]


def test_renders_filter_by_shop_and_status(make_user):
    alice, bob = make_user(), make_user()
    shop_one, shop_two = ShopFactory(owner=alice), ShopFactory(owner=alice)
    done = make_job(shop_one, status=RenderJobStatus.COMPLETED, minutes_ago=2)
    queued = make_job(shop_one, minutes_ago=1)
    elsewhere = make_job(shop_two, status=RenderJobStatus.COMPLETED)
    bobs_shop = ShopFactory(owner=bob)
    make_job(bobs_shop)
    client = client_for(alice)

    assert ids(client.get(f"/api/renders?shop_id={shop_one.id}")) == [
        str(queued.id),
        str(done.id),
    ]
    assert ids(client.get("/api/renders?status=completed")) == [str(elsewhere.id), str(done.id)]
    assert ids(client.get(f"/api/renders?shop_id={shop_one.id}&status=queued")) == [str(queued.id)]
    # someone else's shop: nothing, not their renders
    assert ids(client.get(f"/api/renders?shop_id={bobs_shop.id}")) == []


def test_renders_pages_follow_next(user):
    shop = ShopFactory(owner=user)
    jobs = {str(make_job(shop, minutes_ago=i).id) for i in range(3)}
    client = client_for(user)

    first = client.get("/api/renders?limit=2")
    second = client.get(first.json()["next"])

    assert set(ids(first)) | set(ids(second)) == jobs
    assert second.json()["next"] is None
    assert first.json()["results"][0]["placement"] == {"x": 0.5, "y": 0.5, "scale": 0.5}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("shop_id=not-a-uuid", "shop_id"),
        ("status=done", "status"),
        ("status=", "status"),
        ("shop=1", "shop"),
    ],
)
def test_renders_refuse_bad_filters(auth_client, query, parameter):
    response = auth_client.get(f"/api/renders?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert parameter in response.json()["details"]


def test_renders_need_a_token(api_client):
    assert api_client.get("/api/renders").status_code == 401


# --- usage history -----------------------------------------------------------------------

DAY = dt.date(2026, 3, 1)


def usage_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_usage_history_one_row_per_day_zeros_between_inclusive_bounds(user):
    # given: usage on the 2nd and the 4th only (and outside the range)
    shop = ShopFactory(owner=user, daily_quota=9)
    UsageDaily.objects.create(shop=shop, date=DAY + dt.timedelta(days=1), composite_renders=2)
    UsageDaily.objects.create(
        shop=shop, date=DAY + dt.timedelta(days=3), prep_renders=1, cleanup_renders=4, reserved=1
    )
    UsageDaily.objects.create(shop=shop, date=DAY - dt.timedelta(days=1), composite_renders=5)
    UsageDaily.objects.create(shop=shop, date=DAY + dt.timedelta(days=4), composite_renders=5)

    # when: the 1st to the 4th
    rows = usage_rows(
        client_for(user).get(f"/api/shops/{shop.id}/usage?from=2026-03-01&to=2026-03-04")
    )

    # then
    assert [row["date"] for row in rows] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    assert rows[0] == {
        "date": "2026-03-01",
        "daily_quota": 9,
        "used": {"render": 0, "prep": 0, "cleanup": 0},
        "reserved": 0,
    }
    assert rows[1]["used"] == {"render": 2, "prep": 0, "cleanup": 0}
    assert rows[2]["used"] == {"render": 0, "prep": 0, "cleanup": 0}
    assert (rows[3]["used"], rows[3]["reserved"]) == ({"render": 0, "prep": 1, "cleanup": 4}, 1)


def test_usage_history_of_one_day_and_of_the_longest_range(user):
    shop = ShopFactory(owner=user)
    client = client_for(user)

    one = usage_rows(client.get(f"/api/shops/{shop.id}/usage?from=2026-03-01&to=2026-03-01"))
    last = DAY + dt.timedelta(days=USAGE_HISTORY_MAX_DAYS - 1)
    longest = usage_rows(client.get(f"/api/shops/{shop.id}/usage?from={DAY}&to={last}"))

    assert [row["date"] for row in one] == ["2026-03-01"]
    assert len(longest) == USAGE_HISTORY_MAX_DAYS == 366
    assert (longest[0]["date"], longest[-1]["date"]) == (str(DAY), str(last))


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("from=2026-03-01&to=2027-03-02", "to"),  # 367 days
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("from=2026-03-01", "to"),
        ("to=2026-03-01", "from"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=yesterday&to=2026-03-01", "from"),
        ("from=2026-03-01T00:00:00&to=2026-03-02", "from"),
        ("from=2026-03-01&to=2026-03-02&shop=1", "shop"),
        ("day=2026-03-01", "day"),
    ],
)
def test_usage_history_refuses_bad_ranges(user, query, parameter):
    shop = ShopFactory(owner=user)

    response = client_for(user).get(f"/api/shops/{shop.id}/usage?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert parameter in response.json()["details"]


def test_usage_history_of_someone_elses_shop_is_404(make_user):
    shop = ShopFactory(owner=make_user())

    response = client_for(make_user()).get(
        f"/api/shops/{shop.id}/usage?from=2026-03-01&to=2026-03-02"
    )

    assert response.status_code == 404


def test_usage_without_a_range_is_todays_as_before(user):
    shop = ShopFactory(owner=user, daily_quota=4)
    UsageDaily.objects.create(shop=shop, date=quota_day(shop=shop), composite_renders=1)

    body = client_for(user).get(f"/api/shops/{shop.id}/usage").json()

    assert body["date"] == str(quota_day(shop=shop))
    assert body["remaining"] == 3
    assert "results" not in body
