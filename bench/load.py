"""A small closed-loop HTTP load generator: N keep-alive clients, latency percentiles."""

import http.client
import json as jsonlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 30


@dataclass
class LoadResult:
    name: str
    concurrency: int
    count: int
    errors: int
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50)

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "requests": self.count,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


RequestSpec = dict[str, Any]


def _encode(spec: RequestSpec) -> tuple[str, str, bytes | None, dict[str, str]]:
    headers = dict(spec.get("headers") or {})
    body = spec.get("body")
    if spec.get("json") is not None:
        body = jsonlib.dumps(spec["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    return spec.get("method", "GET"), spec["path"], body, headers


def run_load(
    *,
    name: str,
    base_url: str,
    concurrency: int,
    requests: int | None = None,
    duration_s: float | None = None,
    request_factory: Callable[[int], RequestSpec],
    stop: threading.Event | None = None,
) -> LoadResult:
    """Closed loop: each of `concurrency` clients sends its next request when the last one
    answered, until `requests` were sent in total, `duration_s` passed or `stop` is set."""
    if requests is None and duration_s is None and stop is None:
        requests = 1000
    target = urlsplit(base_url)
    lock = threading.Lock()
    counter = {"next": 0}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    start_barrier = threading.Barrier(concurrency + 1)
    deadline: list[float] = [0.0]

    def take_index() -> int | None:
        with lock:
            index = counter["next"]
            if requests is not None and index >= requests:
                return None
            if duration_s is not None and time.perf_counter() >= deadline[0]:
                return None
            if stop is not None and stop.is_set():
                return None
            counter["next"] = index + 1
            return index

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=CONNECT_TIMEOUT_S)
        local_latencies: list[float] = []
        local_statuses: Counter[int] = Counter()
        local_errors = 0
        start_barrier.wait()
        while (index := take_index()) is not None:
            method, path, body, headers = _encode(request_factory(index))
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                local_errors += 1
                conn.close()
                conn = http.client.HTTPConnection(
                    target.hostname, target.port, timeout=CONNECT_TIMEOUT_S
                )
                continue
            local_latencies.append((time.perf_counter() - began) * 1000)
            local_statuses[response.status] += 1
        conn.close()
        with lock:
            latencies.extend(local_latencies)
            statuses.update(local_statuses)
            errors += local_errors

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + (duration_s or 0)
    start_barrier.wait()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    return LoadResult(
        name=name,
        concurrency=concurrency,
        count=len(latencies),
        errors=errors,
        seconds=seconds,
        statuses=dict(statuses),
        latencies_ms=latencies,
    )
