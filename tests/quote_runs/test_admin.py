"""Admin: the run list shows status and best offer; a run page shows offers and events."""

import pytest

from quotes.runs.services import quote_run_execute
from tests.quote_runs.factories import QuoteRunFactory


@pytest.mark.django_db
def test_admin_lists_runs_and_shows_offers_and_the_event_timeline(staff_user, client):
    # given: a completed run, seen by a superuser
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    run = quote_run_execute(run_id=QuoteRunFactory(providers=["standard", "priority"]).id)
    best = run.result["offers"][0]

    # when
    listing = client.get("/admin/quote_runs/quoterun/")
    page = client.get(f"/admin/quote_runs/quoterun/{run.id}/change/")

    # then: the list shows the best offer, the page the timeline
    assert listing.status_code == 200
    assert f"{best['provider']}: {best['credits_total']} credits" in listing.text
    assert page.status_code == 200
    assert "ETA" in page.text
    assert page.text.count("provider.progress") >= 4
    assert "run.completed" in page.text
