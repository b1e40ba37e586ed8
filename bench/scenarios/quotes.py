"""Quotes: create (priced, stored) and get (by owner token, by session id, newest of session).

The replaced in-memory system claimed ~5 ms per create and ~2 ms per get at concurrency 1.
"""

import uuid

SINGLE_REQUESTS = 300
CONCURRENCY = 16
DURATION_S = 8
FILES_PER_JOB = 3


def job(session_id: str) -> dict:
    return {
        "session_id": session_id,
        "files": [
            {
                "id": f"f{n}",
                "name": f"photo{n}.jpg",
                "size_bytes": 2_400_000,
                "width": 4000,
                "height": 3000,
            }
            for n in range(FILES_PER_JOB)
        ],
        "ops": {"upscale": True, "remove_background": True},
    }


def run(bench) -> None:
    from quotes.identity import Caller
    from quotes.selectors import credit_schedule_active
    from quotes.serializers import JobInputSerializer
    from quotes.services import quote_create

    owner = bench.make_user()
    auth = {"Authorization": f"Bearer {bench.token_for(owner)}"}
    prefix = uuid.uuid4().hex[:12]

    def create_anonymous(index: int) -> dict:
        session_id = f"bench_{prefix}_{index:010d}"
        return {
            "method": "POST",
            "path": "/api/quotes",
            "headers": {"X-Session-Id": session_id},
            "json": job(session_id),
        }

    def create_owned(index: int) -> dict:
        return {"method": "POST", "path": "/api/quotes", "headers": auth, "json": job(None)}

    for concurrency, sizing in (
        (1, {"requests": SINGLE_REQUESTS}),
        (CONCURRENCY, {"duration_s": DURATION_S}),
    ):
        bench.load(
            f"POST /api/quotes (anonymous) c={concurrency}",
            concurrency=concurrency,
            request_factory=create_anonymous,
            **sizing,
        )
    bench.load(
        f"POST /api/quotes (bearer) c={CONCURRENCY}",
        concurrency=CONCURRENCY,
        duration_s=DURATION_S,
        request_factory=create_owned,
    )

    # One owned quote and one session quote to read back.
    schedule = credit_schedule_active()
    session_id = f"bench_{prefix}_reader"
    data = JobInputSerializer(data=job(session_id), context={"schedule": schedule})
    data.is_valid(raise_exception=True)
    session_quote = quote_create(
        caller=Caller(user=None, session_id=None), schedule=schedule, **data.validated_data
    )
    owned = JobInputSerializer(data=job(None), context={"schedule": schedule})
    owned.is_valid(raise_exception=True)
    owner_quote = quote_create(
        caller=Caller(user=owner, session_id=None), schedule=schedule, **owned.validated_data
    )

    reads = [
        ("GET /api/quotes/{id} (owner token)", f"/api/quotes/{owner_quote.id}", auth),
        (
            "GET /api/quotes/{id} (X-Session-Id)",
            f"/api/quotes/{session_quote.id}",
            {"X-Session-Id": session_id},
        ),
        ("GET /api/quotes/session/{session_id}", f"/api/quotes/session/{session_id}", None),
    ]
    for name, path, headers in reads:
        bench.load(
            f"{name} c=1", "GET", path, concurrency=1, requests=SINGLE_REQUESTS, headers=headers
        )
        bench.load(
            f"{name} c={CONCURRENCY}",
            "GET",
            path,
            concurrency=CONCURRENCY,
            duration_s=DURATION_S,
            headers=headers,
        )
