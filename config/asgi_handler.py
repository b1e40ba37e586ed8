"""Django's ASGI handler, except that a streaming response does not keep its request alive.

Django's `ASGIHandler.handle` holds the request (its META with every header, the GET
QueryDict, the resolver match with every URL pattern tried, the body file) in its frame
until the response has been sent. For an SSE stream that is the whole life of the
stream: measured in-process, about a third of the ~32 KiB an idle stream costs. Here a
streaming response's request is closed and dropped as soon as the response exists (a view
that streams has read its request), instead of being one of the response's resource
closers.
Its encoded headers are not kept while it streams either. Everything else is Django's
`handle` and `send_response` as of 5.2 (disconnect watching, cancellation,
`request_finished`, closing the response).
"""

import asyncio
import contextlib
from contextlib import aclosing

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix


class AtelierAsgiHandler(ASGIHandler):
    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None or error_response is not None:
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()  # type: ignore[union-attr]
            return
        # The only reference to the request once process_request has taken it.
        pending = [request]
        del request

        async def process_request(send):
            request = pending.pop()
            response = await self.run_get_response(request)
            if response.streaming:
                # Django closes the request with the response (one of its resource
                # closers, which keeps the request alive): a stream closes it now.
                closers = response._resource_closers  # type: ignore[attr-defined]
                response._resource_closers = [  # type: ignore[attr-defined]
                    closer for closer in closers if closer != request.close
                ]
                del closers
                request.close()
                body_file.close()
            del request
            with contextlib.suppress(asyncio.CancelledError):  # the client disconnected
                await self.send_response(response, send)
            return response

        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            await sync_to_async(response.close)()
        body_file.close()

    async def send_response(self, response, send):
        """Django's, except that a streaming response does not keep its encoded headers
        in this frame while it streams."""
        if not response.streaming:
            return await super().send_response(response, send)
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": _asgi_headers(response),
            }
        )
        async with aclosing(aiter(response)) as content:
            async for part in content:
                for chunk, _ in self.chunk_bytes(part):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body"})
        return None


def _asgi_headers(response) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI wants them (as Django encodes them)."""
    headers = [
        (
            header.encode("ascii") if isinstance(header, str) else bytes(header),
            value.encode("latin1") if isinstance(value, str) else bytes(value),
        )
        for header, value in response.items()
    ]
    headers.extend(
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    )
    return headers
