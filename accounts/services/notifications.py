"""Notifications: messages other apps leave for a user, and marking them read."""

import uuid

from django.utils import timezone

from accounts.models import Notification, User
from config.errors import NotFound


def notification_create(
    *, user: User, kind: str, title: str, body: str, data: dict | None = None
) -> Notification:
    """Leave a message for `user` (other apps call this, e.g. on order status changes)."""
    return Notification.objects.create(
        user=user, kind=kind, title=title, body=body, data=data or {}
    )


def notification_mark_read(*, user: User, notification_id: uuid.UUID) -> Notification:
    """Mark one of the user's notifications read; read_at keeps the first reading time."""
    notifications = Notification.objects.filter(user=user, pk=notification_id)
    notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
    notification = notifications.first()
    if notification is None:
        raise NotFound("No such notification.")
    return notification


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    return Notification.objects.filter(user=user).unread().update(read_at=timezone.now())
