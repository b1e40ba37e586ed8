"""Query-parameter filters of GET /api/quotes."""

from django.core.validators import RegexValidator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import CharFilter, ChoiceFilter, IsoDateTimeFilter

from config.filters import StrictFilterSet
from quotes.identity import SESSION_ID_RE, SESSION_ID_RULE
from quotes.models import QuoteStatus


class QuoteFilter(StrictFilterSet):
    """status (the effective one, as a quote reads), session_id, created_after (≥),
    created_before (<)."""

    status = ChoiceFilter(choices=QuoteStatus.choices, method="filter_status")
    session_id = CharFilter(
        max_length=128, validators=[RegexValidator(SESSION_ID_RE, f"Must be {SESSION_ID_RULE}.")]
    )
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """An active quote past expires_at is expired already, cleanup or not."""
        now = timezone.now()
        if value == QuoteStatus.ACTIVE:
            return queryset.filter(status=QuoteStatus.ACTIVE, expires_at__gt=now)
        if value == QuoteStatus.EXPIRED:
            return queryset.filter(
                Q(status=QuoteStatus.EXPIRED) | Q(status=QuoteStatus.ACTIVE, expires_at__lte=now)
            )
        return queryset.filter(status=value)
