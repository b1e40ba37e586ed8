"""WSGI entry point, for tools that want one; the server of record is ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.request_id import RequestIdWsgiMiddleware

# Outermost: every answer carries X-Request-ID.
application = RequestIdWsgiMiddleware(get_wsgi_application())
