"""System checks of the project's own settings."""

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string


@register(Tags.security, deploy=True)
def check_csrf_middleware(app_configs, **kwargs):
    """Django's security.W003, for a CSRF middleware that is a subclass of Django's (it is
    silenced in settings because it only recognises Django's own path)."""
    for path in settings.MIDDLEWARE:
        middleware = import_string(path)
        if isinstance(middleware, type) and issubclass(middleware, CsrfViewMiddleware):
            return []
    return [
        Warning(
            "No CsrfViewMiddleware (or subclass) in MIDDLEWARE: the admin's forms are not "
            "protected against cross-site request forgery.",
            id="config.W003",
        )
    ]
