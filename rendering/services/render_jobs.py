"""Render jobs: accept under the daily quota, claim, composite, complete or fail, reap."""

import functools
import logging
import math
import uuid
from datetime import date, datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from accounts.ratelimit import RateLimitResult
from accounts.ratelimit_headers import rate_limit_headers
from accounts.webhooks.services import webhook_event_emit
from config.errors import (
    Conflict,
    TooManyRequests,
)
from config.job_lease import LeaseHeld, lease_until
from config.queue import BROKER_ERRORS, enqueue_on_commit
from rendering import compositor
from rendering.keys import (
    render_result_key,
)
from rendering.models import RenderJob, RenderJobStatus, RoomSession, Shop
from rendering.objects import object_read
from rendering.quota import quota_day, quota_reserve, quota_resets_at, quota_settle
from rendering.services.room_sessions import room_session_backfill_keys
from uploads.selectors import upload_get_own
from uploads.storage import (
    storage_delete,
    storage_exists,
    storage_save,
)

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000
# How a shop's render quota is named in RateLimit-Policy, and its window: one quota day.
QUOTA_POLICY = "shop_render_quota"
QUOTA_WINDOW_S = 24 * 3600
QUEUE_DOWN_ERROR = "The render could not be queued (broker down)."


def render_job_create(
    *,
    user: User,
    shop: Shop,
    room_session: RoomSession,
    product_upload_id: uuid.UUID | str,
    x: float,
    y: float,
    scale: float,
) -> RenderJob:
    """Accept a render: reserve a quota slot and queue the job.

    Never accepts more renders per shop and quota day than daily_quota, whatever the
    concurrency (429 quota_exceeded). The task is published after the reserving
    transaction commits — so a worker always finds the job — and if the broker refuses it
    the reservation is released (once: render_job_fail) and ServiceUnavailable (503) comes
    out of the commit. Inside an outer transaction that is the outermost one's commit.
    """
    from rendering.tasks import render_job_task  # the task module imports this one

    if not room_session.original_room_image_key and (
        room_session.legacy_original_image_url or room_session.legacy_cleaned_image_url
    ):
        room_session = room_session_backfill_keys(session=room_session)
    room_key = room_session.render_source_key
    if not room_key:
        raise Conflict(
            "The room session has no room image yet; upload and confirm it first.",
            code="image_missing",
        )
    product = upload_get_own(user=user, upload_id=product_upload_id)

    day = quota_day(shop=shop)
    with transaction.atomic():
        if not quota_reserve(shop_id=shop.pk, day=day):
            raise quota_exceeded(shop=shop, day=day)
        job = RenderJob.objects.create(
            shop=shop,
            room_session=room_session,
            requested_by=user,
            product_upload_id=product.pk,
            product_image_key=product.key,
            room_image_key=room_key,
            placement_x=x,
            placement_y=y,
            placement_scale=scale,
            usage_date=day,
        )
        enqueue_on_commit(
            render_job_task,
            args=[str(job.pk)],
            on_broker_error=functools.partial(
                render_job_fail, job_id=job.pk, error=QUEUE_DOWN_ERROR
            ),
            message="Renders cannot be queued right now; nothing was charged. Try again shortly.",
        )
    return job


def quota_exceeded(*, shop: Shop, day: date) -> TooManyRequests:
    """The 429 of a used-up quota day. Its rate headers are the quota's own (remaining 0,
    reset at the shop's next midnight), which the per-user limiter's never replace."""
    resets_at = quota_resets_at(shop=shop, day=day)
    retry_after = max(1, math.ceil((resets_at - timezone.now()).total_seconds()))
    verdict = RateLimitResult(
        allowed=False,
        limit=shop.daily_quota,
        remaining=0,
        retry_after_s=retry_after,
        reset_s=retry_after,
        window_s=QUOTA_WINDOW_S,
        policy=QUOTA_POLICY,
    )
    return TooManyRequests(
        f"The shop's daily quota of {shop.daily_quota} renders is used up.",
        code="quota_exceeded",
        details={"remaining": 0, "resets_at": resets_at.isoformat()},
        headers={"Retry-After": str(retry_after), **rate_limit_headers([verdict])},
    )


def _render_job_webhook(job: RenderJob) -> None:
    """render.completed / render.failed to the shop owner's webhooks, in the transaction
    that finished the job (the job's row is locked by its guarded UPDATE)."""
    webhook_event_emit(
        owner_id=job.shop.owner_id,
        event_type=f"render.{job.status}",
        object_id=job.pk,
        data={
            "id": str(job.pk),
            "shop_id": str(job.shop_id),
            "status": job.status,
            "error": job.error_or_none,
            "finished_at": job.finished_at,
        },
    )


def render_job_fail(*, job_id: uuid.UUID | str, error: str, only_if: Q | None = None) -> bool:
    """Fail an unfinished job and give its slot back; True if this call did it.

    The guarded status change and the release share one transaction, so however many
    callers race (worker, reaper, a redelivered task), the slot is released once.
    """
    with transaction.atomic():
        jobs = RenderJob.objects.unfinished().filter(pk=job_id)
        if only_if is not None:
            jobs = jobs.filter(only_if)
        failed = jobs.update(
            status=RenderJobStatus.FAILED, error=error[:MAX_ERROR_CHARS], finished_at=timezone.now()
        )
        if failed:
            job = RenderJob.objects.select_related("shop").get(pk=job_id)
            quota_settle(shop_id=job.shop_id, day=job.usage_date, completed=False)
            _render_job_webhook(job)
    return bool(failed)


def render_job_claim(*, job_id: uuid.UUID | str) -> RenderJob | None:
    """Take the job for one attempt: queued, or running under an expired lease (its worker
    died) -> running, attempts + 1, claimed until now + JOB_LEASE_S.

    One guarded UPDATE: of any number of concurrent deliveries exactly one gets the
    attempt. Returns None when the job is gone or finished, or when its attempts are used
    up (the job is then failed here, its slot released). Raises LeaseHeld while another
    attempt's lease runs (the task retries when it ends).
    """
    now = timezone.now()
    claimable = Q(status=RenderJobStatus.QUEUED) | Q(
        status=RenderJobStatus.RUNNING, claimed_until__lt=now
    )
    claimed = RenderJob.objects.filter(
        claimable, pk=job_id, attempts__lt=settings.RENDER_MAX_ATTEMPTS
    ).update(
        status=RenderJobStatus.RUNNING,
        attempts=F("attempts") + 1,
        claimed_until=lease_until(now),
        started_at=now,
    )
    if claimed:
        return RenderJob.objects.get(pk=job_id)
    job = RenderJob.objects.unfinished().filter(pk=job_id).first()
    if job is None:
        return None
    if job.status == RenderJobStatus.RUNNING and job.claimed_until and job.claimed_until >= now:
        raise LeaseHeld(job_id=job_id, claimed_until=job.claimed_until, now=now)
    render_job_fail(job_id=job_id, error=_gave_up_error(job.attempts), only_if=_exhausted(now))
    return None


def _exhausted(now: datetime) -> Q:
    """Running with every attempt used and the last lease expired: nobody will finish it."""
    return Q(
        status=RenderJobStatus.RUNNING,
        claimed_until__lt=now,
        attempts__gte=settings.RENDER_MAX_ATTEMPTS,
    )


def _gave_up_error(attempts: int) -> str:
    return (
        f"The render was interrupted {attempts} times (its worker stopped each time); "
        "nothing was charged."
    )


def render_job_complete(*, job_id: uuid.UUID | str, result_key: str, attempt: int) -> bool:
    """running -> completed and the reservation becomes a used render, exactly once, and
    only for the attempt that holds the job (a newer attempt supersedes an older one)."""
    with transaction.atomic():
        completed = RenderJob.objects.filter(
            pk=job_id, status=RenderJobStatus.RUNNING, attempts=attempt
        ).update(
            status=RenderJobStatus.COMPLETED,
            result_image_key=result_key,
            finished_at=timezone.now(),
        )
        if completed:
            job = RenderJob.objects.select_related("shop").get(pk=job_id)
            quota_settle(shop_id=job.shop_id, day=job.usage_date, completed=True)
            _render_job_webhook(job)
    return bool(completed)


def render_job_run(*, job_id: uuid.UUID | str) -> str:
    """Claim, composite and complete one attempt of a job; returns what happened.

    Idempotent: a delivery that finds the job finished does nothing; one that finds it
    held by a live attempt raises LeaseHeld; one that finds its worker dead (lease
    expired) runs the next attempt. Bad inputs fail the job with a readable error and
    refund its slot. Every write is guarded by the attempt number, so an attempt that
    outlived its lease changes nothing and removes its own result.
    """
    job = render_job_claim(job_id=job_id)
    if job is None:
        return "skipped"
    attempt = job.attempts
    logger.info("render %s: attempt %s of %s", job.pk, attempt, settings.RENDER_MAX_ATTEMPTS)
    this_attempt = Q(attempts=attempt)
    try:
        room = compositor.image_decode(
            object_read(job.room_image_key, what="room image"), what="room image"
        )
        product = compositor.image_decode(
            object_read(job.product_image_key, what="product image"), what="product image"
        )
        result = compositor.composite(
            room, product, x=job.placement_x, y=job.placement_y, scale=job.placement_scale
        )
        result_key = storage_save(
            render_result_key(shop_id=job.shop_id, job_id=job.pk, attempt=attempt),
            ContentFile(compositor.png_encode(result)),
            content_type="image/png",
        )
    except compositor.ImageInputError as exc:
        render_job_fail(job_id=job.pk, error=str(exc), only_if=this_attempt)
        return "failed"
    except Exception:
        logger.exception("render %s failed", job.pk)
        render_job_fail(
            job_id=job.pk,
            error="The render failed unexpectedly; nothing was charged.",
            only_if=this_attempt,
        )
        return "failed"
    if not render_job_complete(job_id=job.pk, result_key=result_key, attempt=attempt):
        # The reaper failed the job, or a newer attempt took it over, meanwhile.
        storage_delete(result_key)
        return "superseded"
    _earlier_results_delete(job=job, attempt=attempt)
    return "completed"


def _earlier_results_delete(*, job: RenderJob, attempt: int) -> None:
    """Results that attempts killed between saving and completing left behind."""
    for earlier in range(1, attempt):
        key = render_result_key(shop_id=job.shop_id, job_id=job.pk, attempt=earlier)
        if storage_exists(key):
            storage_delete(key)


def render_job_reap_stuck() -> dict[str, int]:
    """Settle jobs whose workers died. Registered in settings.CLEANUPS (single-flight).

    - Every attempt used and the last lease expired: failed, slot released.
    - No live attempt for RENDER_STUCK_AFTER (queued that long, or its last lease expired
      that long ago) with attempts left: its task is published again, as the broker's
      redelivery should have done (a lost message). At most once per RENDER_STUCK_AFTER
      per job; the claim decides which delivery runs it.
    """
    now = timezone.now()
    failed = 0
    for job_id, attempts in list(
        RenderJob.objects.filter(_exhausted(now)).values_list("pk", "attempts")
    ):
        failed += render_job_fail(
            job_id=job_id, error=_gave_up_error(attempts), only_if=_exhausted(now)
        )
    cutoff = now - settings.RENDER_STUCK_AFTER
    queued_long = Q(status=RenderJobStatus.QUEUED, created_at__lt=cutoff) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=cutoff)
    )
    abandoned = Q(
        status=RenderJobStatus.RUNNING,
        claimed_until__lt=cutoff,
        attempts__lt=settings.RENDER_MAX_ATTEMPTS,
    )
    stuck = queued_long | abandoned
    requeued = 0
    for job_id in list(RenderJob.objects.filter(stuck).values_list("pk", flat=True)):
        # Marks the requeue (a queued job's claimed_until is otherwise unused; a running
        # job's stays expired, so it is claimable at once).
        if RenderJob.objects.filter(stuck, pk=job_id).update(claimed_until=now):
            requeued += _render_job_requeue(job_id)
    return {"stuck_renders_failed": failed, "stuck_renders_requeued": requeued}


def _render_job_requeue(job_id: uuid.UUID | str) -> bool:
    """Publish the job's task again; a broker that is down is tried on the next round."""
    from rendering.tasks import render_job_task

    try:
        render_job_task.apply_async(args=[str(job_id)])
    except BROKER_ERRORS as exc:
        logger.warning("render %s: requeue failed, broker unavailable: %s", job_id, exc)
        return False
    return True
