"""Helpers of the quote run stream tests: open a stream, read it to its end, parse SSE,
append events from another thread."""

import asyncio
import json

from asgiref.sync import sync_to_async
from django.db import connection
from django.test import AsyncClient

from quotes.runs.events import run_event_append

SESSION = "stream-session-000000001"
READ_TIMEOUT_S = 10


def parse(text: str) -> list[dict]:
    """SSE blocks as dicts; comment-only blocks come back as {"comment": ...}, the retry
    line as {"retry": ...}."""
    blocks = []
    for block in text.split("\n\n"):
        if not block:
            continue
        fields: dict = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields["comment" if name == "" else name] = value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            fields["id"] = int(fields["id"])
        blocks.append(fields)
    return blocks


async def open_stream(run_id, **headers):
    headers.setdefault("X-Session-Id", SESSION)
    query = headers.pop("query", "")
    headers = {name: value for name, value in headers.items() if value is not None}
    return await AsyncClient().get(f"/api/quote-runs/{run_id}/stream{query}", headers=headers)


async def read_all(response, *, on_chunk=None) -> str:
    chunks = []

    async def consume():
        async for chunk in response.streaming_content:
            chunks.append(chunk.decode())
            if on_chunk is not None:
                await on_chunk("".join(chunks))

    await asyncio.wait_for(consume(), READ_TIMEOUT_S)
    return "".join(chunks)


def stream(run_id, **headers) -> tuple:
    async def go():
        response = await open_stream(run_id, **headers)
        text = await read_all(response) if response.streaming else None
        return response, text

    return asyncio.run(go())


@sync_to_async
def append_later(run_id, keys: list[str], terminal: bool) -> None:
    try:
        for key in keys:
            run_event_append(run_id=run_id, event_type="provider.progress", key=key)
        if terminal:
            run_event_append(run_id=run_id, event_type="run.failed", key="end", data={"error": "x"})
    finally:
        connection.close()
