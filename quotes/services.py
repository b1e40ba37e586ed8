"""Writes of credit schedules and quotes: publish, create (one or a batch), use exactly once,
expire, cleanup."""

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.webhooks.services import webhook_event_emit
from config.cleanup import change_in_batches
from config.errors import Conflict, Gone, NotFound, ValidationFailed
from quotes.identity import Caller, caller_owner_q, owner_session_id
from quotes.models import (
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_QUOTE_TTL_SECONDS,
    DEFAULT_QUOTE_TTL_SECONDS,
    DEFAULT_SCHEDULE_OPS,
    CreditSchedule,
    Quote,
    QuoteShare,
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
                max_quote_ttl_seconds=DEFAULT_MAX_QUOTE_TTL_SECONDS,
            )
    except IntegrityError:
        return CreditSchedule.objects.get(is_active=True)


@transaction.atomic
def credit_schedule_publish(
    *,
    ops: dict,
    max_files: int,
    quote_ttl_seconds: int,
    max_quote_ttl_seconds: int | None = None,
) -> CreditSchedule:
    """Make a new version the active one; the previous active version stays as history.
    Without max_quote_ttl_seconds, callers may ask for up to DEFAULT_MAX_QUOTE_TTL_SECONDS
    (or quote_ttl_seconds, if longer).

    Locks the active row so two concurrent publishes get consecutive versions.
    """
    if max_quote_ttl_seconds is None:
        max_quote_ttl_seconds = max(DEFAULT_MAX_QUOTE_TTL_SECONDS, quote_ttl_seconds)
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
        max_quote_ttl_seconds=max_quote_ttl_seconds,
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


def _quote_priced(
    *,
    caller: Caller,
    session_id: str | None,
    files: list[dict],
    ops: dict,
    schedule: CreditSchedule,
    ttl_seconds: int | None,
    snapshot: dict,
    now: datetime,
) -> Quote:
    """An unsaved active quote of the job, priced against `schedule`, living ttl_seconds
    (the schedule's quote_ttl_seconds when None; within the schedule's bounds, else 400)."""
    if ttl_seconds is None:
        ttl_seconds = schedule.quote_ttl_seconds
    elif (problem := schedule.quote_ttl_error(ttl_seconds)) is not None:
        raise ValidationFailed("ttl_seconds is out of range.", details={"ttl_seconds": [problem]})
    price = price_job(schedule_ops=schedule.ops, files=files, ops=ops)
    return Quote(
        session_id=session_id,
        user=caller.user,
        files=files,
        ops=ops,
        credits_total=price.credits_total,
        per_file_credits=price.per_file_credits,
        per_file=price.per_file,
        schedule=snapshot,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )


def quote_create(
    *,
    caller: Caller,
    files: list[dict],
    ops: dict,
    schedule: CreditSchedule,
    session_id: str | None = None,
    ttl_seconds: int | None = None,
) -> Quote:
    """Price the job against `schedule` and store an active quote that keeps a copy of it.

    The quote belongs to the caller's user (if any) and to the session id given in the
    body or the X-Session-Id header; an anonymous caller must give one, or nobody could
    ever read the quote back. It expires after ttl_seconds (default: the schedule's
    quote_ttl_seconds). One INSERT, atomic by itself (no transaction round trips).
    """
    quote = _quote_priced(
        caller=caller,
        session_id=owner_session_id(caller, session_id=session_id),
        files=files,
        ops=ops,
        schedule=schedule,
        ttl_seconds=ttl_seconds,
        snapshot=schedule.snapshot(),
        now=timezone.now(),
    )
    quote.save(force_insert=True)
    return quote


# A batch is one request's worth of work: past this, a client sends several batches.
MAX_QUOTES_PER_BATCH = 50


@transaction.atomic
def quote_create_many(
    *,
    caller: Caller,
    jobs: list[dict],
    schedule: CreditSchedule,
    session_id: str | None = None,
) -> list[Quote]:
    """Create one quote per job ({files, ops, ttl_seconds?}), all or nothing.

    Every job is priced before anything is written, then all quotes go in with one
    multi-row INSERT in one transaction: either every quote exists or none does. A job the
    schedule refuses raises ValidationFailed with details {"quotes": {index: {...}}}.
    """
    if not 1 <= len(jobs) <= MAX_QUOTES_PER_BATCH:
        raise ValidationFailed(
            f"A batch holds 1 to {MAX_QUOTES_PER_BATCH} quotes.",
            details={"quotes": [f"Send 1 to {MAX_QUOTES_PER_BATCH} quotes, got {len(jobs)}."]},
        )
    owner_session = owner_session_id(caller, session_id=session_id)
    snapshot = schedule.snapshot()
    now = timezone.now()
    quotes = []
    for index, job in enumerate(jobs):
        try:
            quotes.append(
                _quote_priced(
                    caller=caller,
                    session_id=owner_session,
                    files=job["files"],
                    ops=job["ops"],
                    schedule=schedule,
                    ttl_seconds=job.get("ttl_seconds"),
                    snapshot=snapshot,
                    now=now,
                )
            )
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, details={"quotes": {index: exc.details}}) from exc
    return Quote.objects.bulk_create(quotes)


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


def quote_expire_many(*, quotes: QuerySet[Quote]) -> int:
    """Staff action: expire the quotes of the `quotes` queryset that are still active;
    returns how many. One UPDATE statement whatever the selection (a filtered queryset
    becomes a subquery), never a read of the ids first."""
    return quotes.filter(status=QuoteStatus.ACTIVE).update(status=QuoteStatus.EXPIRED)


def quote_cleanup() -> dict[str, int]:
    """Scheduled cleanup (single-flight via settings.CLEANUPS): mark active quotes past
    expiry as expired, then delete quotes whose expiry is older than QUOTE_RETENTION
    (used quotes included: a quote is used before it expires). Returns the counts."""
    batch_size = settings.QUOTE_CLEANUP_BATCH_SIZE
    now = timezone.now()
    # Share links first: they name quotes without a foreign key (see QuoteShare), and a
    # share's expires_at is its quote's, so none outlives the quote it opens.
    change_in_batches(
        QuoteShare.objects.filter(expires_at__lt=now - settings.QUOTE_RETENTION),
        key="expires_at",
        batch_size=batch_size,
    )
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
