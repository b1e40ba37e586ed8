"""The Celery app: Redis broker, JSON only, Django settings under the CELERY_ namespace."""

import os
from logging.config import dictConfig

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Enqueue with config.queue.enqueue_on_commit, the one way: after the commit, and a broker
# error compensates and answers 503 (Celery's delay_on_commit would do neither).
app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _logging_from_settings(**kwargs) -> None:
    """Workers and beat log like the web processes: settings.LOGGING (LOG_LEVEL,
    LOG_FORMAT, request ids) instead of Celery's own format; `--loglevel` is not used."""
    from django.conf import settings

    dictConfig(settings.LOGGING)
