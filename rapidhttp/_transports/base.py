"""
The transport seam: the single extension point between the client and the network.

`Client.send` calls `transport.handle_request(request)`, `AsyncClient.send` calls
`transport.handle_async_request(request)`. Testing and tracing tools (pytest-httpx, respx,
OpenTelemetry) patch exactly these two methods, so every request — the fast path included —
goes through them.
"""

from __future__ import annotations

import typing
from types import TracebackType

if typing.TYPE_CHECKING:  # pragma: no cover
    from .._models import Request, Response

T = typing.TypeVar("T", bound="BaseTransport")
A = typing.TypeVar("A", bound="AsyncBaseTransport")

__all__ = ["AsyncBaseTransport", "BaseTransport"]


class BaseTransport:
    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()

    def handle_request(self, request: Request) -> Response:
        """Send a single HTTP request and return a response.

        The response's `stream` must be a `SyncByteStream`; the client reads or streams it
        and finally calls `response.close()`, which closes the stream and so releases any
        connection it holds. The request's `extensions` carry per-request options such as
        `timeout`, `sni_hostname` and `trace`.
        """
        raise NotImplementedError(
            "The 'handle_request' method must be implemented."
        )  # pragma: no cover

    def close(self) -> None:
        pass


class AsyncBaseTransport:
    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def handle_async_request(self, request: Request) -> Response:
        """The async twin of `BaseTransport.handle_request`; the response's `stream` must be
        an `AsyncByteStream`."""
        raise NotImplementedError(
            "The 'handle_async_request' method must be implemented."
        )  # pragma: no cover

    async def aclose(self) -> None:
        pass
