"""One pub/sub connection per process serves every stream's wake-ups."""

import asyncio

import pytest
import redis
from django.conf import settings

from quotes.runs.wakeups import hub_for

pytestmark = pytest.mark.redis
WAIT_S = 5


def subscribers(channel: str) -> int:
    client = redis.Redis.from_url(settings.QUOTE_RUN_PUBSUB_URL)
    return dict(client.pubsub_numsub(channel))[channel.encode()]


def publish(channel: str) -> None:
    redis.Redis.from_url(settings.QUOTE_RUN_PUBSUB_URL).publish(channel, "1")


def test_streams_of_one_run_share_one_subscription_and_all_wake_up():
    channel = "test-wakeups-shared"

    async def go():
        hub = hub_for(settings.QUOTE_RUN_PUBSUB_URL)
        first, second = await hub.subscribe(channel), await hub.subscribe(channel)
        other = await hub.subscribe(channel + "-other")
        shared = await asyncio.to_thread(subscribers, channel)
        await asyncio.to_thread(publish, channel)
        await asyncio.wait_for(first.event.wait(), WAIT_S)
        await asyncio.wait_for(second.event.wait(), WAIT_S)
        await hub.unsubscribe(first)
        after_one = await asyncio.to_thread(subscribers, channel)
        await hub.unsubscribe(second)
        await hub.unsubscribe(other)
        await asyncio.sleep(0.2)
        after_all = await asyncio.to_thread(subscribers, channel)
        return shared, other.event.is_set(), after_one, after_all

    shared, other_woken, after_one, after_all = asyncio.run(go())

    assert shared == 1
    assert not other_woken
    assert after_one == 1
    assert after_all == 0


def test_a_lost_connection_wakes_every_stream_to_poll_and_the_next_one_reconnects():
    channel = "test-wakeups-lost"

    async def go():
        hub = hub_for(settings.QUOTE_RUN_PUBSUB_URL)
        subscription = await hub.subscribe(channel)
        # only this hub's connection: the Redis server is shared with other tests
        host, port = hub.pubsub.connection._writer.get_extra_info("sockname")[:2]
        client = redis.Redis.from_url(settings.QUOTE_RUN_PUBSUB_URL)
        killed = await asyncio.to_thread(
            client.client_kill_filter, _type="pubsub", addr=f"{host}:{port}"
        )
        await asyncio.wait_for(subscription.event.wait(), WAIT_S)
        again = await hub.subscribe(channel)
        await asyncio.to_thread(publish, channel)
        await asyncio.wait_for(again.event.wait(), WAIT_S)
        await hub.unsubscribe(again)
        return killed, subscription.failed, again.failed

    killed, failed, again_failed = asyncio.run(go())

    assert killed >= 1
    assert failed
    assert not again_failed
