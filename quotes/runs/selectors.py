"""Reads of quote runs; a run of someone else, or past retention, never leaves here."""

from quotes.identity import Caller, caller_may_see
from quotes.runs.models import QuoteRun


def quote_run_get_for_caller(*, run_id, caller: Caller) -> QuoteRun | None:
    """The run if it is within retention and the caller may see it (owner by token, or
    same session id), else None."""
    run = QuoteRun.objects.live().filter(pk=run_id).first()
    if run is None or not caller_may_see(
        caller, user_id=run.user_id, session_id=run.session_id or None
    ):
        return None
    return run
