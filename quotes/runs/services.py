"""Quote run use cases: create and enqueue, the provider workflow, the reaper of stuck runs,
retention cleanup."""

import functools
import logging
import uuid
from datetime import datetime
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.cleanup import delete_in_keyset_batches
from config.errors import ValidationFailed
from config.job_lease import LeaseHeld, lease_until
from config.queue import BROKER_ERRORS, enqueue_on_commit
from quotes.identity import Caller, owner_session_id
from quotes.models import CreditSchedule
from quotes.runs.events import run_event_append
from quotes.runs.models import QuoteRun, QuoteRunEvent, QuoteRunEventType, QuoteRunStatus
from quotes.runs.partitions import events_partitioned, partitions_drop_expired, partitions_ensure
from quotes.runs.providers import ProviderError, provider_get, providers_enabled

logger = logging.getLogger(__name__)

QUOTE_RUN_CLEANUP_BATCH = 500
TERMINAL_KEY = "run.terminal"
NO_OFFER_ERROR = "No provider answered."
QUEUE_DOWN_ERROR = "The job queue was unreachable; the run was not started."
GAVE_UP_ERROR = "The run was interrupted {attempts} times (its worker stopped each time)."


def quote_run_create(
    *,
    caller: Caller,
    session_id: str | None,
    files: list[dict],
    ops: dict,
    schedule: CreditSchedule,
    providers: list[str] | None = None,
) -> QuoteRun:
    """Store a processing run (owned by the caller's user and/or session id) priced against
    a copy of `schedule`, and enqueue its workflow after commit.

    Anonymous callers need a session id (body or X-Session-Id; equal if both).
    `providers` must be a subset of the enabled ones (default: all enabled). Raises
    ServiceUnavailable (from the commit) when the queue is unreachable; the run is then
    already failed. May run inside an outer transaction: the task is published when the
    outermost one commits.
    """
    from quotes.runs.tasks import quote_run_task  # the task module imports this one

    owner_session = owner_session_id(caller, session_id=session_id)
    enabled = providers_enabled()
    if providers is None:
        chosen = enabled
    else:
        unknown = [name for name in providers if name not in enabled]
        if unknown:
            raise ValidationFailed(
                "Unknown or disabled providers.",
                details={"providers": [f"Not enabled: {', '.join(unknown)}."]},
            )
        chosen = list(dict.fromkeys(providers))
    if not chosen:
        raise ValidationFailed(
            "No pricing provider is enabled.", details={"providers": ["None enabled."]}
        )
    now = timezone.now()
    with transaction.atomic():
        run = QuoteRun.objects.create(
            user=caller.user,
            session_id=owner_session,
            job={"files": files, "ops": ops, "schedule": schedule.snapshot()},
            providers=chosen,
            created_at=now,
            expires_at=now + settings.QUOTE_RUN_RETENTION,
        )
        enqueue_on_commit(
            quote_run_task,
            args=[str(run.id)],
            on_broker_error=functools.partial(quote_run_fail_unqueued, run_id=run.id),
            message=QUEUE_DOWN_ERROR,
        )
    return run


def quote_run_fail_unqueued(*, run_id: uuid.UUID | str) -> None:
    """End a run whose task the broker refused: its terminal event, appended once."""
    run_event_append(
        run_id=run_id,
        event_type=QuoteRunEventType.RUN_FAILED,
        key=TERMINAL_KEY,
        data={"error": QUEUE_DOWN_ERROR},
        error=QUEUE_DOWN_ERROR,
    )


def quote_run_claim(*, run_id: uuid.UUID | str) -> QuoteRun | None:
    """Take the run for one attempt of its workflow: attempts + 1, claimed until now +
    JOB_LEASE_S, if it is processing and unclaimed or its last lease expired (its worker
    died). One guarded UPDATE: of concurrent deliveries exactly one gets the attempt.

    None when the run is gone or terminal, or when its attempts are used up (it is then
    failed here, with its terminal event). Raises LeaseHeld while another attempt's lease
    runs (the task retries when it ends).
    """
    now = timezone.now()
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    claimed = QuoteRun.objects.filter(
        claimable,
        pk=run_id,
        status=QuoteRunStatus.PROCESSING,
        attempts__lt=settings.QUOTE_RUN_MAX_ATTEMPTS,
    ).update(attempts=F("attempts") + 1, claimed_until=lease_until(now))
    if claimed:
        return QuoteRun.objects.get(pk=run_id)
    run = QuoteRun.objects.filter(pk=run_id, status=QuoteRunStatus.PROCESSING).first()
    if run is None:
        return None
    if run.claimed_until is not None and run.claimed_until >= now:
        raise LeaseHeld(job_id=run_id, claimed_until=run.claimed_until, now=now)
    error = GAVE_UP_ERROR.format(attempts=run.attempts)
    run_event_append(
        run_id=run_id,
        event_type=QuoteRunEventType.RUN_FAILED,
        key=TERMINAL_KEY,
        data={"error": error},
        error=error,
    )
    return None


def quote_run_execute(*, run_id: uuid.UUID | str) -> QuoteRun | None:
    """Ask each provider of the run for an offer, then end the run; returns the run.

    Idempotent and resumable: every step appends its event once (keyed), a provider that
    already quoted or failed is not asked again, and a terminal run is left alone. A
    delivery runs only under the run's lease (quote_run_claim), so a redelivered task
    resumes the run of a dead worker, never one a live worker is running.
    """
    run = quote_run_claim(run_id=run_id)
    if run is None:
        return QuoteRun.objects.filter(pk=run_id).first()
    logger.info(
        "quote run %s: attempt %s of %s", run.id, run.attempts, settings.QUOTE_RUN_MAX_ATTEMPTS
    )
    run_event_append(
        run_id=run.id,
        event_type=QuoteRunEventType.RUN_STARTED,
        key="run.started",
        data={"providers": run.providers, "files": len(run.job["files"])},
    )
    answered = _provider_outcomes(run)
    for name in run.providers:
        if name not in answered:
            _provider_ask(run=run, name=name)
    offers = sorted(
        (
            {key: event.data[key] for key in ("provider", "credits_total", "eta_seconds")}
            for event in _provider_outcomes(run).values()
            if event.type == QuoteRunEventType.PROVIDER_QUOTE
        ),
        key=lambda offer: (offer["credits_total"], offer["eta_seconds"], offer["provider"]),
    )
    if offers:
        result = {"offers": offers}
        run_event_append(
            run_id=run.id,
            event_type=QuoteRunEventType.RUN_COMPLETED,
            key=TERMINAL_KEY,
            data=result,
            result=result,
        )
    else:
        run_event_append(
            run_id=run.id,
            event_type=QuoteRunEventType.RUN_FAILED,
            key=TERMINAL_KEY,
            data={"error": NO_OFFER_ERROR},
            error=NO_OFFER_ERROR,
        )
    run.refresh_from_db()
    return run


def _provider_outcomes(run: QuoteRun) -> dict[str, QuoteRunEvent]:
    """provider name -> its provider.quote or provider.failed event."""
    events = QuoteRunEvent.objects.filter(
        run_id=run.id,
        run_created_at=run.created_at,
        type__in=[QuoteRunEventType.PROVIDER_QUOTE, QuoteRunEventType.PROVIDER_FAILED],
    )
    return {event.data["provider"]: event for event in events}


def _provider_ask(*, run: QuoteRun, name: str) -> None:
    """One provider's steps: started, progress per step, then exactly one outcome event
    (quote or failed share the key, so a provider never has both)."""

    def append(event_type: str, key: str, data: dict[str, Any]) -> None:
        run_event_append(
            run_id=run.id, event_type=event_type, key=f"provider:{name}:{key}", data=data
        )

    def progress(step: str, data: dict[str, Any]) -> None:
        append(QuoteRunEventType.PROVIDER_PROGRESS, f"progress:{step}", data)

    append(QuoteRunEventType.PROVIDER_STARTED, "started", {"provider": name})
    provider = provider_get(name)
    try:
        if provider is None:
            raise ProviderError("unknown provider")
        offer = provider.quote(run_id=str(run.id), job=run.job, progress=progress)
    except SoftTimeLimitExceeded:
        raise
    except ProviderError as exc:
        logger.info("quote run %s: provider %s failed: %s", run.id, name, exc)
        append(QuoteRunEventType.PROVIDER_FAILED, "outcome", {"provider": name, "error": str(exc)})
        return
    except Exception:
        logger.exception("quote run %s: provider %s crashed", run.id, name)
        append(
            QuoteRunEventType.PROVIDER_FAILED,
            "outcome",
            {"provider": name, "error": "internal provider error"},
        )
        return
    append(
        QuoteRunEventType.PROVIDER_QUOTE,
        "outcome",
        {
            "provider": name,
            "credits_total": offer.credits_total,
            "eta_seconds": offer.eta_seconds,
        },
    )


def _exhausted(now: datetime) -> Q:
    """Processing with every attempt used and the last lease expired: nobody will end it."""
    return Q(
        status=QuoteRunStatus.PROCESSING,
        claimed_until__lt=now,
        attempts__gte=settings.QUOTE_RUN_MAX_ATTEMPTS,
    )


def quote_run_reap_stuck() -> dict[str, int]:
    """Settle runs whose workers died or whose messages were lost. Registered in
    settings.CLEANUPS (single-flight).

    - Every attempt used and the last lease expired: failed, with its terminal event once.
    - No live attempt for QUOTE_RUN_STUCK_AFTER (never claimed that long after it was
      created, or its last lease expired that long ago) with attempts left: its task is
      published again, as the broker's redelivery should have done. At most once per
      QUOTE_RUN_STUCK_AFTER per run; the claim decides which delivery runs it.
    """
    now = timezone.now()
    failed = 0
    runs = QuoteRun.objects.live()
    for run_id, attempts in list(runs.filter(_exhausted(now)).values_list("pk", "attempts")):
        error = GAVE_UP_ERROR.format(attempts=attempts)
        failed += bool(
            run_event_append(
                run_id=run_id,
                event_type=QuoteRunEventType.RUN_FAILED,
                key=TERMINAL_KEY,
                data={"error": error},
                error=error,
            )
        )
    cutoff = now - settings.QUOTE_RUN_STUCK_AFTER
    stuck = Q(
        status=QuoteRunStatus.PROCESSING,
        created_at__lt=cutoff,
        attempts__lt=settings.QUOTE_RUN_MAX_ATTEMPTS,
    ) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=cutoff))
    requeued = 0
    for run_id in list(runs.filter(stuck).values_list("pk", flat=True)):
        # Marks the requeue; the lease it stands for is over at once, so the run stays
        # claimable by the delivery this publishes (or the broker's, whichever comes).
        if QuoteRun.objects.filter(stuck, pk=run_id).update(claimed_until=now):
            requeued += _quote_run_requeue(run_id)
    return {"stuck_quote_runs_failed": failed, "stuck_quote_runs_requeued": requeued}


def _quote_run_requeue(run_id: uuid.UUID) -> bool:
    """Publish the run's task again; a broker that is down is tried on the next round."""
    from quotes.runs.tasks import quote_run_task  # the task module imports this one

    try:
        quote_run_task.apply_async(args=[str(run_id)])
    except BROKER_ERRORS as exc:
        logger.warning("quote run %s: requeue failed, broker unavailable: %s", run_id, exc)
        return False
    return True


def quote_run_cleanup() -> dict[str, int]:
    """Delete runs past retention with their events, QUOTE_RUN_CLEANUP_BATCH runs per short
    transaction (bounded memory, short locks), in expires_at order.

    On PostgreSQL the event partitions whose runs are all past retention are dropped
    first, so the runs' cascade finds their events gone, and the partitions ahead are
    made (quotes/runs/partitions.py). `quote_run_events` counts the rows deleted one by
    one; `quote_run_events_dropped` those dropped with their partition (the planner's
    estimate).
    """
    dropped = {"partitions": 0, "events": 0}
    if events_partitioned():
        dropped = partitions_drop_expired()
        partitions_ensure()
    deleted = delete_in_keyset_batches(
        QuoteRun.objects.past_retention(), key="expires_at", batch_size=QUOTE_RUN_CLEANUP_BATCH
    )
    return {
        "quote_runs": deleted[QuoteRun._meta.label],
        "quote_run_events": deleted[QuoteRunEvent._meta.label],
        "quote_run_event_partitions_dropped": dropped["partitions"],
        "quote_run_events_dropped": dropped["events"],
    }
