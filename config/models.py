"""Shared model plumbing and the scheduler lease table."""

from django.db import models


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
