"""Reads of quote runs; a run of someone else, or past retention, never leaves here."""

import uuid

from quotes.identity import Caller, caller_owner_q
from quotes.runs.models import QuoteRun


def quote_run_get_for_caller(*, run_id: uuid.UUID | str, caller: Caller) -> QuoteRun | None:
    """The run if it is within retention and the caller may see it (owner by token, or
    same session id), else None."""
    return QuoteRun.objects.live().filter(caller_owner_q(caller), pk=run_id).first()
