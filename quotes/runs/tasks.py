"""Celery task of quote runs: the provider workflow (safe to deliver twice)."""

from celery import shared_task
from django.db import DatabaseError

from config.job_lease import LeaseHeld
from quotes.runs.services import quote_run_execute

RETRY_BACKOFF_MAX_S = 60
MAX_RETRIES = 5


@shared_task(
    bind=True,
    name="quote_runs.execute",
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=RETRY_BACKOFF_MAX_S,
    max_retries=MAX_RETRIES,
)
def quote_run_task(self, run_id: str) -> None:
    """A delivery that finds the run held by a live attempt retries when that lease ends."""
    try:
        quote_run_execute(run_id=run_id)
    except LeaseHeld as held:
        raise self.retry(countdown=held.retry_in_s) from held
