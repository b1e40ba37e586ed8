"""ASGI entry point: `python -m uvicorn config.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

# Imported after Django is set up: the guards read settings.
from config.cors import CorsAsgiMiddleware  # noqa: E402
from config.request_id import RequestIdAsgiMiddleware  # noqa: E402
from uploads.asgi import UploadBodyLimitMiddleware  # noqa: E402

# Oversized upload bodies are refused before Django spools them to a temporary file.
# CORS around the guards: their own answers (413, ...) carry the CORS headers too.
# RequestIdAsgiMiddleware outermost: every answer, the guards' and CORS preflights'
# included, carries X-Request-ID.
application = RequestIdAsgiMiddleware(
    CorsAsgiMiddleware(UploadBodyLimitMiddleware(django_application))
)
