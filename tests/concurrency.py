"""Fire calls at once from several forked processes against the real database."""

import contextlib
import multiprocessing as mp
import threading
import traceback
from collections.abc import Callable
from typing import Any

from django.db import connections

BARRIER_TIMEOUT_S = 30
RESULT_TIMEOUT_S = 120


def close_db_connections() -> None:
    """Close connections and pools so forked children never share a parent's socket."""
    for conn in connections.all(initialized_only=True):
        conn.close()
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()


def _child(call, indices, barrier, queue) -> None:
    results: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        try:
            outcome: Any = call(index)
        except Exception as exc:
            outcome = f"error: {exc!r}\n{traceback.format_exc()}"
        finally:
            connections.close_all()
        with lock:
            results.append((index, outcome))

    threads = [threading.Thread(target=one, args=(i,)) for i in indices]
    # A broken barrier means another child failed to start; run anyway.
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=BARRIER_TIMEOUT_S)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_db_connections()
    queue.put(results)


def fire_concurrently(call: Callable[[int], Any], count: int, processes: int = 4) -> list[Any]:
    """Run call(0..count-1) spread over `processes` forked processes, one thread per call,
    all released together by a barrier. Returns the outcomes in index order; an exception
    becomes the string "error: ...". `call` must return something picklable.

    Use it from tests marked `django_db(transaction=True)`: children see committed rows only.
    """
    ctx = mp.get_context("fork")
    close_db_connections()
    processes = max(1, min(processes, count))
    barrier = ctx.Barrier(processes)
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=_child, args=(call, list(range(p, count, processes)), barrier, queue))
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    collected: list[tuple[int, Any]] = []
    for _ in workers:
        collected.extend(queue.get(timeout=RESULT_TIMEOUT_S))
    for worker in workers:
        worker.join(timeout=RESULT_TIMEOUT_S)
    return [outcome for _, outcome in sorted(collected, key=lambda item: item[0])]
