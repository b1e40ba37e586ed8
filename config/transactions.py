"""Undo work done outside the database (a stored object) when its transaction does not commit."""

import contextlib
import logging
from collections.abc import Callable, Iterator

from django.db import transaction

logger = logging.getLogger(__name__)

# On the (per-thread) connection: one list of undo callbacks per open atomic_with_undo().
_UNDO_STACK_ATTR = "atelier_undo_stack"


def on_rollback(callback: Callable[[], None]) -> None:
    """Call `callback` if the transaction now open does not commit.

    Outside a transaction the work is committed already: nothing to do. Inside
    `atomic_with_undo()` the callback runs when that block rolls back or its commit fails.
    Under a plain `transaction.atomic()` only, it is dropped: the caller undoes its own
    failures (see `uploads.services.upload_create`), and what a later rollback of an outer
    block strands is garbage under a key nothing references, never a row without its data.
    """
    connection = transaction.get_connection()
    stack = getattr(connection, _UNDO_STACK_ATTR, None)
    if connection.in_atomic_block and stack:
        stack[-1].append(callback)


def _run_undo(callbacks: list[Callable[[], None]]) -> None:
    for callback in reversed(callbacks):
        try:
            callback()
        except Exception:
            logger.exception("undo after rollback failed: %r", callback)


@contextlib.contextmanager
def atomic_with_undo() -> Iterator[None]:
    """`transaction.atomic()` that runs the `on_rollback` callbacks registered inside it when
    it does not commit: an exception inside, or a failing commit. An exception raised by an
    on-commit hook (after the commit) undoes nothing. Nested in another atomic_with_undo,
    a block that ends normally hands its callbacks to the enclosing one.
    """
    connection = transaction.get_connection()
    stack = connection.__dict__.setdefault(_UNDO_STACK_ATTR, [])
    undo: list[Callable[[], None]] = []
    committed = False

    def mark_committed() -> None:
        nonlocal committed
        committed = True

    stack.append(undo)
    try:
        with transaction.atomic():
            # Registered first, so it runs first after the commit, before any hook can fail.
            transaction.on_commit(mark_committed)
            yield
    except BaseException:
        stack.pop()
        if not committed:
            _run_undo(undo)
        raise
    stack.pop()
    if not committed and stack:
        stack[-1].extend(undo)
