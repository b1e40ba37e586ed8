"""Appending run events (gapless seq under the run's row lock) and their Redis wake-ups."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.webhooks.services import webhook_event_emit
from config.redis import redis_client
from quotes.runs.models import (
    TERMINAL_EVENT_TYPES,
    QuoteRun,
    QuoteRunEvent,
    QuoteRunEventType,
    QuoteRunStatus,
)

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "quote_run:"


def run_channel(run_id) -> str:
    return f"{CHANNEL_PREFIX}{run_id}"


def run_wakeup_publish(*, run_id, seq: int) -> bool:
    """Tell streams of the run that event `seq` is committed. Only a hint: streams read
    the events from the database, so a lost wake-up costs latency, never an event.
    Failures are logged, never raised."""
    client = redis_client(settings.QUOTE_RUN_PUBSUB_URL)
    if client is None:
        return False
    try:
        client.publish(run_channel(run_id), str(seq))
    except Exception as exc:
        logger.warning("quote run %s: wake-up publish failed: %s", run_id, exc)
        return False
    return True


def run_event_append(
    *,
    run_id,
    event_type: str,
    key: str,
    data: dict[str, Any] | None = None,
    result: dict | None = None,
    error: str = "",
) -> QuoteRunEvent | None:
    """Append one event with the run's next seq, exactly once per `key`.

    Under the run's row lock: returns None (and writes nothing) when an event with this
    key exists or the run is already terminal, so concurrent or repeated appends never
    duplicate a step nor leave a gap in seq. A terminal type (run.completed/run.failed)
    also sets the run's status, result and error, and emits its webhook event, in the same
    transaction. The wake-up is published after commit.
    """
    with transaction.atomic():
        run = (
            QuoteRun.objects.select_for_update()
            .only("id", "status", "last_event_id", "user_id", "created_at")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != QuoteRunStatus.PROCESSING:
            return None
        if QuoteRunEvent.objects.filter(
            run_id=run_id, key=key, run_created_at=run.created_at
        ).exists():
            return None
        seq = run.last_event_id + 1
        now = timezone.now()
        changes: dict[str, Any] = {"last_event_id": F("last_event_id") + 1}
        if event_type in TERMINAL_EVENT_TYPES:
            changes.update(
                status=(
                    QuoteRunStatus.COMPLETED
                    if event_type == QuoteRunEventType.RUN_COMPLETED
                    else QuoteRunStatus.FAILED
                ),
                result=result,
                error=error,
                finished_at=now,
            )
        QuoteRun.objects.filter(pk=run_id).update(**changes)
        event = QuoteRunEvent.objects.create(
            run_id=run_id,
            seq=seq,
            type=event_type,
            key=key,
            data=data or {},
            created_at=now,
            run_created_at=run.created_at,
        )
        if event_type in TERMINAL_EVENT_TYPES:
            # quote_run.completed / quote_run.failed to the user's webhooks (anonymous: none).
            webhook_event_emit(
                owner_id=run.user_id,
                event_type=f"quote_run.{changes['status']}",
                object_id=run_id,
                data={
                    "id": str(run_id),
                    "status": changes["status"],
                    "result": result,
                    "error": error or None,
                    "finished_at": now,
                },
            )
        transaction.on_commit(lambda: run_wakeup_publish(run_id=run_id, seq=seq))
    return event
