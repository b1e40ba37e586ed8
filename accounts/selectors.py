"""Permission-scoped reads of accounts data: a row of someone else never leaves here."""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import Address, AuthSession, Notification, User
from config.errors import NotFound


def address_list_for_user(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


def address_get_for_user(*, user: User, address_id: uuid.UUID | str) -> Address:
    """The user's own address; someone else's or an unknown id is NotFound (404)."""
    try:
        return Address.objects.get(pk=address_id, user=user)
    except (Address.DoesNotExist, ValidationError):
        raise NotFound("No such address.") from None


def auth_session_list_for_user(*, user: User) -> QuerySet[AuthSession]:
    return AuthSession.objects.live().filter(user=user)


def notification_list_for_user(*, user: User, unread: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(user=user)
    return notifications.unread() if unread else notifications
