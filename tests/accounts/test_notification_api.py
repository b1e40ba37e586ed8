"""Notification endpoints: list (unread filter), read one, read all; others' are 404."""

import pytest

from accounts.services.notifications import notification_create


@pytest.mark.django_db
def test_list_filters_unread_and_read_marks(auth_client, user, make_user):
    # given: two notifications of the user, one of someone else
    first = notification_create(user=user, kind="order.placed", title="Placed", body="b")
    second = notification_create(user=user, kind="order.shipped", title="Shipped", body="b")
    notification_create(user=make_user(), kind="x", title="Not yours", body="b")

    # when: listing
    listed = auth_client.get("/api/notifications").json()
    # then: the user's only, newest first
    assert [n["title"] for n in listed["results"]] == ["Shipped", "Placed"]
    assert set(listed["results"][0]) >= {"id", "kind", "title", "body", "created_at", "read_at"}

    # when: marking one read, then all
    read = auth_client.post(f"/api/notifications/{first.pk}/read")
    # then: the unread filter follows
    assert read.status_code == 200
    assert read.json()["read_at"] is not None

    unread = auth_client.get("/api/notifications?unread=true").json()["results"]
    assert [n["id"] for n in unread] == [str(second.pk)]

    assert auth_client.post("/api/notifications/read-all").json() == {"marked_read": 1}
    assert auth_client.get("/api/notifications?unread=true").json()["results"] == []
    assert len(auth_client.get("/api/notifications?unread=false").json()["results"]) == 2


@pytest.mark.django_db
def test_someone_elses_notification_is_404(auth_client, make_user):
    theirs = notification_create(user=make_user(), kind="x", title="t", body="b")

    response = auth_client.post(f"/api/notifications/{theirs.pk}/read")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db
def test_notifications_paginate_with_a_cursor(auth_client, user):
    for i in range(5):
        notification_create(user=user, kind="k", title=f"n{i}", body="b")

    page = auth_client.get("/api/notifications?limit=2").json()
    seen = [n["title"] for n in page["results"]]
    while page["next"]:
        page = auth_client.get(page["next"]).json()
        seen += [n["title"] for n in page["results"]]

    assert sorted(seen) == [f"n{i}" for i in range(5)]
    assert len(seen) == 5
