"""The one way to enqueue a Celery task: after the commit, compensate and answer 503 if the
broker refuses it (or, for work a sweep redoes anyway, compensate and log)."""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from config.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# What publishing to an unreachable broker raises: kombu's OperationalError (a KombuError)
# wraps most connection failures; redis-py's own errors and socket errors (OSError covers
# ConnectionError and timeouts) can escape it. Anything else is a bug and stays a 500.
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuError, RedisError, OSError)
QUEUE_RETRY_AFTER_S = 5


def enqueue_on_commit(
    task,
    *,
    args: Sequence[Any] = (),
    on_broker_error: Callable[[], Any],
    message: str = "",
    best_effort: bool = False,
) -> None:
    """Publish `task(*args)` once the current transaction commits (at once in autocommit).

    So a worker always finds the rows the task is about, and a rolled-back change enqueues
    nothing. If the broker is unreachable, `on_broker_error()` compensates (the caller's
    service marks its job failed, gives a reservation back) and ServiceUnavailable (503,
    Retry-After) is raised from the commit — out of the outermost `transaction.atomic()`,
    which the caller (or config.idempotency) turns into the answer.

    `best_effort=True` is for work that a beat sweep finds and publishes again (webhook
    deliveries): the change has committed and must stand, so a broker error only runs
    `on_broker_error()` and is logged; nothing is raised, and neither is any other error of
    the publish (Django logs it: a robust on-commit hook).
    """
    if not best_effort and not message:
        raise ValueError("enqueue_on_commit needs the 503 message unless best_effort=True")

    def publish() -> None:
        try:
            task.apply_async(args=list(args))
        except BROKER_ERRORS as exc:
            logger.warning("%s %s: broker unreachable: %r", task.name, list(args), exc)
            on_broker_error()
            if best_effort:
                return
            raise ServiceUnavailable(
                message, headers={"Retry-After": str(QUEUE_RETRY_AFTER_S)}
            ) from exc

    transaction.on_commit(publish, robust=best_effort)
