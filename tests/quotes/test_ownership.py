"""One ownership rule for quotes and quote runs: the row's user (by token) or its session."""

import pytest
from django.db import IntegrityError, transaction

from quotes.identity import Caller
from quotes.runs.selectors import quote_run_get_for_caller
from quotes.selectors import quote_get_for_caller
from tests.quote_runs.factories import QuoteRunFactory
from tests.quotes.factories import QuoteFactory

SESSION = "s" * 16
OTHER_SESSION = "t" * 16
pytestmark = pytest.mark.django_db


def quote_visible(row, caller: Caller) -> bool:
    return quote_get_for_caller(quote_id=row.pk, caller=caller) is not None


def run_visible(row, caller: Caller) -> bool:
    return quote_run_get_for_caller(run_id=row.pk, caller=caller) is not None


KINDS = [
    pytest.param(QuoteFactory, quote_visible, id="quote"),
    pytest.param(QuoteRunFactory, run_visible, id="quote_run"),
]


@pytest.mark.parametrize(("factory", "visible"), KINDS)
def test_the_owner_by_token_or_the_same_session_sees_it_nobody_else(factory, visible, make_user):
    # given: a row owned by a user and a session
    owner, stranger = make_user(), make_user()
    row = factory(user=owner, session_id=SESSION)

    # then: its user and its session see it; another user or session, or nobody, does not
    assert visible(row, Caller(user=owner, session_id=None))
    assert visible(row, Caller(user=None, session_id=SESSION))
    assert visible(row, Caller(user=stranger, session_id=SESSION))
    assert not visible(row, Caller(user=stranger, session_id=OTHER_SESSION))
    assert not visible(row, Caller(user=None, session_id=OTHER_SESSION))
    assert not visible(row, Caller(user=None, session_id=None))


@pytest.mark.parametrize(("factory", "visible"), KINDS)
def test_a_row_without_a_session_stores_null_and_only_its_user_sees_it(factory, visible, make_user):
    owner = make_user()
    row = factory(user=owner, session_id=None)

    row.refresh_from_db()
    assert row.session_id is None
    assert visible(row, Caller(user=owner, session_id=None))
    assert not visible(row, Caller(user=None, session_id=None))
    assert not visible(row, Caller(user=make_user(), session_id=SESSION))


@pytest.mark.parametrize("factory", [QuoteFactory, QuoteRunFactory], ids=["quote", "quote_run"])
def test_the_database_refuses_an_empty_session_id(factory, make_user):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(user=make_user(), session_id="")
