"""Garbage collection of the ASGI (`stream`) process: no whole-process pauses while the
heap is not growing.

CPython's cycle collector runs a full collection, which scans every tracked object of the
process and stops the event loop meanwhile, whenever the objects promoted to its oldest
generation since the last one reach a quarter of that generation. A stream process with
10,000 idle streams holds ~700,000 tracked objects (a stream's coroutines, futures and
the server's connection objects, ~70 per stream, plus Django's ~140,000), so a full
collection takes ~0.7 s on the project machine; and idle streams promote objects all the
time without growing the heap (each keepalive wait's future and timer live 15 s, then
die by reference count), so such a pause came every minute or so, and every event sent
meanwhile waited for it (bench/README.md, "Streams at scale").

Here, every GC_FREEZE_INTERVAL_S, the loop moves every object the collector tracks to
the permanent generation (`gc.freeze()`, which only relinks lists), which no collection
scans: the automatic collections then only ever scan what was made since. A frozen object
is still freed as soon as its reference count drops to zero, which is how streams'
objects die; what a frozen object cannot do is be collected as part of a reference cycle.
Such garbage stays, so the heap is watched instead: when the interpreter's allocated
blocks (`sys.getallocatedblocks()`, which reads per-arena counters) have grown by a
quarter since the last full collection (CPython's own threshold, applied to what is
alive rather than to what was ever promoted), the loop unfreezes everything, runs one
full collection and freezes the survivors again. An idle process, or one with a steady
number of streams, never pauses for a full collection; a growing one pauses about as
often as CPython would have paused it anyway. (Both cheap calls matter: counting the
frozen objects walks their list, ~100 ms at 10,000 streams, and collecting the young
generations first took 20-30 ms there.)

The policy is process state about the process, not application data; it runs in the
event loop of each ASGI worker, started by the lifespan protocol (config/shutdown.py).
"""

import asyncio
import gc
import logging
import sys
import time

from django.conf import settings

logger = logging.getLogger(__name__)

# A full collection once the allocated blocks grew by this factor since the last one ...
GROWTH_FACTOR = 1.25
# ... and by at least this many blocks (a small heap does not collect every interval).
MIN_GROWTH_BLOCKS = 50_000


def full_collection() -> int:
    """Unfreeze, collect everything, freeze the survivors; returns the allocated blocks
    left (the baseline of the next growth check)."""
    started = time.monotonic()
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    blocks = sys.getallocatedblocks()
    logger.info(
        "gc: full collection in %.0f ms, %d unreachable, %d blocks allocated",
        (time.monotonic() - started) * 1000,
        found,
        blocks,
    )
    return blocks


def freeze_survivors(baseline: int) -> int:
    """Freeze what the collector tracks, and run a full collection if the heap grew past
    the threshold since `baseline`. Returns the new baseline."""
    gc.freeze()
    if sys.getallocatedblocks() > max(baseline * GROWTH_FACTOR, baseline + MIN_GROWTH_BLOCKS):
        return full_collection()
    return baseline


async def freeze_forever(interval_s: float) -> None:
    baseline = full_collection()
    try:
        while True:
            await asyncio.sleep(interval_s)
            baseline = freeze_survivors(baseline)
    finally:
        gc.unfreeze()  # the loop is ending: back to CPython's own policy


def start_policy() -> asyncio.Task[None] | None:
    """Run the policy in the running loop when GC_FREEZE_INTERVAL_S > 0 (the default for
    servers; 0 under tests, where the test process's own objects would be frozen)."""
    interval_s = settings.GC_FREEZE_INTERVAL_S
    if interval_s <= 0:
        return None
    return asyncio.get_running_loop().create_task(freeze_forever(interval_s))
