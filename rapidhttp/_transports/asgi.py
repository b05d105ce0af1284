"""
`ASGITransport`: send requests straight into an ASGI application, in-process.

Unlike httpx, which runs the whole app and buffers the body before returning, the response is
returned as soon as the app sends `http.response.start`, and body chunks reach the client as the
app sends them. That needs the app to run in a task of its own, next to the caller: an asyncio
task, or a trio system task (a nursery cannot outlive `handle_async_request`). The two libraries
differ only in the small `_Backend` primitives below; the exchange logic is written once.

Lifecycle of one exchange:

    caller                                   app task
    handle_async_request -> spawn ---------> app(scope, receive, send)
    wait for the first item  <------------- send(http.response.start)   -> _STARTED
    Response(stream=...)
    stream.__anext__         <------------- send(http.response.body)    -> chunk
    stream.__anext__         <------------- app returns / raises        -> _APP_DONE
    stream.aclose            -------------> cancel, wait until finished

Like httpx, the stream ends only once the app has returned, so that an exception raised after
the body is complete still reaches the caller and work after the response still runs.
"""

from __future__ import annotations

import contextvars
import sys
import types
import typing

from .._exceptions import RemoteProtocolError
from .._models import Request, Response
from .._types import AsyncByteStream
from .base import AsyncBaseTransport

if typing.TYPE_CHECKING:  # pragma: no cover
    import asyncio

_Message = typing.MutableMapping[str, typing.Any]
_Receive = typing.Callable[[], typing.Awaitable[_Message]]
_Send = typing.Callable[[_Message], typing.Awaitable[None]]
_Scope = typing.MutableMapping[str, typing.Any]
_ASGIApp = typing.Callable[[_Scope, _Receive, _Send], typing.Awaitable[None]]
_Put = typing.Callable[[object], typing.Awaitable[None]]
_Get = typing.Callable[[], typing.Awaitable[object]]
_AsyncFn = typing.Callable[[], typing.Coroutine[typing.Any, typing.Any, None]]

__all__ = ["ASGITransport"]


class ClientDisconnected(OSError):
    """Raised by `send()` once the client has closed the response.

    The ASGI spec asks servers to raise a subclass of `OSError` when an app sends on a closed
    connection.
    """


# --------------------------------------------------------------------------- async primitives

# Items the app may queue ahead of the reader. A small response (start, body, end) fits, so
# the app runs to completion without waiting for the caller: no task switch per message.
_CAPACITY = 4


class _Event(typing.Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    async def wait(self) -> typing.Any: ...


class _Task(typing.Protocol):
    async def join(self) -> None:
        """Return once the task has finished."""

    async def cancel_and_wait(self) -> None:
        """Cancel the task if it still runs, and return once it has finished."""


class _Backend(typing.Protocol):
    def event(self) -> _Event: ...
    def channel(self) -> tuple[_Put, _Get]:
        """A bounded channel: `(put, get)`. `put` waits while it holds `_CAPACITY` items,
        which keeps a fast app from running far ahead of a slow reader."""
    def spawn(self, fn: _AsyncFn) -> _Task: ...


# asyncio is imported where it is used, as trio is below: `import rapidhttp` does not pay for
# it (~15 ms). It is always in sys.modules by then (an asyncio loop is running), so each of these
# imports is a dictionary lookup.


class _AsyncioTask:
    def __init__(self, task: asyncio.Task[None]) -> None:
        self._task = task

    async def join(self) -> None:
        if not self._task.done():
            import asyncio

            await asyncio.wait((self._task,))

    async def cancel_and_wait(self) -> None:
        self._task.cancel()
        await self.join()


class _AsyncioBackend:
    def event(self) -> _Event:
        import asyncio

        return asyncio.Event()

    def channel(self) -> tuple[_Put, _Get]:
        import asyncio

        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=_CAPACITY)
        return queue.put, queue.get

    def spawn(self, fn: _AsyncFn) -> _Task:
        import asyncio

        # The task runs in a copy of the caller's context, as any asyncio task does.
        return _AsyncioTask(asyncio.get_running_loop().create_task(fn()))


class _TrioTask:
    def __init__(self, fn: _AsyncFn) -> None:
        import trio

        self._scope = trio.CancelScope()
        self._done = trio.Event()
        self._fn = fn
        trio.lowlevel.spawn_system_task(self._run, context=contextvars.copy_context())

    async def _run(self) -> None:
        try:
            with self._scope:
                await self._fn()
        finally:
            self._done.set()

    async def join(self) -> None:
        import trio

        # Waiting must survive the caller being cancelled: that is when we get here most.
        with trio.CancelScope(shield=True):
            await self._done.wait()

    async def cancel_and_wait(self) -> None:
        self._scope.cancel()
        await self.join()


class _TrioBackend:
    def event(self) -> _Event:
        import trio

        return trio.Event()

    def channel(self) -> tuple[_Put, _Get]:
        import trio

        send_channel, receive_channel = trio.open_memory_channel[object](_CAPACITY)
        return send_channel.send, receive_channel.receive

    def spawn(self, fn: _AsyncFn) -> _Task:
        return _TrioTask(fn)


_ASYNCIO: _Backend = _AsyncioBackend()
_TRIO: _Backend = _TrioBackend()


def _current_backend() -> _Backend:
    # Without trio imported it cannot be running: skip sniffio (a dependency of trio) entirely.
    if "trio" not in sys.modules:
        return _ASYNCIO
    import sniffio

    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return _ASYNCIO
    return _TRIO if library == "trio" else _ASYNCIO


# --------------------------------------------------------------------------- one exchange

_STARTED = object()  # channel item: the app sent `http.response.start`
_APP_DONE = object()  # channel item: the app returned or raised; always the last item


class _ASGIExchange:
    """The state of one request/response exchange with the app, shared by the app's
    `receive`/`send` callables (app task) and the response stream (caller)."""

    def __init__(
        self,
        app: _ASGIApp,
        scope: dict[str, typing.Any],
        request: Request,
        raise_app_exceptions: bool,
    ) -> None:
        self._app = app
        self._scope = scope
        self._request = request
        self._raise_app_exceptions = raise_app_exceptions
        self._discard_body = request.method == "HEAD"
        if not isinstance(request.stream, AsyncByteStream):
            raise RuntimeError("Attempted to send a sync request with an AsyncClient instance.")
        self._request_body = request.stream.__aiter__()
        self._request_complete = False

        backend = _current_backend()
        self._put, self._get = backend.channel()
        # Set when the app has sent the whole body, or the client has closed the response:
        # from then on `receive()` reports `http.disconnect`.
        self._response_complete = backend.event()
        self._response_started = False
        self._closed = False
        self._app_exception: BaseException | None = None
        self._protocol_error: RemoteProtocolError | None = None
        self.status_code = 500
        self.headers: typing.Any = {}
        self._task = backend.spawn(self._run_app)

    # ------------------------------------------------------------------ app task side

    async def _run_app(self) -> None:
        try:
            await self._app(self._scope, self._receive, self._send)
        except BaseException as exc:
            if self._closed:
                raise  # our own cancellation, or the app stopping because of it
            self._app_exception = exc
        finally:
            # A request body generator left suspended would be finalised by the garbage
            # collector, which trio reports as a ResourceWarning. (Only generators: closing
            # another iterator could close the request stream a redirect still needs.)
            if isinstance(self._request_body, types.AsyncGeneratorType):
                await self._request_body.aclose()
        await self._put(_APP_DONE)

    async def _receive(self) -> _Message:
        if self._request_complete or self._closed:
            await self._response_complete.wait()
            return {"type": "http.disconnect"}
        try:
            body = await self._request_body.__anext__()
        except StopAsyncIteration:
            self._request_complete = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": body, "more_body": True}

    async def _send(self, message: _Message) -> None:
        if self._closed:
            raise ClientDisconnected("The client closed the response.")
        try:
            message_type = message["type"]
        except (TypeError, KeyError):
            message_type = None
        if message_type == "http.response.body":
            if not self._response_started:
                self._fail("ASGI app sent 'http.response.body' before 'http.response.start'.")
            if self._response_complete.is_set():
                self._fail("ASGI app sent 'http.response.body' after the response was complete.")
            body = message.get("body", b"")
            if not isinstance(body, (bytes, bytearray, memoryview)):
                self._fail(
                    f"ASGI app sent a response body of type {type(body).__name__!r}, "
                    "expected bytes."
                )
            if not message.get("more_body", False):
                self._response_complete.set()
            if body and not self._discard_body:
                await self._put(bytes(body))
        elif message_type == "http.response.start":
            if self._response_started:
                self._fail("ASGI app sent 'http.response.start' twice.")
            status = message.get("status")
            if not isinstance(status, int):
                self._fail(f"ASGI app sent an invalid response status: {status!r}.")
            self.status_code = status
            self.headers = message.get("headers", [])
            self._response_started = True
            await self._put(_STARTED)
        else:
            self._fail(f"ASGI app sent an unexpected message: {message!r}.")

    def _fail(self, message: str) -> typing.NoReturn:
        # Raised inside the app, and remembered so the caller sees it even if the app
        # swallows it: a broken exchange is never reported as a normal response.
        error = RemoteProtocolError(message, request=self._request)
        if self._protocol_error is None:
            self._protocol_error = error
        raise error

    # ------------------------------------------------------------------ caller side

    async def wait_for_start(self) -> bool:
        """Wait until the response starts (True) or the app finishes without starting it
        (False, when exceptions are not raised). Raises what the caller must see."""
        try:
            item = await self._get()
        except BaseException:
            # Cancelled or timed out while the app is still working on it.
            await self.aclose()
            raise
        if item is _STARTED:
            return True
        await self._task.join()
        self._raise_for_outcome()
        if self._app_exception is None:
            raise RemoteProtocolError(
                "ASGI app returned without sending a response.", request=self._request
            )
        return False

    async def next_chunk(self) -> bytes | None:
        """The next body chunk, or None once the app has finished."""
        if self._closed:
            return None
        try:
            item = await self._get()
        except BaseException:
            await self.aclose()
            raise
        if isinstance(item, bytes):
            return item
        self._closed = True
        await self._task.join()
        self._raise_for_outcome()
        if not self._response_complete.is_set() and self._app_exception is None:
            raise RemoteProtocolError(
                "ASGI app returned without completing the response body.",
                request=self._request,
            )
        return None

    def _raise_for_outcome(self) -> None:
        if self._protocol_error is not None:
            raise self._protocol_error
        exc = self._app_exception
        # Only failures of the app itself obey `raise_app_exceptions`, not KeyboardInterrupt.
        if exc is not None and (self._raise_app_exceptions or not isinstance(exc, Exception)):
            raise exc

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._response_complete.set()
        await self._task.cancel_and_wait()


class ASGIResponseStream(AsyncByteStream):
    """The response body, pulled from the app as the reader asks for it.

    A plain async iterator rather than an async generator, so that leaving the loop early
    leaves no generator for the garbage collector to finalise.
    """

    def __init__(self, exchange: _ASGIExchange) -> None:
        self._exchange = exchange

    def __aiter__(self) -> ASGIResponseStream:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._exchange.next_chunk()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        await self._exchange.aclose()


class ASGITransport(AsyncBaseTransport):
    """
    A transport that sends requests directly to an ASGI application, without a network.

    ```python
    transport = rapidhttp.ASGITransport(app=app, root_path="/submount", client=("1.2.3.4", 123))
    client = rapidhttp.AsyncClient(transport=transport)
    ```

    Arguments:

    * `app` - The ASGI application.
    * `raise_app_exceptions` - Whether exceptions raised by the application propagate to the
       caller (the default). With `False`, an application that fails before starting its
       response produces a `500` response instead, and one that fails later ends the body.
    * `root_path` - The root path on which the ASGI application is mounted.
    * `client` - A two-tuple with the client IP and port of incoming requests.

    The response streams: it is returned once the application starts it, and its body arrives
    as the application sends it. Closing the response early cancels the application.
    Lifespan events are not sent; use a lifespan manager around the client for those.
    """

    def __init__(
        self,
        app: _ASGIApp,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client

    async def handle_async_request(self, request: Request) -> Response:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": self.client,
            "root_path": self.root_path,
        }
        exchange = _ASGIExchange(self.app, scope, request, self.raise_app_exceptions)
        if not await exchange.wait_for_start():
            return Response(500)
        return Response(
            exchange.status_code, headers=exchange.headers, stream=ASGIResponseStream(exchange)
        )
