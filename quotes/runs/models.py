"""Quote runs (a job quoted by several providers) and their durable, ordered event log."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class QuoteRunStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class QuoteRunEventType(models.TextChoices):
    RUN_STARTED = "run.started", "Run started"
    PROVIDER_STARTED = "provider.started", "Provider started"
    PROVIDER_PROGRESS = "provider.progress", "Provider progress"
    PROVIDER_QUOTE = "provider.quote", "Provider quote"
    PROVIDER_FAILED = "provider.failed", "Provider failed"
    RUN_COMPLETED = "run.completed", "Run completed"
    RUN_FAILED = "run.failed", "Run failed"


TERMINAL_EVENT_TYPES = frozenset({QuoteRunEventType.RUN_COMPLETED, QuoteRunEventType.RUN_FAILED})


class QuoteRunQuerySet(models.QuerySet):
    def live(self):
        """Within retention: a run past expires_at is gone for clients, cleanup or not."""
        return self.filter(expires_at__gt=timezone.now())

    def past_retention(self):
        return self.filter(expires_at__lte=timezone.now())


class QuoteRun(models.Model):
    """One job quoted by the providers named in `providers`. Owned by a user, a session
    id, or both. `last_event_id` is the seq of the newest event (0 before the first)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quote_runs",
    )
    # NULL, not "", when absent (as on Quote): no caller's session ever equals a missing one.
    session_id = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(
        max_length=16, choices=QuoteRunStatus.choices, default=QuoteRunStatus.PROCESSING
    )
    # {files, ops, schedule: {version, ops, ...}}: the schedule is copied at creation so
    # a redelivered task prices exactly what the first attempt priced.
    job = models.JSONField()
    providers = models.JSONField(help_text="Names of the providers asked, in order.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    last_event_id = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease of the attempt running the workflow (config/job_lease.py).
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)

    objects = QuoteRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["expires_at"], name="quote_run_expires_idx"),
            models.Index(fields=["session_id", "-created_at"], name="quote_run_session_idx"),
            models.Index(fields=["status", "-created_at"], name="quote_run_status_idx"),
            # Whether an event partition's runs have all passed retention (partitions.py).
            models.Index(fields=["created_at", "expires_at"], name="quote_run_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(session_id__isnull=False),
                name="quote_run_has_owner",
            ),
            models.CheckConstraint(condition=~Q(session_id=""), name="quote_run_session_not_blank"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="quote_run_expires_after_created",
            ),
            models.CheckConstraint(
                condition=Q(status=QuoteRunStatus.PROCESSING, finished_at__isnull=True)
                | (~Q(status=QuoteRunStatus.PROCESSING) & Q(finished_at__isnull=False)),
                name="quote_run_finished_iff_terminal",
            ),
        ]

    def __str__(self):
        return f"quote run {self.id} ({self.status})"

    @property
    def offers(self) -> list[dict]:
        return list((self.result or {}).get("offers", []))


class QuoteRunEvent(models.Model):
    """One event of a run. seq is 1, 2, 3 ... per run with no gap (allocated under the
    run's row lock); `key` names the step that emitted it so a redelivered task can
    never append the same step twice.

    `run_created_at` is the run's created_at, copied in: on PostgreSQL the table is
    partitioned by it (quotes/runs/partitions.py), so every event of a run lives in one
    partition and retention drops whole partitions instead of deleting rows. Being a
    function of `run`, it leaves the uniqueness of (run, seq) and (run, key) as it was;
    PostgreSQL only wants the partition key in every unique constraint.
    """

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(QuoteRun, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32, choices=QuoteRunEventType.choices)
    key = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    run_created_at = models.DateTimeField()

    class Meta:
        ordering = ["run_id", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "seq", "run_created_at"], name="quote_run_event_seq_unique"
            ),
            models.UniqueConstraint(
                fields=["run", "key", "run_created_at"], name="quote_run_event_key_unique"
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="quote_run_event_seq_positive"),
        ]

    def __str__(self):
        return f"{self.run_id} #{self.seq} {self.type}"
