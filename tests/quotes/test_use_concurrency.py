"""Use exactly once: 30 concurrent HTTP calls from several processes, one 200."""

from collections import Counter

import pytest
from rest_framework.test import APIClient

from quotes.models import Quote, QuoteStatus
from tests.concurrency import fire_concurrently

SESSION = "sess_concurrency_0001"
CALLS = 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_uses_exactly_one_wins():
    # given: an active quote of a session
    client = APIClient()
    client.credentials(HTTP_X_SESSION_ID=SESSION)
    created = client.post(
        "/api/quotes",
        {
            "session_id": SESSION,
            "files": [{"id": "a", "name": "a.jpg", "size_bytes": 1, "width": 10, "height": 10}],
            "ops": {"upscale": True},
        },
        format="json",
    )
    assert created.status_code == 201
    quote_id = created.json()["id"]

    def use(_index):
        caller = APIClient()
        caller.credentials(HTTP_X_SESSION_ID=SESSION)
        response = caller.post(f"/api/quotes/{quote_id}/use")
        return response.status_code, response.json().get("error")

    # when: 30 uses at once from 5 processes
    outcomes = fire_concurrently(use, CALLS, processes=5)

    # then
    counts = Counter(outcomes)
    assert counts[(200, None)] == 1, counts
    assert counts[(409, "quote_used")] == CALLS - 1, counts
    quote = Quote.objects.get(pk=quote_id)
    assert quote.status == QuoteStatus.USED
    assert quote.used_at is not None
