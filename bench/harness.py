"""What a bench scenario gets: the servers' URLs, fixtures through the ORM, load and records."""

import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import requests

from bench.load import LoadResult, RequestSpec, run_load
from bench.measure import WRK_SECONDS, PgBench, run_wrk


class Bench:
    """Passed to each scenario's `run(bench)`; Django is set up on the bench database.

    `base_url` is the Procfile's `web` process (the request/response API), `stream_url`
    its `stream` process (ASGI, event streams).
    """

    def __init__(
        self,
        base_url: str,
        scenario: str,
        start_server: Callable[..., str],
        *,
        stream_url: str | None = None,
        pgbench: PgBench | None = None,
        cluster: Any = None,
    ):
        self.base_url = base_url
        self.stream_url = stream_url or base_url
        self.scenario = scenario
        self.results: list[dict[str, Any]] = []
        self._start_server = start_server
        self.pgbench = pgbench
        self.cluster = cluster

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
        from accounts.services.auth import auth_session_create

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

    def wrk(
        self,
        name: str,
        path: str,
        *,
        concurrency: int,
        method: str = "GET",
        token: str | None = None,
        session_id: str | None = None,
        body: Any = None,
        expect_status: int = 200,
        seconds: int = WRK_SECONDS,
        base_url: str | None = None,
    ) -> dict[str, Any]:
        """Load `path` with wrk (bench/lua/get.lua or post.lua), after checking once that it
        answers `expect_status`; the row carries the ratio to pgbench -S at the same
        concurrency, measured in this run."""
        url = (base_url or self.base_url) + path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if session_id:
            headers["X-Session-Id"] = session_id
        probe = requests.request(method, url, headers=headers, json=body, timeout=30)
        if probe.status_code != expect_status:
            raise RuntimeError(f"{name}: {probe.status_code} {probe.text[:300]}")
        env = {"BENCH_TOKEN": token or "", "BENCH_SESSION_ID": session_id or ""}
        script = "get.lua"
        if method == "POST":
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                json.dump(body, handle)
            env["BENCH_BODY_FILE"] = handle.name
            script = "post.lua"
        try:
            result = run_wrk(url, concurrency=concurrency, seconds=seconds, script=script, env=env)
        finally:
            if "BENCH_BODY_FILE" in env:
                os.unlink(env["BENCH_BODY_FILE"])
        ratio = None
        if self.pgbench is not None:
            ceiling = self.pgbench.select_only(concurrency)
            if ceiling.get("tps"):
                ratio = round(result["rps"] / ceiling["tps"], 5)
        row = {
            "kind": "wrk",
            "name": name,
            **result,
            "ratio": ratio,
            "expect_status": expect_status,
            "load_average": round(os.getloadavg()[0], 2),
        }
        self._keep(row)
        return row

    def record(self, name: str, **figures: Any) -> None:
        self._keep({"kind": "figures", "name": name, **figures})

    def _keep(self, row: dict[str, Any]) -> None:
        row = {"scenario": self.scenario, **row}
        self.results.append(row)
        print(json.dumps(row), flush=True)
