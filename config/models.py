"""Shared model plumbing: the scheduler lease table, Idempotency-Key records, cleanup runs."""

from django.db import models
from django.utils import timezone


class SchedulerLease(models.Model):
    """A named lease in the database: whoever holds an unexpired row runs the job.

    Works the same on PostgreSQL and SQLite, survives restarts, and frees itself when a
    holder dies (the lease simply expires), unlike an in-process lock.
    """

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class IdempotencyKeyState(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"


class IdempotencyKey(models.Model):
    """One Idempotency-Key of one caller on one method and path, and the answer it got.

    Written only by `config.idempotency`: inserted `running` under a lease before the
    request runs, answered in the same transaction as the request's change, `completed`
    once the after-commit work (task publishing) succeeded. `response_body` is the exact
    JSON text that was sent, so a replay is byte for byte the first answer.
    """

    scope = models.CharField(max_length=200, help_text="user:<id>, session:<id> or ip:<addr>")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="HMAC-SHA256 of the parsed request")
    state = models.CharField(
        max_length=10, choices=IdempotencyKeyState.choices, default=IdempotencyKeyState.RUNNING
    )
    lease = models.UUIDField(help_text="Token of the request that holds the key")
    locked_until = models.DateTimeField(help_text="A running key is free to take after this")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "idempotency key"
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "method", "path", "key"], name="idempotency_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"{self.method} {self.path} {self.key}"


class CleanupRunOutcome(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


class CleanupRun(models.Model):
    """One run of a registered cleanup (config.cleanup.cleanup_run): what was due when it
    started (`found`, for cleanups with a backlog counter), what it changed (`cleaned`,
    the sum of `counts`), how long it took and whether it raised."""

    name = models.CharField(max_length=100)
    outcome = models.CharField(
        max_length=10, choices=CleanupRunOutcome.choices, default=CleanupRunOutcome.OK
    )
    found = models.BigIntegerField(null=True, blank=True)
    cleaned = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # The dashboard: a cleanup's runs over a window; the prune: old runs by age.
            models.Index(fields=["name", "-started_at"], name="cleanup_run_name_started_idx"),
            models.Index(fields=["started_at"], name="cleanup_run_started_idx"),
        ]

    def __str__(self):
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration_ms(self) -> int:
        return round((self.finished_at - self.started_at).total_seconds() * 1000)
