"""Reads of credit schedules and quotes; a quote of someone else never leaves here."""

import uuid
from collections.abc import Mapping

from django.db.models import QuerySet

from config.errors import ServiceUnavailable
from config.filters import filterset_apply
from quotes.filters import QuoteFilter
from quotes.identity import Caller, caller_owner_q
from quotes.models import CreditSchedule, Quote


def credit_schedule_active() -> CreditSchedule:
    """The active schedule. There always is one: migrate and flush seed it (QuotesConfig,
    post_migrate), publish and activate swap it in one transaction, the admin never
    deletes it. Without one, ServiceUnavailable (503), never a write from here."""
    schedule = CreditSchedule.objects.filter(is_active=True).first()
    if schedule is None:
        raise ServiceUnavailable("No active credit schedule; run `manage.py migrate`.")
    return schedule


def quote_get_for_caller(*, quote_id: uuid.UUID | str, caller: Caller) -> Quote | None:
    """The quote if the caller may see it (owner by token, or same session id), else None."""
    try:
        # get(), not first(): a primary-key lookup needs no ORDER BY compiled and sent
        return Quote.objects.get(caller_owner_q(caller), pk=quote_id)
    except Quote.DoesNotExist:
        return None


def quote_newest_active_for_session(*, session_id: str) -> Quote | None:
    """The newest quote of the session that is active and unexpired right now."""
    return Quote.objects.active().filter(session_id=session_id).order_by("-created_at").first()


def quote_list_for_caller(*, caller: Caller, filters: Mapping[str, str]) -> QuerySet[Quote]:
    """The caller's quotes (its user's and its session's) narrowed by QuoteFilter; a bad
    filter is ValidationFailed. Unordered: the list's pagination orders it."""
    quotes = Quote.objects.filter(caller_owner_q(caller))
    return filterset_apply(QuoteFilter, filters=filters, queryset=quotes)
