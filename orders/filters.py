"""Query-parameter filters of GET /api/orders."""

from django_filters import ChoiceFilter

from config.filters import StrictFilterSet
from orders.models import OrderStatus


class OrderFilter(StrictFilterSet):
    status = ChoiceFilter(choices=OrderStatus.choices)
