"""AsyncClient, under asyncio and trio: the same rules as Client, driven with await."""

from __future__ import annotations

import typing

import pytest
from client_apps import DigestApp, body, echo_app, redirect_app

import rapidhttp


async def async_echo_app(request: rapidhttp.Request) -> rapidhttp.Response:
    await request.aread()
    return echo_app(request)


@pytest.mark.anyio
async def test_get_and_default_headers() -> None:
    async with rapidhttp.AsyncClient(
        transport=rapidhttp.MockTransport(async_echo_app), base_url="https://example.org/api"
    ) as client:
        response = await client.get("/users", params={"a": 1})
    data = body(response)
    assert data["url"] == "https://example.org/api/users?a=1"
    assert data["headers"]["user-agent"].startswith("python-rapidhttp/")
    assert response.request.extensions["timeout"] == rapidhttp.Timeout(5.0).as_dict()


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["get", "options", "head", "delete"])
async def test_verbs_without_body(method: str) -> None:
    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(async_echo_app)) as client:
        response = await getattr(client, method)("https://example.org/")
    assert response.request.method == method.upper()


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_verbs_with_body(method: str) -> None:
    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(async_echo_app)) as client:
        response = await getattr(client, method)("https://example.org/", content=b"hello")
    assert body(response)["body"] == "hello"


@pytest.mark.anyio
async def test_stream_and_elapsed() -> None:
    async def app(request: rapidhttp.Request) -> rapidhttp.Response:
        async def chunks() -> typing.AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

        return rapidhttp.Response(200, content=chunks())

    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(app)) as client:
        async with client.stream("GET", "https://example.org/") as response:
            assert [chunk async for chunk in response.aiter_bytes()] == [b"a", b"b"]
        assert response.is_closed
        assert response.elapsed.total_seconds() >= 0


@pytest.mark.anyio
async def test_sync_stream_with_async_client_raises() -> None:
    def chunks() -> typing.Iterator[bytes]:
        yield b"data"  # pragma: no cover

    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(async_echo_app)) as client:
        with pytest.raises(
            RuntimeError, match="Attempted to send an sync request with an AsyncClient instance."
        ):
            await client.post("https://example.org/", content=chunks())


@pytest.mark.anyio
async def test_state_rules() -> None:
    client = rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(async_echo_app))
    async with client:
        with pytest.raises(RuntimeError, match="Cannot open a client instance more than once."):
            async with client:
                pass  # pragma: no cover
    assert client.is_closed
    with pytest.raises(RuntimeError, match="Cannot reopen a client instance"):
        async with client:
            pass  # pragma: no cover
    with pytest.raises(
        RuntimeError, match="Cannot send a request, as the client has been closed."
    ):
        await client.get("https://example.org/")
    await client.aclose()


@pytest.mark.anyio
async def test_redirects_and_async_hooks() -> None:
    events: list[str] = []

    async def on_request(request: rapidhttp.Request) -> None:
        events.append(f"request {request.url.path}")

    async def on_response(response: rapidhttp.Response) -> None:
        events.append(f"response {response.status_code}")

    url = rapidhttp.URL(
        "https://example.org/redirect", params={"status": 303, "location": "/echo"}
    )
    async with rapidhttp.AsyncClient(
        transport=rapidhttp.MockTransport(redirect_app),
        event_hooks={"request": [on_request], "response": [on_response]},
        follow_redirects=True,
    ) as client:
        response = await client.post(url, content=b"x")
    assert response.request.method == "GET"
    assert [r.status_code for r in response.history] == [303]
    assert events == ["request /redirect", "response 303", "request /echo", "response 200"]


@pytest.mark.anyio
async def test_hook_exception_propagates() -> None:
    async def hook(request: rapidhttp.Request) -> None:
        raise RuntimeError("hook says no")

    async with rapidhttp.AsyncClient(
        transport=rapidhttp.MockTransport(async_echo_app), event_hooks={"request": [hook]}
    ) as client:
        with pytest.raises(RuntimeError, match="hook says no"):
            await client.get("https://example.org/")


@pytest.mark.anyio
async def test_too_many_redirects() -> None:
    async with rapidhttp.AsyncClient(
        transport=rapidhttp.MockTransport(redirect_app), max_redirects=3
    ) as client:
        with pytest.raises(
            rapidhttp.TooManyRedirects, match="Exceeded maximum allowed redirects."
        ):
            await client.get("https://example.org/loop", follow_redirects=True)


@pytest.mark.anyio
async def test_digest_auth() -> None:
    app = DigestApp(algorithm="SHA-256")
    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(app)) as client:
        response = await client.get(
            "https://example.org/", auth=rapidhttp.DigestAuth("user", "pass")
        )
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]


@pytest.mark.anyio
async def test_async_auth_flow_override() -> None:
    class AsyncOnly(rapidhttp.Auth):
        requires_response_body = True

        async def async_auth_flow(
            self, request: rapidhttp.Request
        ) -> typing.AsyncGenerator[rapidhttp.Request, rapidhttp.Response]:
            request.headers["X-Async"] = "1"
            response = yield request
            if response.status_code == 200:
                request.headers["X-Async"] = "2"
                yield request

    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(async_echo_app)) as client:
        response = await client.get("https://example.org/", auth=AsyncOnly())
    assert body(response)["headers"]["x-async"] == "2"
    assert len(response.history) == 1


@pytest.mark.anyio
async def test_auth_flow_error_closes_response() -> None:
    seen: list[rapidhttp.Response] = []

    class Failing(rapidhttp.Auth):
        def auth_flow(
            self, request: rapidhttp.Request
        ) -> typing.Generator[rapidhttp.Request, rapidhttp.Response, None]:
            seen.append((yield request))
            raise ValueError("auth broke")

    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(async_echo_app)) as client:
        with pytest.raises(ValueError, match="auth broke"):
            await client.get("https://example.org/", auth=Failing())
    assert seen[0].is_closed


@pytest.mark.anyio
async def test_transport_error_has_request() -> None:
    async def app(request: rapidhttp.Request) -> rapidhttp.Response:
        raise rapidhttp.ReadTimeout("slow")

    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(app)) as client:
        with pytest.raises(rapidhttp.ReadTimeout) as info:
            await client.get("https://example.org/x")
    assert info.value.request.url == "https://example.org/x"


@pytest.mark.anyio
async def test_cookies_persist() -> None:
    async with rapidhttp.AsyncClient(transport=rapidhttp.MockTransport(redirect_app)) as client:
        response = await client.get(
            "https://example.org/set_cookie_and_redirect", follow_redirects=True
        )
        assert body(response)["headers"]["cookie"] == "session=abc"
        again = await client.get("https://example.org/echo")
    assert body(again)["headers"]["cookie"] == "session=abc"


@pytest.mark.anyio
async def test_mounts_close() -> None:
    closed: list[str] = []

    class Transport(rapidhttp.MockTransport):
        def __init__(self, name: str) -> None:
            super().__init__(async_echo_app)
            self.name = name

        async def aclose(self) -> None:
            closed.append(self.name)

    client = rapidhttp.AsyncClient(
        transport=Transport("default"), mounts={"https://special.org": Transport("mounted")}
    )
    response = await client.get("https://special.org/")
    assert response.status_code == 200
    await client.aclose()
    assert closed == ["default", "mounted"]


@pytest.mark.anyio
async def test_against_real_server(server: typing.Any) -> None:
    async with rapidhttp.AsyncClient(base_url=server.url) as client:
        response = await client.get("/json")
        assert response.json() == {"Hello": "world!"}
        response = await client.get("/redirect_301", follow_redirects=True)
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [301]
