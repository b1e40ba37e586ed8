"""The project's own app: shared plumbing, scheduler leases, cleanup schedules."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConfigConfig(AppConfig):
    name = "config"
    label = "config"
    verbose_name = "Operations"

    def ready(self):
        from config import checks  # noqa: F401 - registers the checks
        from config.schedules import ensure_cleanup_schedules

        post_migrate.connect(ensure_cleanup_schedules, sender=self)
