"""Reads of credit schedules and quotes; a quote of someone else never leaves here."""

from quotes.identity import Caller, caller_owner_q
from quotes.models import CreditSchedule, Quote


def credit_schedule_active() -> CreditSchedule:
    """The active schedule (the migration seeds one; the admin never deletes the active one).

    Raises CreditSchedule.DoesNotExist when none is active, e.g. after a flush: callers
    that must price use quotes.services.credit_schedule_ensure_default instead.
    """
    return CreditSchedule.objects.get(is_active=True)


def quote_get_for_caller(*, quote_id, caller: Caller) -> Quote | None:
    """The quote if the caller may see it (owner by token, or same session id), else None."""
    return Quote.objects.filter(caller_owner_q(caller), pk=quote_id).first()


def quote_newest_active_for_session(*, session_id: str) -> Quote | None:
    """The newest quote of the session that is active and unexpired right now."""
    return Quote.objects.active().filter(session_id=session_id).order_by("-created_at").first()
