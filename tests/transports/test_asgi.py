"""ASGITransport: the scope, receive/send semantics, true streaming, errors and cleanup.

Every test runs under asyncio and trio. Apps that could hang are bounded by `anyio.fail_after`.
"""

from __future__ import annotations

import contextvars
import json
import typing

import anyio
import pytest

import rapidhttp
from rapidhttp._transports.asgi import _CAPACITY, ClientDisconnected

pytestmark = pytest.mark.anyio

Scope = typing.MutableMapping[str, typing.Any]
Receive = typing.Callable[[], typing.Awaitable[typing.MutableMapping[str, typing.Any]]]
Send = typing.Callable[[typing.MutableMapping[str, typing.Any]], typing.Awaitable[None]]

TEXT = [(b"content-type", b"text/plain")]


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"Hello, world!"})


async def echo_scope(scope: Scope, receive: Receive, send: Send) -> None:
    data = {
        key: value.decode("latin-1") if isinstance(value, bytes) else value
        for key, value in scope.items()
        if key != "headers"
    }
    data["headers"] = [[k.decode(), v.decode()] for k, v in scope["headers"]]
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": json.dumps(data).encode()})


async def send_request(
    app: typing.Any, request: rapidhttp.Request, **kwargs: typing.Any
) -> rapidhttp.Response:
    """Send through the transport alone and read the body, within a time bound."""
    with anyio.fail_after(5):
        response = await rapidhttp.ASGITransport(app, **kwargs).handle_async_request(request)
        await response.aread()
    return response


# --------------------------------------------------------------------------- scope


async def test_scope() -> None:
    request = rapidhttp.Request(
        "PATCH",
        "https://example.org:8443/caf%C3%A9/a%2Fb?x=1&y=%20",
        headers={"X-Custom": "yes"},
    )
    response = await send_request(echo_scope, request)
    scope = response.json()
    assert scope["type"] == "http"
    assert scope["asgi"] == {"version": "3.0"}
    assert scope["http_version"] == "1.1"
    assert scope["method"] == "PATCH"
    assert scope["scheme"] == "https"
    assert scope["path"] == "/café/a/b"  # unquoted
    assert scope["raw_path"] == "/caf%C3%A9/a%2Fb"  # without the query
    assert scope["query_string"] == "x=1&y=%20"
    assert scope["server"] == ["example.org", 8443]
    assert scope["client"] == ["127.0.0.1", 123]
    assert scope["root_path"] == ""
    assert ["x-custom", "yes"] in scope["headers"]  # names lowercased
    assert ["host", "example.org:8443"] in scope["headers"]


async def test_scope_default_port_is_none_and_options_are_passed() -> None:
    request = rapidhttp.Request("GET", "http://example.org/")
    response = await send_request(
        echo_scope, request, root_path="/mount", client=("1.2.3.4", 5678)
    )
    scope = response.json()
    assert scope["server"] == ["example.org", None]
    assert scope["root_path"] == "/mount"
    assert scope["client"] == ["1.2.3.4", 5678]


async def test_client_default_headers_reach_the_app() -> None:
    transport = rapidhttp.ASGITransport(app=echo_scope)
    async with rapidhttp.AsyncClient(transport=transport) as client:
        response = await client.get("http://www.example.org/")
    headers = dict(response.json()["headers"])
    assert headers["host"] == "www.example.org"
    assert headers["user-agent"] == f"python-rapidhttp/{rapidhttp.__version__}"


# --------------------------------------------------------------------------- request body


async def test_request_body_is_streamed_in_messages() -> None:
    messages: list[typing.MutableMapping[str, typing.Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            messages.append(message)
            if not message.get("more_body"):
                break
        await hello(scope, receive, send)

    async def body() -> typing.AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    await send_request(app, rapidhttp.Request("POST", "http://example.org/", content=body()))
    assert messages == [
        {"type": "http.request", "body": b"one", "more_body": True},
        {"type": "http.request", "body": b"two", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]


async def test_unread_request_body_leaves_no_generator_behind() -> None:
    # Reading one message of a two-chunk body leaves the body generator suspended; the
    # transport closes it (trio would report a ResourceWarning, an error here, otherwise).
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await hello(scope, receive, send)

    async def body() -> typing.AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    response = await send_request(
        app, rapidhttp.Request("POST", "http://example.org/", content=body())
    )
    assert response.text == "Hello, world!"


async def test_disconnect_after_response_complete() -> None:
    after: list[typing.Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await hello(scope, receive, send)
        after.append(await receive())

    await send_request(app, rapidhttp.Request("GET", "http://example.org/"))
    assert after == [{"type": "http.disconnect"}]


async def test_sync_request_stream_is_rejected() -> None:
    request = rapidhttp.Request("POST", "http://example.org/", content=iter([b"data"]))
    with pytest.raises(RuntimeError, match="sync request with an AsyncClient"):
        await send_request(hello, request)


# --------------------------------------------------------------------------- response


async def test_response() -> None:
    response = await send_request(hello, rapidhttp.Request("GET", "http://example.org/"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "Hello, world!"


async def test_head_response_has_no_body() -> None:
    response = await send_request(hello, rapidhttp.Request("HEAD", "http://example.org/"))
    assert response.status_code == 200
    assert response.content == b""


async def test_response_is_returned_before_the_app_finishes() -> None:
    release = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await release.wait()
        await send({"type": "http.response.body", "body": b"second"})

    transport = rapidhttp.ASGITransport(app=app)
    with anyio.fail_after(5):
        response = await transport.handle_async_request(
            rapidhttp.Request("GET", "http://example.org/")
        )
        assert response.status_code == 200
        chunks = response.aiter_raw()
        assert await chunks.__anext__() == b"first"
        release.set()
        assert [chunk async for chunk in chunks] == [b"second"]
    assert response.is_closed


def sse_app() -> tuple[typing.Any, list[str]]:
    """A server-sent-events app that never ends, and the log of what it did."""
    log: list[str] = []

    async def sse(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            while True:
                data = b"data: %d\n\n" % (len(log) + 1)
                await send({"type": "http.response.body", "body": data, "more_body": True})
                log.append("sent")
                await anyio.sleep(0)
        finally:
            log.append("stopped")

    return sse, log


async def test_endless_stream_is_consumed_incrementally_and_stopped_on_close() -> None:
    app, log = sse_app()
    transport = rapidhttp.ASGITransport(app=app)
    received = []
    with anyio.fail_after(5):
        response = await transport.handle_async_request(
            rapidhttp.Request("GET", "http://example.org/events")
        )
        assert response.headers["content-type"] == "text/event-stream"
        async for chunk in response.stream:  # type: ignore[union-attr]
            received.append(chunk)
            if len(received) == 3:
                break
        # Backpressure: the app runs ahead of the reader by a few queued chunks at most.
        assert log.count("sent") <= len(received) + _CAPACITY
        await response.aclose()
    assert received == [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    assert log[-1] == "stopped"


async def test_endless_stream_through_the_client() -> None:
    app, log = sse_app()
    transport = rapidhttp.ASGITransport(app=app)
    received = []
    with anyio.fail_after(5):
        async with rapidhttp.AsyncClient(transport=transport) as client:
            async with client.stream("GET", "http://example.org/events") as response:
                # Closing from inside the loop ends it cleanly: nothing is left suspended.
                async for chunk in response.aiter_bytes():
                    received.append(chunk)
                    if len(received) == 3:
                        await response.aclose()
    assert received == [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    assert log[-1] == "stopped"


async def test_aiter_bytes_chunk_size() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        for part in (b"abc", b"defg", b"h"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    transport = rapidhttp.ASGITransport(app=app)
    async with rapidhttp.AsyncClient(transport=transport) as client:
        async with client.stream("GET", "http://example.org/") as response:
            chunks = [chunk async for chunk in response.aiter_bytes(chunk_size=3)]
    assert chunks == [b"abc", b"def", b"gh"]


async def test_concurrent_requests() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep(0.01)
        body = scope["path"].encode()
        await send({"type": "http.response.start", "status": 200, "headers": TEXT})
        await send({"type": "http.response.body", "body": body})

    results: dict[int, str] = {}
    transport = rapidhttp.ASGITransport(app=app)
    async with rapidhttp.AsyncClient(transport=transport) as client:

        async def fetch(i: int) -> None:
            results[i] = (await client.get(f"http://example.org/{i}")).text

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for i in range(10):
                    tg.start_soon(fetch, i)
    assert results == {i: f"/{i}" for i in range(10)}


async def test_context_variables_are_copied_not_shared() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(var.get())
        var.set("app")
        await hello(scope, receive, send)

    var.set("caller")
    await send_request(app, rapidhttp.Request("GET", "http://example.org/"))
    assert seen == ["caller"]
    assert var.get() == "caller"


# --------------------------------------------------------------------------- app exceptions


async def raise_before_start(scope: Scope, receive: Receive, send: Send) -> None:
    raise ValueError("boom before start")


async def raise_mid_body(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise ValueError("boom mid body")


async def raise_after_response(scope: Scope, receive: Receive, send: Send) -> None:
    await hello(scope, receive, send)
    raise ValueError("boom after response")


@pytest.mark.parametrize("app", [raise_before_start, raise_mid_body, raise_after_response])
async def test_app_exceptions_are_raised(app: typing.Any) -> None:
    with pytest.raises(ValueError, match="boom"):
        await send_request(app, rapidhttp.Request("GET", "http://example.org/"))


async def test_app_exception_through_the_client() -> None:
    transport = rapidhttp.ASGITransport(app=raise_after_response)
    async with rapidhttp.AsyncClient(transport=transport) as client:
        with pytest.raises(ValueError, match="boom after response"):
            await client.get("http://example.org/")


async def test_no_raise_before_start_gives_500() -> None:
    request = rapidhttp.Request("GET", "http://example.org/")
    response = await send_request(raise_before_start, request, raise_app_exceptions=False)
    assert response.status_code == 500
    assert response.content == b""


async def test_no_raise_mid_body_ends_the_body() -> None:
    request = rapidhttp.Request("GET", "http://example.org/")
    response = await send_request(raise_mid_body, request, raise_app_exceptions=False)
    assert response.status_code == 200
    assert response.content == b"partial"


async def test_no_raise_after_response_keeps_the_response() -> None:
    request = rapidhttp.Request("GET", "http://example.org/")
    response = await send_request(raise_after_response, request, raise_app_exceptions=False)
    assert response.text == "Hello, world!"


# --------------------------------------------------------------------------- protocol errors


async def start(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": TEXT})


@pytest.mark.parametrize(
    "messages, error",
    [
        ([{"type": "http.response.body", "body": b"x"}], "'http.response.body' before"),
        ([{"type": "http.response.start"}], "invalid response status: None"),
        ([{"type": "http.response.start", "status": "200"}], "invalid response status: '200'"),
        (
            [{"type": "http.response.start", "status": 200}] * 2,
            "'http.response.start' twice",
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.body", "body": "text"},
            ],
            "body of type 'str', expected bytes",
        ),
        (
            [
                {"type": "http.response.start", "status": 200},
                {"type": "http.response.body", "body": b"done"},
                {"type": "http.response.body", "body": b"more"},
            ],
            "after the response was complete",
        ),
        ([{"type": "websocket.accept"}], "unexpected message: {'type': 'websocket.accept'}"),
        (["not a dict"], "unexpected message: 'not a dict'"),
    ],
)
@pytest.mark.parametrize("raise_app_exceptions", [True, False])
async def test_invalid_messages(
    messages: list[typing.Any], error: str, raise_app_exceptions: bool
) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        for message in messages:
            await send(message)

    request = rapidhttp.Request("GET", "http://example.org/")
    with pytest.raises(rapidhttp.RemoteProtocolError, match=error) as info:
        await send_request(app, request, raise_app_exceptions=raise_app_exceptions)
    assert info.value.request is request


async def test_swallowed_protocol_error_is_still_reported() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.body", "body": b"too early"})
        except rapidhttp.RemoteProtocolError:
            pass
        await hello(scope, receive, send)

    with pytest.raises(rapidhttp.RemoteProtocolError, match="before 'http.response.start'"):
        await send_request(app, rapidhttp.Request("GET", "http://example.org/"))


async def test_app_returning_without_response() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        pass

    with pytest.raises(rapidhttp.RemoteProtocolError, match="without sending a response"):
        await send_request(app, rapidhttp.Request("GET", "http://example.org/"))


async def test_app_returning_without_completing_the_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})

    with pytest.raises(rapidhttp.RemoteProtocolError, match="without completing the response"):
        await send_request(app, rapidhttp.Request("GET", "http://example.org/"))


# --------------------------------------------------------------------------- cancellation


async def test_app_that_never_responds_is_cancelled_with_the_caller() -> None:
    stopped = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stopped.set()

    transport = rapidhttp.ASGITransport(app=app)
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.1):
            await transport.handle_async_request(rapidhttp.Request("GET", "http://example.org/"))
    # The app has finished by the time the cancelled call returns.
    assert stopped.is_set()


async def test_caller_cancelled_while_reading_the_body() -> None:
    stopped = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        try:
            await anyio.sleep_forever()
        finally:
            stopped.set()

    transport = rapidhttp.ASGITransport(app=app)
    request = rapidhttp.Request("GET", "http://example.org/")
    with anyio.fail_after(5):
        response = await transport.handle_async_request(request)
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.1):
            await response.aread()
    assert stopped.is_set()
    await response.aclose()


async def test_closing_early_stops_the_app_and_reports_the_disconnect(
    anyio_backend: str,
) -> None:
    seen: list[typing.Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        try:
            await anyio.sleep_forever()
        finally:
            for call in (receive, lambda: send({"type": "http.response.body", "body": b"late"})):
                try:
                    seen.append(await call())
                except BaseException as exc:
                    seen.append(exc)

    transport = rapidhttp.ASGITransport(app=app)
    with anyio.fail_after(5):
        response = await transport.handle_async_request(
            rapidhttp.Request("GET", "http://example.org/")
        )
        await response.aclose()
    assert len(seen) == 2
    if anyio_backend == "asyncio":
        # Cancelled once, an asyncio app may still await: receive reports the disconnect.
        assert seen[0] == {"type": "http.disconnect"}
    else:  # while trio keeps cancelling every checkpoint of the app
        assert isinstance(seen[0], anyio.get_cancelled_exc_class())
    assert isinstance(seen[1], ClientDisconnected)
    assert isinstance(seen[1], OSError)


# --------------------------------------------------------------------------- a real framework


def starlette_app(log: list[str]) -> typing.Any:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"json": await request.json(), "query": request.url.query})

    async def background(request: Request) -> Response:
        async def task() -> None:
            log.append("background task ran")

        return Response("done", background=BackgroundTask(task))

    async def ticks(request: Request) -> StreamingResponse:
        async def events() -> typing.AsyncIterator[bytes]:
            n = 0
            while True:
                n += 1
                yield b"tick %d\n" % n
                await anyio.sleep(0)

        return StreamingResponse(events(), media_type="text/plain")

    async def fail(request: Request) -> Response:
        raise ValueError("endpoint failed")

    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/background", background),
            Route("/ticks", ticks),
            Route("/fail", fail),
        ]
    )

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        finally:
            log.append("app finished")

    return logged


async def test_starlette_app() -> None:
    log: list[str] = []
    app = starlette_app(log)
    request = rapidhttp.Request("POST", "http://testserver/echo?a=1", json={"x": [1, 2]})
    response = await send_request(app, request)
    assert response.json() == {"json": {"x": [1, 2]}, "query": "a=1"}

    response = await send_request(app, rapidhttp.Request("GET", "http://testserver/missing"))
    assert response.status_code == 404

    # The background task has run by the time the body is complete, as with httpx.
    response = await send_request(app, rapidhttp.Request("GET", "http://testserver/background"))
    assert response.text == "done"
    assert log[-2:] == ["background task ran", "app finished"]


async def test_starlette_streaming_response_closed_early() -> None:
    log: list[str] = []
    transport = rapidhttp.ASGITransport(app=starlette_app(log))
    with anyio.fail_after(5):
        response = await transport.handle_async_request(
            rapidhttp.Request("GET", "http://testserver/ticks")
        )
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        received = []
        async for chunk in response.stream:  # type: ignore[union-attr]
            received.append(chunk)
            if len(received) == 2:
                break
        await response.aclose()
    assert received == [b"tick 1\n", b"tick 2\n"]
    assert log == ["app finished"]


async def test_starlette_server_error() -> None:
    app = starlette_app([])
    request = rapidhttp.Request("GET", "http://testserver/fail")
    # Starlette sends its 500 page and then re-raises, for the server to log.
    with pytest.raises(ValueError, match="endpoint failed"):
        await send_request(app, request)
    response = await send_request(app, request, raise_app_exceptions=False)
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
