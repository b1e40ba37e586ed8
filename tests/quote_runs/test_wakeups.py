"""One pub/sub connection per process serves every stream's wake-ups."""

import asyncio

import pytest
import redis
from django.conf import settings

from quotes.runs.events import run_event_append
from quotes.runs.wakeups import hub_for
from tests.e2e.harness import free_port
from tests.quote_runs.factories import QuoteRunFactory
from tests.quote_runs.test_stream import SESSION, append_later, open_stream, parse, read_all

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
        first, second = await hub.subscribe(channel, 1), await hub.subscribe(channel, 1)
        other = await hub.subscribe(channel + "-other", 2)
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
        subscription = await hub.subscribe(channel, 1)
        # only this hub's connection: the Redis server is shared with other tests
        host, port = hub.pubsub.connection._writer.get_extra_info("sockname")[:2]
        client = redis.Redis.from_url(settings.QUOTE_RUN_PUBSUB_URL)
        killed = await asyncio.to_thread(
            client.client_kill_filter, _type="pubsub", addr=f"{host}:{port}"
        )
        await asyncio.wait_for(subscription.event.wait(), WAIT_S)
        again = await hub.subscribe(channel, 1)
        await asyncio.to_thread(publish, channel)
        await asyncio.wait_for(again.event.wait(), WAIT_S)
        await hub.unsubscribe(again)
        return killed, subscription.failed, again.failed

    killed, failed, again_failed = asyncio.run(go())

    assert killed >= 1
    assert failed
    assert not again_failed


@pytest.mark.django_db(transaction=True)
def test_an_event_whose_wake_up_was_lost_arrives_within_a_keepalive(settings):
    # given: an open stream with pub/sub, and a publisher that cannot reach Redis
    settings.SSE_KEEPALIVE_S = 0.5
    run = QuoteRunFactory(session_id=SESSION)
    run_event_append(run_id=run.id, event_type="run.started", key="start")

    async def go():
        response = await open_stream(run.id)
        writer = None

        async def on_chunk(text):
            nonlocal writer
            if writer is None and "id: 1" in text:  # the replay arrived: go live
                settings.QUOTE_RUN_PUBSUB_URL = f"redis://127.0.0.1:{free_port()}/0"
                writer = asyncio.ensure_future(append_later(run.id, ["lost"], True))

        text = await read_all(response, on_chunk=on_chunk)
        await writer
        return text

    # when: two events are appended whose wake-ups are never published
    events = [block for block in parse(asyncio.run(go())) if "id" in block]

    # then: the process's sweep still delivers them, and the stream ends
    assert [event["id"] for event in events] == [1, 2, 3]
    assert events[-1]["event"] == "run.failed"
