"""A user's shipping addresses, exactly one of them the default while any exist."""

import uuid
from typing import Any

from django.db import transaction

from accounts.models import Address, User
from accounts.selectors import address_get_for_user
from config.errors import ValidationFailed

ADDRESS_FIELDS = ("label", "line1", "line2", "city", "postal_code", "country")

# Every write locks the owner's row first, so writes of one user's addresses run one at a
# time: concurrent creates, set-defaults and deletes always leave exactly one default. FOR
# NO KEY UPDATE, so inserts elsewhere referencing the user (orders, sessions) don't wait.


def _lock_user(user: User) -> None:
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").get()


def _make_default(address: Address) -> None:
    # Unset first: the partial unique index allows one default per user at every moment.
    Address.objects.filter(user_id=address.user_id, is_default=True).exclude(pk=address.pk).update(
        is_default=False
    )
    if not address.is_default:
        address.is_default = True
        Address.objects.filter(pk=address.pk).update(is_default=True)


@transaction.atomic
def address_create(
    *,
    user: User,
    line1: str,
    city: str,
    postal_code: str,
    country: str,
    label: str = "",
    line2: str = "",
    is_default: bool = False,
) -> Address:
    """Add an address; the user's first address, or one asked to be, becomes the default."""
    _lock_user(user)
    first = not Address.objects.filter(user=user).exists()
    address = Address.objects.create(
        user=user,
        label=label,
        line1=line1,
        line2=line2,
        city=city,
        postal_code=postal_code,
        country=country.upper(),
    )
    if first or is_default:
        _make_default(address)
    return address


@transaction.atomic
def address_update(*, user: User, address_id: uuid.UUID, **fields: Any) -> Address:
    """Change fields of the user's address; `is_default=True` makes it the default. The
    default cannot be unset directly (another address must become the default instead)."""
    _lock_user(user)
    address = address_get_for_user(user=user, address_id=address_id)
    is_default = fields.pop("is_default", None)
    if is_default is False and address.is_default:
        raise ValidationFailed(
            "Make another address the default instead.",
            details={"is_default": ["A user with addresses always has one default."]},
        )
    changed = [name for name in ADDRESS_FIELDS if name in fields]
    for name in changed:
        value = fields[name]
        setattr(address, name, value.upper() if name == "country" else value)
    if changed:
        address.save(update_fields=changed)
    if is_default:
        _make_default(address)
    return address


@transaction.atomic
def address_set_default(*, user: User, address_id: uuid.UUID) -> Address:
    """Make the address the user's only default, whatever else runs concurrently."""
    _lock_user(user)
    address = address_get_for_user(user=user, address_id=address_id)
    _make_default(address)
    return address


@transaction.atomic
def address_delete(*, user: User, address_id: uuid.UUID) -> None:
    """Delete the address; if it was the default, the newest remaining one becomes it."""
    _lock_user(user)
    address = address_get_for_user(user=user, address_id=address_id)
    was_default = address.is_default
    address.delete()
    if was_default:
        newest = Address.objects.filter(user=user).order_by("-created_at", "-pk").first()
        if newest is not None:
            _make_default(newest)
