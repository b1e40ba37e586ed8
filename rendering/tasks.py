"""Celery tasks of the rendering app (thin: they call services)."""

from celery import shared_task

from config.job_lease import LeaseHeld
from rendering.services.render_jobs import render_job_run

# Retries while another attempt holds the job: each waits for that lease to end.
LEASE_RETRIES = 5


@shared_task(bind=True, name="rendering.render_job", ignore_result=True, max_retries=LEASE_RETRIES)
def render_job_task(self, job_id: str) -> str:
    """Run one attempt of a render job. A duplicate delivery finds it finished and does
    nothing; one that finds it held by a live attempt retries when that lease ends."""
    try:
        return render_job_run(job_id=job_id)
    except LeaseHeld as held:
        raise self.retry(countdown=held.retry_in_s) from held
