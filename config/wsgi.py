"""WSGI entry point of the request/response API: `granian --interface wsgi
config.wsgi:application` (Procfile `web`). Event streams are on ASGI (config.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

# Imported after Django is set up: the guards read settings.
from config.edge import EdgeWsgiMiddleware  # noqa: E402
from config.request_id import RequestIdWsgiMiddleware  # noqa: E402
from config.topology import StreamsOnAsgiOnly  # noqa: E402

# The same body limits, chunked bodies and Retry-After as under ASGI (config/edge.py);
# RequestIdWsgiMiddleware outermost: every answer carries X-Request-ID.
application = RequestIdWsgiMiddleware(EdgeWsgiMiddleware(StreamsOnAsgiOnly(django_application)))
