"""ASGI entry point: `python -m uvicorn config.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_asgi_application()

# Imported after Django is set up: the guards read settings.
from config.cors import CorsAsgiMiddleware  # noqa: E402
from config.edge import EdgeAsgiMiddleware  # noqa: E402

# Body limits, chunked bodies and Retry-After, before Django reads a byte (config/edge.py).
# CORS outermost: the guards' own answers (413, ...) carry the CORS headers too.
application = CorsAsgiMiddleware(EdgeAsgiMiddleware(django_application))
