"""The project's own app: shared plumbing, scheduler leases, cleanup schedules."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConfigConfig(AppConfig):
    name = "config"
    label = "config"
    verbose_name = "Operations"

    def ready(self):
        # Connect their Celery signal receivers (request ids into and out of task
        # messages, task metrics) in web processes and workers alike.
        # Registers the system checks.
        from config import checks, metrics, request_id  # noqa: F401
        from config.schedules import ensure_cleanup_schedules

        post_migrate.connect(ensure_cleanup_schedules, sender=self)
