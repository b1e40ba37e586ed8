"""ASGI entry point: `python -m uvicorn config.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

# Imported after Django is set up: the guard reads settings.
from uploads.asgi import UploadBodyLimitMiddleware  # noqa: E402

# Oversized upload bodies are refused before Django spools them to a temporary file.
application = UploadBodyLimitMiddleware(django_application)
