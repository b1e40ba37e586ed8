"""The baseline: GET /api/ping (one SELECT 1, a Redis PING, a storage stat)."""


def run(bench) -> None:
    for concurrency in (1, 16, 64):
        bench.load(
            f"GET /api/ping c={concurrency}",
            "GET",
            "/api/ping",
            concurrency=concurrency,
            duration_s=8,
        )
