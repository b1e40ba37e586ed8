"""Writes of credit schedules and quotes: publish, create, use exactly once, expire, cleanup."""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.webhooks.services import webhook_event_emit
from config.cleanup import change_in_batches
from config.errors import Conflict, Gone, NotFound
from quotes.identity import Caller, caller_owner_q, owner_session_id
from quotes.models import (
    DEFAULT_MAX_FILES,
    DEFAULT_QUOTE_TTL_SECONDS,
    DEFAULT_SCHEDULE_OPS,
    CreditSchedule,
    Quote,
    QuoteStatus,
)
from quotes.pricing import price_job
from quotes.selectors import quote_get_for_caller

logger = logging.getLogger(__name__)


def credit_schedule_ensure_default() -> CreditSchedule:
    """Return the active schedule, creating the default one when none is active. Runs
    after every migrate and flush (QuotesConfig), so readers always find one.

    Safe under concurrency: the one-active constraint lets a single creator win; the
    others read the winner's row.
    """
    active = CreditSchedule.objects.filter(is_active=True).first()
    if active is not None:
        return active
    try:
        with transaction.atomic():
            version = (CreditSchedule.objects.aggregate(v=Max("version"))["v"] or 0) + 1
            return CreditSchedule.objects.create(
                version=version,
                is_active=True,
                ops=DEFAULT_SCHEDULE_OPS,
                max_files=DEFAULT_MAX_FILES,
                quote_ttl_seconds=DEFAULT_QUOTE_TTL_SECONDS,
            )
    except IntegrityError:
        return CreditSchedule.objects.get(is_active=True)


@transaction.atomic
def credit_schedule_publish(*, ops: dict, max_files: int, quote_ttl_seconds: int) -> CreditSchedule:
    """Make a new version the active one; the previous active version stays as history.

    Locks the active row so two concurrent publishes get consecutive versions.
    """
    previous = CreditSchedule.objects.select_for_update().filter(is_active=True).first()
    version = (CreditSchedule.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    if previous is not None:
        CreditSchedule.objects.filter(pk=previous.pk).update(is_active=False)
    schedule = CreditSchedule(
        version=version,
        is_active=True,
        ops=ops,
        max_files=max_files,
        quote_ttl_seconds=quote_ttl_seconds,
    )
    schedule.full_clean()
    schedule.save()
    logger.info("credit schedule v%s published", version)
    return schedule


@transaction.atomic
def credit_schedule_activate(*, schedule: CreditSchedule) -> CreditSchedule:
    """Make an existing version the active one (e.g. roll back to an older price list)."""
    CreditSchedule.objects.select_for_update().filter(is_active=True).exclude(
        pk=schedule.pk
    ).update(is_active=False)
    CreditSchedule.objects.filter(pk=schedule.pk).update(is_active=True)
    schedule.refresh_from_db()
    return schedule


def quote_create(
    *,
    caller: Caller,
    files: list[dict],
    ops: dict,
    schedule: CreditSchedule,
    session_id: str | None = None,
) -> Quote:
    """Price the job against `schedule` and store an active quote that keeps a copy of it.

    The quote belongs to the caller's user (if any) and to the session id given in the
    body or the X-Session-Id header; an anonymous caller must give one, or nobody could
    ever read the quote back. One INSERT, atomic by itself (no transaction round trips).
    """
    session_id = owner_session_id(caller, session_id=session_id)
    price = price_job(schedule_ops=schedule.ops, files=files, ops=ops)
    now = timezone.now()
    return Quote.objects.create(
        session_id=session_id,
        user=caller.user,
        files=files,
        ops=ops,
        credits_total=price.credits_total,
        per_file_credits=price.per_file_credits,
        per_file=price.per_file,
        schedule=schedule.snapshot(),
        created_at=now,
        expires_at=now + timedelta(seconds=schedule.quote_ttl_seconds),
    )


def _visible_quote_or_404(*, quote_id: uuid.UUID | str, caller: Caller) -> Quote:
    quote = quote_get_for_caller(quote_id=quote_id, caller=caller)
    if quote is None:
        raise NotFound("Quote not found.")
    return quote


def quote_use(*, quote_id: uuid.UUID | str, caller: Caller) -> Quote:
    """Mark the quote used. Exactly one of any number of concurrent calls wins.

    One guarded UPDATE (visible to the caller, status active, not expired) decides; the
    database serialises it on the row lock and re-checks the guard, so a second caller
    updates nothing. Losers learn why: 409 quote_used, 410 quote_expired, 404 not theirs.
    The winner's quote.used webhook event commits with the change.
    """
    now = timezone.now()
    with transaction.atomic():
        won = (
            Quote.objects.filter(caller_owner_q(caller))
            .filter(pk=quote_id, status=QuoteStatus.ACTIVE, expires_at__gt=now)
            .update(status=QuoteStatus.USED, used_at=now)
        )
        quote = _visible_quote_or_404(quote_id=quote_id, caller=caller)
        if won:
            webhook_event_emit(
                owner_id=quote.user_id,
                event_type="quote.used",
                object_id=quote.pk,
                data={
                    "id": str(quote.pk),
                    "status": quote.status,
                    "credits_total": quote.credits_total,
                    "used_at": quote.used_at,
                },
            )
    if won:
        logger.info("quote %s used", quote.pk)
        return quote
    if quote.status == QuoteStatus.USED:
        raise Conflict("This quote has already been used.", code="quote_used")
    if quote.effective_status == QuoteStatus.EXPIRED:
        raise Gone("This quote has expired.", code="quote_expired")
    raise Conflict("The quote changed while using it; try again.", code="quote_conflict")


def quote_expire(*, quote_id: uuid.UUID | str, caller: Caller) -> Quote:
    """Expire an active quote now (idempotent for an expired one; 409 for a used one)."""
    Quote.objects.filter(caller_owner_q(caller)).filter(
        pk=quote_id, status=QuoteStatus.ACTIVE
    ).update(status=QuoteStatus.EXPIRED)
    quote = _visible_quote_or_404(quote_id=quote_id, caller=caller)
    if quote.status == QuoteStatus.USED:
        raise Conflict("This quote has already been used.", code="quote_used")
    return quote


def quote_expire_many(*, quote_ids: list) -> int:
    """Staff action: expire the given quotes that are still active; returns how many."""
    return Quote.objects.filter(pk__in=quote_ids, status=QuoteStatus.ACTIVE).update(
        status=QuoteStatus.EXPIRED
    )


def quote_cleanup() -> dict[str, int]:
    """Scheduled cleanup (single-flight via settings.CLEANUPS): mark active quotes past
    expiry as expired, then delete quotes whose expiry is older than QUOTE_RETENTION
    (used quotes included: a quote is used before it expires). Returns the counts."""
    batch_size = settings.QUOTE_CLEANUP_BATCH_SIZE
    now = timezone.now()
    expired, expire_batches = change_in_batches(
        Quote.objects.filter(status=QuoteStatus.ACTIVE, expires_at__lte=now),
        key="expires_at",
        update={"status": QuoteStatus.EXPIRED},
        batch_size=batch_size,
    )
    deleted, delete_batches = change_in_batches(
        Quote.objects.filter(expires_at__lt=now - settings.QUOTE_RETENTION),
        key="expires_at",
        batch_size=batch_size,
    )
    logger.info(
        "quote cleanup: %d expired in %d batches, %d deleted in %d batches",
        expired,
        expire_batches,
        deleted,
        delete_batches,
    )
    return {"expired": expired, "deleted": deleted}
