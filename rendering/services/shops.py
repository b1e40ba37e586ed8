"""Shops: the unit that owns room sessions, render jobs and a daily render quota."""

from accounts.models import User
from rendering.models import Shop


def shop_create(*, owner: User, name: str, time_zone: str = "UTC") -> Shop:
    """A shop owned by `owner` with the default daily quota (only staff change it); its
    quota day runs midnight to midnight in `time_zone` (IANA name)."""
    return Shop.objects.create(owner=owner, name=name, timezone=time_zone)
