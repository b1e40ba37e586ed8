"""Single-flight across processes and machines through a lease row in the database."""

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

from config.models import SchedulerLease

DEFAULT_LEASE_TTL = timedelta(minutes=10)


def _holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_acquire(*, name: str, ttl: timedelta, holder: str) -> bool:
    """Take the lease if it is free or expired; exactly one concurrent caller gets True."""
    now = timezone.now()
    SchedulerLease.objects.bulk_create(
        [SchedulerLease(name=name, expires_at=now - timedelta(seconds=1))],
        ignore_conflicts=True,
    )
    taken = SchedulerLease.objects.filter(name=name, expires_at__lte=now).update(
        holder=holder, acquired_at=now, expires_at=now + ttl
    )
    return taken == 1


def lease_release(*, name: str, holder: str) -> None:
    SchedulerLease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now())


@contextlib.contextmanager
def single_flight(name: str, ttl: timedelta = DEFAULT_LEASE_TTL) -> Iterator[bool]:
    """`with single_flight("quotes") as acquired:` — run the body only when acquired is True.

    The ttl must exceed the longest run: a holder that dies keeps others out until then.
    """
    holder = _holder_id()
    acquired = lease_acquire(name=name, ttl=ttl, holder=holder)
    try:
        yield acquired
    finally:
        if acquired:
            lease_release(name=name, holder=holder)
