"""ASGI entry point: `python -m uvicorn config.asgi:application`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# What django.core.asgi.get_asgi_application() does, with the handler that detaches a
# stream's body from the request machinery (config/asgi_handler.py).
django.setup(set_prefix=False)
from config.asgi_handler import AtelierAsgiHandler, StreamDetachMiddleware  # noqa: E402

django_application = AtelierAsgiHandler()

# Imported after Django is set up: the guards read settings.
from config.cors import CorsAsgiMiddleware  # noqa: E402
from config.edge import EdgeAsgiMiddleware  # noqa: E402
from config.request_id import RequestIdAsgiMiddleware  # noqa: E402
from config.shutdown import LifespanAsgiMiddleware  # noqa: E402

# Body limits, chunked bodies and Retry-After, before Django reads a byte (config/edge.py).
# CORS around the guards: their own answers (413, ...) carry the CORS headers too.
# RequestIdAsgiMiddleware outside them: every answer, the guards' and CORS preflights'
# included, carries X-Request-ID. The lifespan protocol (streams drain on SIGTERM,
# config/shutdown.py) is answered before any of them. StreamDetachMiddleware sends a
# detached stream's body once every frame below it has returned.
application = LifespanAsgiMiddleware(
    StreamDetachMiddleware(
        RequestIdAsgiMiddleware(CorsAsgiMiddleware(EdgeAsgiMiddleware(django_application)))
    )
)
