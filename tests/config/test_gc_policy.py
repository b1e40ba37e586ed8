"""The stream process's garbage collection policy (config/gc_policy.py): survivors are
frozen so that no full collection scans them; a steady heap never pauses for one; cyclic
garbage among frozen objects stays until the heap grew by a quarter, then is collected;
and streams opened and closed under the policy leave nothing behind."""

import asyncio
import gc
import weakref

import pytest

from config import gc_policy
from tests.config.test_asgi_handler import open_detached_stream
from tests.quote_runs.factories import QuoteRunFactory

STREAMS = 50


class Node:
    """A tracked object that can be made part of a reference cycle."""

    def __init__(self):
        self.other = None


@pytest.fixture
def full_collections():
    """The full (generation 2) collections run during the test; the process's collector is
    back as it was afterwards (nothing frozen)."""
    collections: list[int] = []

    def record(phase, info):
        if phase == "start" and info["generation"] == 2:
            collections.append(info["generation"])

    gc.callbacks.append(record)
    yield collections
    gc.callbacks.remove(record)
    gc.unfreeze()


def cyclic_garbage(count: int) -> weakref.ref:
    """`count` two-object cycles, referenced by nothing; a weak reference to one of them."""
    nodes = []
    for _ in range(count):
        a, b = Node(), Node()
        a.other, b.other = b, a
        nodes.append(a)
    probe = weakref.ref(nodes[0])
    del nodes, a, b
    return probe


def test_survivors_are_frozen_and_a_steady_heap_never_collects_fully(full_collections):
    baseline = gc_policy.full_collection()
    full_collections.clear()
    kept = [Node() for _ in range(1000)]

    for _ in range(5):  # objects come and go; the heap stays the same size
        churn = [Node() for _ in range(5000)]
        assert gc_policy.freeze_survivors(baseline) == baseline
        del churn

    assert not any(obj is kept[0] for obj in gc.get_objects())  # frozen: never scanned
    assert full_collections == []


def test_frozen_cyclic_garbage_is_collected_once_the_frozen_objects_grew(full_collections):
    baseline = gc_policy.full_collection()
    frozen_garbage = cyclic_garbage(10)
    gc.freeze()  # as if these cycles were alive at the last freeze, then dropped
    gc.collect()

    assert frozen_garbage() is not None  # an ordinary collection never sees them

    grown = cyclic_garbage(baseline // 4)  # two blocks per cycle: the heap grew by half
    full_collections.clear()
    new_baseline = gc_policy.freeze_survivors(baseline)

    assert full_collections == [2]
    assert frozen_garbage() is None
    assert grown() is None
    assert new_baseline < baseline * 1.05


@pytest.mark.django_db(transaction=True)
def test_streams_opened_and_closed_under_the_policy_leave_nothing_behind(full_collections):
    runs = [QuoteRunFactory(session_id="gc-policy-session-0001") for _ in range(STREAMS)]

    async def streams_open_then_closed():
        streams = [await open_detached_stream(run, "gc-policy-session-0001") for run in runs]
        gc.freeze()  # the streams' objects frozen, as the policy would
        for stream in streams:
            await stream.send_input({"type": "http.disconnect"})
            await stream.wait(timeout=10)

    asyncio.run(streams_open_then_closed())  # a warm-up: caches and pools filled
    runs = [QuoteRunFactory(session_id="gc-policy-session-0001") for _ in range(STREAMS)]
    gc_policy.full_collection()
    before = gc.get_freeze_count()
    asyncio.run(streams_open_then_closed())
    gc_policy.full_collection()

    # 50 streams hold ~3,500 tracked objects while open.
    assert gc.get_freeze_count() - before < STREAMS * 10
