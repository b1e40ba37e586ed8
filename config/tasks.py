"""Celery tasks of the project itself: the scheduled cleanups."""

from celery import shared_task

from config.cleanup import cleanup_run


@shared_task(name="config.cleanup", ignore_result=True)
def cleanup_task(name: str) -> dict | None:
    return cleanup_run(name=name)
