"""What a bench scenario gets: the server's URL, fixtures through the ORM, load and records."""

import json
from collections.abc import Callable
from typing import Any

from bench.load import LoadResult, RequestSpec, run_load


class Bench:
    """Passed to each scenario's `run(bench)`; Django is set up on the bench database."""

    def __init__(self, base_url: str, scenario: str, start_server: Callable[..., str]):
        self.base_url = base_url
        self.scenario = scenario
        self.results: list[dict[str, Any]] = []
        self._start_server = start_server

    def extra_server(self, **env: str) -> str:
        """Start another server like the main one (same database) with these environment
        overrides, e.g. RATE_LIMIT_DEFAULTS="false"; returns its base URL. It runs until the
        bench ends."""
        return self._start_server(**env)

    def make_user(self, **fields):
        import uuid

        from accounts.models import User

        fields.setdefault("email", f"bench-{uuid.uuid4().hex[:12]}@example.com")
        password = fields.pop("password", "bench-password-123")
        return User.objects.create_user(password=password, **fields)

    def token_for(self, user) -> str:
        from accounts.services import auth_session_create

        _, token = auth_session_create(user=user, user_agent="bench")
        return token

    def load(
        self,
        name: str,
        method: str = "GET",
        path: str = "/",
        *,
        concurrency: int,
        requests: int | None = None,
        duration_s: float | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
        request_factory: Callable[[int], RequestSpec] | None = None,
        base_url: str | None = None,
    ) -> LoadResult:
        def fixed(_index: int) -> RequestSpec:
            return {"method": method, "path": path, "headers": headers, "json": json}

        result = run_load(
            name=name,
            base_url=base_url or self.base_url,
            concurrency=concurrency,
            requests=requests,
            duration_s=duration_s,
            request_factory=request_factory or fixed,
        )
        self._keep({"kind": "http", **result.as_dict()})
        return result

    def record(self, name: str, **figures: Any) -> None:
        self._keep({"kind": "figures", "name": name, **figures})

    def _keep(self, row: dict[str, Any]) -> None:
        row = {"scenario": self.scenario, **row}
        self.results.append(row)
        print(json.dumps(row), flush=True)
