"""Celery tasks of the rendering app (thin: they call services)."""

from celery import shared_task

from rendering.services import render_job_run


@shared_task(name="rendering.render_job", ignore_result=True)
def render_job_task(job_id: str) -> str:
    """Run one render job; a duplicate delivery finds it claimed and does nothing."""
    return render_job_run(job_id=job_id)
