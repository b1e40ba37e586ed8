"""Credit schedules (versioned prices) and quotes (priced jobs used at most once)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The schedule a fresh database starts with (the data migration holds its own frozen copy).
DEFAULT_SCHEDULE_OPS = {
    "upscale": {"base_credits": 2, "credits_per_megapixel": 4},
    "remove_background": {"base_credits": 1, "credits_per_megapixel": 2},
    "enhance": {"base_credits": 1, "credits_per_megapixel": 3},
    "resize": {"base_credits": 0, "credits_per_megapixel": 0.5},
}
DEFAULT_MAX_FILES = 20
DEFAULT_QUOTE_TTL_SECONDS = 15 * 60
# The longest TTL a caller may ask for (ttl_seconds), unless staff change it per version.
DEFAULT_MAX_QUOTE_TTL_SECONDS = 7 * 24 * 3600
# The shortest TTL a caller may ask for: a quote must live long enough to be used.
MIN_QUOTE_TTL_SECONDS = 60


def validate_schedule_ops(value) -> None:
    """ops must be {name: {base_credits: int >= 0, credits_per_megapixel: number >= 0}}."""
    if not isinstance(value, dict) or not value:
        raise ValidationError("ops must be a non-empty object of {op: {...}}.")
    for name, entry in value.items():
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValidationError(f"Op name {name!r} must be a string of 1-64 characters.")
        if not isinstance(entry, dict) or set(entry) != {"base_credits", "credits_per_megapixel"}:
            raise ValidationError(
                f"Op {name!r} needs exactly base_credits and credits_per_megapixel."
            )
        base, per_mp = entry["base_credits"], entry["credits_per_megapixel"]
        if isinstance(base, bool) or not isinstance(base, int) or base < 0:
            raise ValidationError(f"Op {name!r}: base_credits must be an integer >= 0.")
        if isinstance(per_mp, bool) or not isinstance(per_mp, int | float) or per_mp < 0:
            raise ValidationError(f"Op {name!r}: credits_per_megapixel must be a number >= 0.")


class CreditSchedule(models.Model):
    """A version of the price list. Rows are never edited in place once quotes use them:
    a change is a new version, and at most one version is active (database-enforced)."""

    version = models.PositiveIntegerField(unique=True)
    is_active = models.BooleanField(default=False)
    ops = models.JSONField(
        validators=[validate_schedule_ops],
        help_text='{"<op>": {"base_credits": int, "credits_per_megapixel": number}}',
    )
    max_files = models.PositiveIntegerField(default=DEFAULT_MAX_FILES)
    quote_ttl_seconds = models.PositiveIntegerField(default=DEFAULT_QUOTE_TTL_SECONDS)
    max_quote_ttl_seconds = models.PositiveIntegerField(
        default=DEFAULT_MAX_QUOTE_TTL_SECONDS,
        help_text=f"The longest ttl_seconds a caller may ask for (at least "
        f"{MIN_QUOTE_TTL_SECONDS} and at least quote_ttl_seconds).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="credit_schedule_one_active",
            ),
            models.CheckConstraint(condition=Q(max_files__gte=1), name="credit_schedule_max_files"),
            models.CheckConstraint(
                condition=Q(quote_ttl_seconds__gte=1), name="credit_schedule_ttl_positive"
            ),
            # The range [MIN_QUOTE_TTL_SECONDS, max] is never empty and holds the default.
            models.CheckConstraint(
                condition=Q(max_quote_ttl_seconds__gte=MIN_QUOTE_TTL_SECONDS)
                & Q(max_quote_ttl_seconds__gte=models.F("quote_ttl_seconds")),
                name="credit_schedule_max_ttl",
            ),
        ]

    def __str__(self):
        return f"v{self.version}{' (active)' if self.is_active else ''}"

    def snapshot(self) -> dict:
        """The copy a quote keeps: the API shape of GET /api/credit-schedule."""
        return {
            "version": self.version,
            "ops": self.ops,
            "max_files": self.max_files,
            "quote_ttl_seconds": self.quote_ttl_seconds,
            "max_quote_ttl_seconds": self.max_quote_ttl_seconds,
        }

    def quote_ttl_error(self, ttl_seconds: int) -> str | None:
        """Why this schedule refuses a quote TTL a caller asked for; None when it allows it.
        The one rule of per-quote TTLs: MIN_QUOTE_TTL_SECONDS <= ttl <= max_quote_ttl_seconds."""
        if MIN_QUOTE_TTL_SECONDS <= ttl_seconds <= self.max_quote_ttl_seconds:
            return None
        return (
            f"Must be an integer from {MIN_QUOTE_TTL_SECONDS} to "
            f"{self.max_quote_ttl_seconds} seconds."
        )


class QuoteStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    USED = "used", "Used"
    EXPIRED = "expired", "Expired"


class QuoteQuerySet(models.QuerySet):
    def active(self):
        """Usable right now: stored active and not past expiry (cleanup or not)."""
        return self.filter(status=QuoteStatus.ACTIVE, expires_at__gt=timezone.now())

    def expired_uncleaned(self):
        """Past expiry but still stored as active: what the next cleanup will mark."""
        return self.filter(status=QuoteStatus.ACTIVE, expires_at__lte=timezone.now())


class Quote(models.Model):
    """A priced job. Owned by a user, a session id, or both; used at most once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # NULL, not "", when absent: no caller's session ever equals a missing one.
    session_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotes",
        # quote_user_created_idx starts with user: a second index on it alone would only
        # cost every write.
        db_index=False,
    )
    files = models.JSONField()
    ops = models.JSONField()
    credits_total = models.PositiveIntegerField()
    per_file_credits = models.JSONField()
    per_file = models.JSONField()
    # The schedule as it was when priced, so later edits never change an issued quote.
    schedule = models.JSONField()
    status = models.CharField(
        max_length=16, choices=QuoteStatus.choices, default=QuoteStatus.ACTIVE
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = QuoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Every index costs each INSERT and each status change (the cleanup rewrites a
        # million rows at scale): no index on session_id alone (the session index below
        # starts with it) and none on status alone (too few values to be worth it).
        indexes = [
            # The cleanup's batches (keyset on expires_at, id) and expiry filters.
            models.Index(fields=["expires_at"], name="quote_expires_idx"),
            # Staff analytics (conversion per creation day, quotes.analytics) and the
            # admin's newest-first list: a range of creation times. Appends only.
            models.Index(fields=["created_at"], name="quote_created_idx"),
            # Newest active quote of a session: equality on both, newest first; also any
            # lookup by session_id alone.
            models.Index(
                fields=["session_id", "status", "-created_at"], name="quote_session_status_idx"
            ),
            # A user's quotes newest first (GET /api/quotes); also the lookups by user.
            models.Index(fields=["user", "-created_at"], name="quote_user_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=QuoteStatus.USED, used_at__isnull=False)
                | (~Q(status=QuoteStatus.USED) & Q(used_at__isnull=True)),
                name="quote_used_at_iff_used",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="quote_expires_after_created",
            ),
            models.CheckConstraint(condition=~Q(session_id=""), name="quote_session_not_blank"),
        ]

    def __str__(self):
        return f"quote {self.id} ({self.effective_status})"

    @property
    def effective_status(self) -> str:
        """The status a client sees: an active quote past expires_at is expired already."""
        if self.status == QuoteStatus.ACTIVE and self.expires_at <= timezone.now():
            return QuoteStatus.EXPIRED
        return self.status


class QuoteShareQuerySet(models.QuerySet):
    def active(self):
        """Links that still open their quote: not revoked, quote not expired (nor expired
        early by its owner)."""
        return self.filter(
            revoked_at__isnull=True,
            quote__expires_at__gt=timezone.now(),
            quote__status__in=[QuoteStatus.ACTIVE, QuoteStatus.USED],
        )


class QuoteShare(models.Model):
    """A read-only link to a quote for anyone who holds it, until the quote expires or the
    owner revokes it. The token handed out is this row's id signed with SECRET_KEY
    (quotes.shares): a forged token never reaches the database, and a stolen database
    alone makes no working token. Revocation is this row's revoked_at, so every instance
    sees it at once. At most one unrevoked link per quote (database-enforced).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database foreign key and no ORM cascade: a referenced Quote would lose the
    # cleanup's one-statement batch deletes (config.cleanup.change_in_batches). The quote
    # cleanup deletes shares by expires_at before their quotes; a share whose quote is
    # gone otherwise (its user deleted) joins to nothing and reads as 404 until then.
    quote = models.ForeignKey(
        Quote,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # The partial unique index below serves every lookup by quote.
        db_index=False,
        related_name="shares",
    )
    # The quote's expires_at (which never changes), copied: the token carries it too.
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = QuoteShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The cleanup's batches, keyset on (expires_at, id).
            models.Index(fields=["expires_at"], name="quote_share_expires_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["quote"],
                condition=Q(revoked_at__isnull=True),
                name="quote_share_one_unrevoked",
            ),
        ]

    def __str__(self):
        return f"share {self.id} of quote {self.quote_id}"
