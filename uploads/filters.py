"""Query-parameter filters of GET /api/uploads."""

from django.conf import settings
from django_filters import ChoiceFilter

from config.filters import StrictFilterSet


def upload_type_choices() -> list[tuple[str, str]]:
    """The media types uploads may have (UPLOAD_ALLOWED_TYPES), read per request."""
    return [(media_type, media_type) for media_type in settings.UPLOAD_ALLOWED_TYPES]


class UploadFilter(StrictFilterSet):
    content_type = ChoiceFilter(choices=upload_type_choices)
