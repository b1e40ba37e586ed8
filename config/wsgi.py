"""WSGI entry point of the request/response API: `granian --interface wsgi
config.wsgi:application` (Procfile `web`). Event streams are on ASGI (config.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

# Imported after Django is set up, like config.asgi does.
from config.topology import StreamsOnAsgiOnly  # noqa: E402

application = StreamsOnAsgiOnly(django_application)
