"""Atelier project configuration; importing it loads the Celery app for @shared_task."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
