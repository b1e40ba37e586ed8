"""The performance goals `make bench` checks, each against a figure of the same run.

Throughput goals are ratios to `pgbench -S` at the same concurrency (bench/measure.py),
so they hold on any machine; latency, memory and lock goals are absolute.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Row names shared by the scenarios that measure them and the goals that read them.
QUOTE_GET = "GET /api/quotes/{id} (bearer)"
QUOTE_POST = "POST /api/quotes (bearer)"
NOT_FOUND = "JSON 404, no database (GET /api/no-such-endpoint)"
IDLE_STREAMS = "idle streams held"
PING_WITH_STREAMS = "GET /api/ping on the stream process, p99 with idle streams vs none"
CLEANUP = "quote cleanup at scale"
CLEANUP_GOAL_ROWS = 1_000_000
EVENT_RETENTION = "quote-run event retention: partition drop vs batched delete"

Rows = list[dict[str, Any]]


def _wrk(rows: Rows, name: str, concurrency: int) -> dict[str, Any] | None:
    matches = [
        r
        for r in rows
        if r.get("kind") == "wrk" and r["name"] == name and r["concurrency"] == concurrency
    ]
    return matches[-1] if matches else None


def _figures(rows: Rows, name: str) -> dict[str, Any] | None:
    matches = [r for r in rows if r.get("kind") == "figures" and r["name"] == name]
    return matches[-1] if matches else None


def _get(row: dict[str, Any] | None, key: str) -> float | None:
    return None if row is None or row.get(key) is None else float(row[key])


def _cleanup(rows: Rows, key: str) -> float | None:
    """A figure of the cleanup scenario, only when it ran at the goal's scale."""
    figures = _figures(rows, CLEANUP)
    if figures is None or figures.get("rows", 0) < CLEANUP_GOAL_ROWS:
        return None
    return _get(figures, key)


@dataclass(frozen=True)
class Goal:
    label: str
    measure: Callable[[Rows], float | None]
    target: float
    at_least: bool  # True: measured >= target passes; False: measured <= target passes
    unit: str

    def show(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:.2f} %"
        return f"{value:,.2f} {self.unit}".strip()


GOALS = [
    Goal(
        "`GET /api/quotes/{id}` bearer, c=16 (share of pgbench -S)",
        lambda rows: _get(_wrk(rows, QUOTE_GET, 16), "ratio"),
        0.03,
        True,
        "%",
    ),
    Goal(
        "`GET /api/quotes/{id}` bearer, p50 at c=1",
        lambda rows: _get(_wrk(rows, QUOTE_GET, 1), "p50_ms"),
        1.5,
        False,
        "ms",
    ),
    Goal(
        "`POST /api/quotes` bearer, c=16 (share of pgbench -S)",
        lambda rows: _get(_wrk(rows, QUOTE_POST, 16), "ratio"),
        0.015,
        True,
        "%",
    ),
    Goal(
        "JSON 404 (no database), c=16 (share of pgbench -S)",
        lambda rows: _get(_wrk(rows, NOT_FOUND, 16), "ratio"),
        0.08,
        True,
        "%",
    ),
    Goal(
        "memory per idle SSE stream",
        lambda rows: _get(_figures(rows, IDLE_STREAMS), "kib_per_stream"),
        50,
        False,
        "KiB",
    ),
    Goal(
        "`/api/ping` p99 with 2,000 idle streams ÷ without",
        lambda rows: _get(_figures(rows, PING_WITH_STREAMS), "p99_ratio"),
        1.10,
        False,
        "x",
    ),
    Goal(
        "1,000,000 expired quotes expired, then deleted",
        lambda rows: _cleanup(rows, "total_s"),
        60,
        False,
        "s",
    ),
    Goal(
        "longest lock wait of `POST /api/quotes` during the cleanup",
        lambda rows: _cleanup(rows, "longest_post_lock_wait_ms"),
        100,
        False,
        "ms",
    ),
]


def evaluate_goals(rows: Rows) -> list[dict[str, Any]]:
    """Each goal with its measured value and pass / FAIL / not run."""
    verdicts = []
    for goal in GOALS:
        value = goal.measure(rows)
        if value is None:
            measured, result = "—", "not run"
        else:
            measured = goal.show(value)
            passed = value >= goal.target if goal.at_least else value <= goal.target
            result = "pass" if passed else "FAIL"
        sign = "≥" if goal.at_least else "≤"
        verdicts.append(
            {
                "label": goal.label,
                "measured": measured,
                "value": value,
                "target": f"{sign} {goal.show(goal.target)}",
                "result": result,
            }
        )
    return verdicts
