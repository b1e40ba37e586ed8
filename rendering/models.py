"""Shops with daily render quotas, their usage counters, room sessions and render jobs."""

import functools
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

PLACEMENT_SCALE_MIN = 0.05
PLACEMENT_SCALE_MAX = 2.0
TIMEZONE_MAX_CHARS = 64


def default_daily_quota() -> int:
    return settings.DEFAULT_DAILY_RENDER_QUOTA


@functools.cache
def _zone_names() -> frozenset[str]:
    """The installed IANA zone names (configuration, read once: listing them takes ~20 ms)."""
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    """An IANA zone name ("Europe/Paris"). Checked against the names zoneinfo lists, never
    by opening whatever path the client sends: "Europe" is a directory (IsADirectoryError),
    300 characters are too long a file name (OSError)."""
    if len(value) > TIMEZONE_MAX_CHARS or value not in _zone_names():
        raise ValidationError(f"{value[:TIMEZONE_MAX_CHARS]!r} is not an IANA time zone.")


class Shop(models.Model):
    """A tenant that renders rooms; its quota day runs midnight to midnight in `timezone`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shops"
    )
    name = models.CharField(max_length=200)
    daily_quota = models.PositiveIntegerField(
        default=default_daily_quota, help_text="Composite renders accepted per quota day."
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone in which the quota day starts at midnight.",
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="shop_owner_created_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(daily_quota__gte=0), name="shop_quota_nonneg"),
        ]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class UsageDaily(models.Model):
    """One shop's counters for one quota day.

    `reserved` counts accepted renders not finished yet; `composite_renders` the completed
    ones. A render is accepted only while composite_renders + reserved < daily_quota.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="usage_days")
    date = models.DateField()
    composite_renders = models.IntegerField(default=0)
    prep_renders = models.IntegerField(default=0)
    cleanup_renders = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        constraints = [
            models.UniqueConstraint(fields=["shop", "date"], name="usage_daily_shop_date_unique"),
            models.CheckConstraint(
                condition=Q(composite_renders__gte=0), name="usage_daily_composite_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(prep_renders__gte=0), name="usage_daily_prep_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(cleanup_renders__gte=0), name="usage_daily_cleanup_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="usage_daily_reserved_nonneg"
            ),
        ]

    def __str__(self):
        return f"{self.shop} {self.date}"


class RoomSession(models.Model):
    """A room photo a shop renders products into, held as storage keys (never signed URLs).

    Sessions from the system Atelier replaces have only the `legacy_*_url` fields; their
    keys are derived from those URLs and stored the first time the session is used.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="room_sessions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_room_image_key = models.CharField(max_length=500, blank=True)
    cleaned_room_image_key = models.CharField(max_length=500, blank=True)
    legacy_original_image_url = models.URLField(max_length=2000, blank=True)
    legacy_cleaned_image_url = models.URLField(max_length=2000, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["shop", "-created_at"], name="room_session_shop_created_idx"),
        ]

    def __str__(self):
        return str(self.id)

    @property
    def render_source_key(self) -> str:
        """The room image a render starts from: the cleaned one when there is one."""
        return self.cleaned_room_image_key or self.original_room_image_key


class RenderJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class RenderJobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(status__in=[RenderJobStatus.QUEUED, RenderJobStatus.RUNNING])


class RenderJob(models.Model):
    """One product composited into one room; also the record of its quota reservation.

    While queued or running it holds one `reserved` slot of UsageDaily(shop, usage_date);
    the transition to completed or failed settles that slot exactly once. Running means
    claimed by an attempt whose lease (claimed_until) may have expired with its worker.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="render_jobs")
    room_session = models.ForeignKey(
        RoomSession, on_delete=models.CASCADE, related_name="render_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The uploads app owns UploadedFile; the job keeps its id and the key it resolved to.
    product_upload_id = models.UUIDField()
    product_image_key = models.CharField(max_length=500)
    room_image_key = models.CharField(
        max_length=500, help_text="The room image this render used (cleaned if any)."
    )
    placement_x = models.FloatField()
    placement_y = models.FloatField()
    placement_scale = models.FloatField()
    status = models.CharField(
        max_length=16, choices=RenderJobStatus.choices, default=RenderJobStatus.QUEUED
    )
    usage_date = models.DateField(help_text="The quota day whose slot this job holds.")
    result_image_key = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the latest attempt started."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease of the running attempt (config/job_lease.py): past claimed_until, its
    # worker is taken for dead and a redelivered task may claim the next attempt.
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)

    objects = RenderJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The reaper: unfinished jobs by age.
            models.Index(
                fields=["status", "created_at"],
                name="render_job_unfinished_idx",
                condition=Q(status__in=["queued", "running"]),
            ),
            models.Index(fields=["shop", "-created_at"], name="render_job_shop_created_idx"),
            # Staff dashboards (rendering.analytics): failures and latency by creation day.
            models.Index(fields=["created_at"], name="render_job_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(placement_x__gte=0, placement_x__lte=1)
                & Q(placement_y__gte=0, placement_y__lte=1)
                & Q(placement_scale__gte=PLACEMENT_SCALE_MIN)
                & Q(placement_scale__lte=PLACEMENT_SCALE_MAX),
                name="render_job_placement_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in RenderJobStatus]),
                name="render_job_status_valid",
            ),
        ]

    def __str__(self):
        return str(self.id)

    @property
    def error_or_none(self) -> str | None:
        return self.error or None
