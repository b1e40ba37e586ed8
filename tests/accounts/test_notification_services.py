"""Notifications: other apps create them; users read them once."""

import pytest

from accounts.models import Notification
from accounts.services.notifications import (
    notification_create,
    notification_mark_all_read,
    notification_mark_read,
)
from config.errors import NotFound


@pytest.mark.django_db
def test_notification_create_stores_a_unread_message(user):
    notification = notification_create(
        user=user, kind="order.shipped", title="Shipped", body="On its way", data={"order": "x"}
    )

    stored = Notification.objects.get(pk=notification.pk)
    assert (stored.kind, stored.title, stored.body, stored.data) == (
        "order.shipped",
        "Shipped",
        "On its way",
        {"order": "x"},
    )
    assert stored.read_at is None
    assert notification_create(user=user, kind="k", title="t", body="b").data == {}


@pytest.mark.django_db
def test_mark_read_keeps_the_first_read_time_and_is_scoped_to_the_owner(user, make_user):
    notification = notification_create(user=user, kind="k", title="t", body="b")

    first = notification_mark_read(user=user, notification_id=notification.pk).read_at
    again = notification_mark_read(user=user, notification_id=notification.pk).read_at

    assert first is not None
    assert again == first
    with pytest.raises(NotFound):
        notification_mark_read(user=make_user(), notification_id=notification.pk)


@pytest.mark.django_db
def test_mark_all_read_touches_only_the_users_unread(user, make_user):
    other = make_user()
    for _ in range(3):
        notification_create(user=user, kind="k", title="t", body="b")
    notification_create(user=other, kind="k", title="t", body="b")

    assert notification_mark_all_read(user=user) == 3
    assert notification_mark_all_read(user=user) == 0
    assert Notification.objects.filter(user=other).unread().count() == 1
