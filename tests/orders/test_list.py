"""GET /api/orders: the caller's orders only, filtered by status, newest first, paged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def make_order(user, *, status=OrderStatus.PLACED, minutes_ago=0) -> Order:
    return Order.objects.create(
        user=user,
        status=status,
        total_cents=100,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_a_user_sees_only_their_own_orders_newest_first(make_user):
    alice, bob = make_user(), make_user()
    old = make_order(alice, minutes_ago=2)
    new = make_order(alice, minutes_ago=1)
    bobs = make_order(bob)

    assert ids(client_for(alice).get("/api/orders")) == [str(new.id), str(old.id)]
    assert ids(client_for(bob).get("/api/orders")) == [str(bobs.id)]


def test_status_filter(make_user):
    alice, bob = make_user(), make_user()
    placed = make_order(alice, minutes_ago=3)
    cancelled = make_order(alice, status=OrderStatus.CANCELLED, minutes_ago=2)
    make_order(bob, status=OrderStatus.CANCELLED)
    client = client_for(alice)

    assert ids(client.get("/api/orders?status=cancelled")) == [str(cancelled.id)]
    assert ids(client.get("/api/orders?status=placed")) == [str(placed.id)]
    assert ids(client.get("/api/orders?status=shipped")) == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=lost", "status"),
        ("status=PLACED", "status"),
        ("status=", "status"),
        ("status=placed&status=shipped", "status"),
        ("state=placed", "state"),
    ],
)
def test_bad_filters_are_400_not_ignored(auth_client, query, parameter):
    response = auth_client.get(f"/api/orders?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert parameter in response.json()["details"]


def test_pages_follow_next(user):
    orders = {str(make_order(user, minutes_ago=i).id) for i in range(3)}
    client = client_for(user)

    first = client.get("/api/orders?status=placed&limit=2")
    second = client.get(first.json()["next"])

    assert "status=placed" in first.json()["next"]
    assert set(ids(first)) | set(ids(second)) == orders
    assert second.json()["next"] is None
