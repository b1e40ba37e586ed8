"""Make sure every registered cleanup has a django-celery-beat schedule staff can edit."""

import json

from django.conf import settings


def ensure_cleanup_schedules(**kwargs) -> None:
    """post_migrate hook: create missing schedules; never overwrite what staff changed."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (_path, interval_s) in settings.CLEANUPS.items():
        task_name = f"cleanup: {name}"
        if PeriodicTask.objects.filter(name=task_name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=interval_s, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(
            name=task_name,
            task="config.cleanup",
            interval=interval,
            kwargs=json.dumps({"name": name}),
            description=f"Runs the {name} cleanup (single-flight across beat instances).",
        )
