"""Leases of background jobs (render jobs, quote runs): the rule every claim follows.

A worker claims a job for one attempt: `attempts + 1` and `claimed_until = now + JOB_LEASE_S`,
in one guarded UPDATE, so of any number of concurrent deliveries exactly one gets the
attempt. A worker that dies leaves its lease to expire; the task it was running is
redelivered by the broker (acks_late: the message is only acknowledged when the task
returns) and the next claim after the expiry takes the job over. Attempts are capped, so a
job that keeps killing its worker ends failed instead of looping. A delivery that finds a
live lease retries when it ends (LeaseHeld), so a redelivery that comes early is not lost.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings


class LeaseHeld(Exception):
    """Another attempt holds the job's lease; try again in `retry_in_s` seconds."""

    def __init__(self, *, job_id, claimed_until: datetime, now: datetime):
        self.retry_in_s = max(1, math.ceil((claimed_until - now).total_seconds()))
        super().__init__(f"job {job_id} is leased for another {self.retry_in_s} s")


def lease_until(now: datetime) -> datetime:
    """When a claim taken at `now` expires: JOB_LEASE_S, longer than a task may run."""
    return now + timedelta(seconds=settings.JOB_LEASE_S)
