"""The Celery app: Redis broker, JSON only, Django settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Enqueue with config.queue.enqueue_on_commit, the one way: after the commit, and a broker
# error compensates and answers 503 (Celery's delay_on_commit would do neither).
app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
