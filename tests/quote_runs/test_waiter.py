"""A stream's Waiter (quotes/runs/wakeups.py): woken while waiting, woken before waiting,
timed out, and woken between its timeout and the end of its wait: no wake-up is lost."""

import asyncio
import uuid

from quotes.runs.wakeups import Waiter, _timed_out


def waiter() -> Waiter:
    return Waiter(uuid.uuid4(), seen=0)


def test_a_wake_up_while_waiting_ends_the_wait():
    async def go():
        w = waiter()
        wait = asyncio.create_task(w.wait(10))
        await asyncio.sleep(0)
        w.wake()
        return await asyncio.wait_for(wait, 1)

    assert asyncio.run(go()) is True


def test_wake_ups_before_a_wait_count_as_one():
    async def go():
        w = waiter()
        w.wake()
        w.wake()
        return await w.wait(10), await w.wait(0.01)

    assert asyncio.run(go()) == (True, False)


def test_a_wake_up_between_a_timeout_and_the_end_of_the_wait_is_kept():
    async def go():
        w = waiter()
        first = asyncio.create_task(w.wait(10))
        await asyncio.sleep(0)  # waiting now
        _timed_out(w._future)  # its timer fires ...
        w.wake()  # ... and a wake-up comes before the wait resumes
        timed_out = await first
        return timed_out, await asyncio.wait_for(w.wait(10), 1)

    assert asyncio.run(go()) == (False, True)
