"""Reads of credit schedules and quotes; a quote of someone else never leaves here."""

from quotes.identity import Caller, caller_may_see
from quotes.models import CreditSchedule, Quote


def credit_schedule_active() -> CreditSchedule:
    """The active schedule; seeds the default one if a database has none (e.g. after a
    test flush), so pricing never fails for want of a schedule."""
    schedule = CreditSchedule.objects.filter(is_active=True).first()
    if schedule is not None:
        return schedule
    from quotes.services import credit_schedule_ensure_default

    return credit_schedule_ensure_default()


def quote_get_for_caller(*, quote_id, caller: Caller) -> Quote | None:
    """The quote if the caller may see it (owner by token, or same session id), else None."""
    quote = Quote.objects.filter(pk=quote_id).first()
    if quote is None or not caller_may_see(
        caller, user_id=quote.user_id, session_id=quote.session_id
    ):
        return None
    return quote


def quote_newest_active_for_session(*, session_id: str) -> Quote | None:
    """The newest quote of the session that is active and unexpired right now."""
    return Quote.objects.active().filter(session_id=session_id).order_by("-created_at").first()
