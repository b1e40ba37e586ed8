"""Query-parameter filters of the rendering lists (GET /api/shops, GET /api/renders)."""

from django_filters import ChoiceFilter, UUIDFilter

from config.filters import StrictFilterSet
from rendering.models import RenderJobStatus


class ShopFilter(StrictFilterSet):
    """No filters yet: every query parameter but the pagination's is refused."""


class RenderJobFilter(StrictFilterSet):
    shop_id = UUIDFilter(field_name="shop_id")
    status = ChoiceFilter(choices=RenderJobStatus.choices)
