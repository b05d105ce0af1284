"""
`MockTransport`: answers requests by calling a handler function, in process.

The handler receives the `Request` (its body already read, so `request.content` works)
and returns a `Response`. It may be a plain function (usable from `Client` and
`AsyncClient`) or an `async` function (usable from `AsyncClient` only).
"""

from __future__ import annotations

import inspect
import typing

from .._models import Request, Response
from .base import AsyncBaseTransport, BaseTransport

SyncHandler = typing.Callable[[Request], Response]
AsyncHandler = typing.Callable[[Request], typing.Coroutine[None, None, Response]]

__all__ = ["MockTransport"]


class MockTransport(AsyncBaseTransport, BaseTransport):
    def __init__(self, handler: SyncHandler | AsyncHandler) -> None:
        self.handler = handler

    def handle_request(self, request: Request) -> Response:
        request.read()
        response = self.handler(request)
        if not isinstance(response, Response):
            if inspect.iscoroutine(response):
                # Close it, or Python warns that it was never awaited.
                response.close()
                raise TypeError("Cannot use an async handler in a sync Client")
            raise TypeError(f"The handler must return a Response, not {type(response)!r}.")
        return response

    async def handle_async_request(self, request: Request) -> Response:
        await request.aread()
        response = self.handler(request)
        if inspect.isawaitable(response):
            response = await response
        if not isinstance(response, Response):
            raise TypeError(f"The handler must return a Response, not {type(response)!r}.")
        return response
