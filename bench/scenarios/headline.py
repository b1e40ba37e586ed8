"""The figures of the performance goals (bench/goals.py), measured with wrk on `web`.

A bearer GET of one quote at 16 clients and at 1 (its p50), a bearer POST creating a
quote at 16 clients, and a JSON 404 that touches no database at 16 clients; each as a
ratio to pgbench -S at the same concurrency.
"""

from bench.goals import NOT_FOUND, QUOTE_GET, QUOTE_POST
from bench.scenarios.quotes import job

CONCURRENCY = 16


def run(bench) -> None:
    from quotes.identity import Caller
    from quotes.selectors import credit_schedule_active
    from quotes.serializers import JobInputSerializer
    from quotes.services import quote_create

    owner = bench.make_user()
    token = bench.token_for(owner)
    schedule = credit_schedule_active()
    data = JobInputSerializer(data=job(None), context={"schedule": schedule})
    data.is_valid(raise_exception=True)
    quote = quote_create(
        caller=Caller(user=owner, session_id=None), schedule=schedule, **data.validated_data
    )
    path = f"/api/quotes/{quote.id}"

    bench.wrk(QUOTE_GET, path, concurrency=CONCURRENCY, token=token)
    bench.wrk(QUOTE_GET, path, concurrency=1, token=token)
    bench.wrk(
        QUOTE_POST,
        "/api/quotes",
        method="POST",
        concurrency=CONCURRENCY,
        token=token,
        body=job(None),
        expect_status=201,
    )
    bench.wrk(NOT_FOUND, "/api/no-such-endpoint", concurrency=CONCURRENCY, expect_status=404)
