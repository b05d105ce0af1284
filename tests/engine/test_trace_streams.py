"""The `trace` extension's connect and start_tls `.complete` events return a network stream with
`get_extra_info`, as httpcore's do (httpx's CLI calls `.get_extra_info("server_addr")` on it):
sync, asyncio and trio; plain, TLS, through a CONNECT proxy and TLS in TLS."""

from __future__ import annotations

import ssl
import typing

import pytest

import rapidhttp
from rapidhttp._transports.default import AsyncHTTPTransport, HTTPTransport

TIMEOUTS = dict.fromkeys(("connect", "read", "write", "pool"), 5.0)
Events = list[tuple[str, dict[str, typing.Any]]]


def port_of(url: str) -> int:
    return typing.cast(int, rapidhttp.URL(url).port)


def streams(events: Events, suffix: str) -> list[typing.Any]:
    return [info["return_value"] for name, info in events if name.endswith(suffix)]


def check(events: Events, connect_port: int, tls: int) -> None:
    """One connect_tcp stream to 127.0.0.1:`connect_port`; `tls` start_tls streams, each with
    an SSL object, over the same TCP connection."""
    (connected,) = streams(events, ".connect_tcp.complete")
    assert connected.get_extra_info("server_addr") == ("127.0.0.1", connect_port)
    assert connected.get_extra_info("client_addr")[0] == "127.0.0.1"
    assert connected.get_extra_info("socket") is not None
    assert connected.get_extra_info("is_readable") is False
    started = streams(events, ".start_tls.complete")
    assert len(started) == tls
    for stream in started:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", connect_port)
        ssl_object = stream.get_extra_info("ssl_object")
        assert isinstance(ssl_object, (ssl.SSLObject, ssl.SSLSocket))
        assert (ssl_object.version() or "").startswith("TLS")
    if not tls:
        assert connected.get_extra_info("ssl_object") is None


def sync_get(transport: HTTPTransport, url: str) -> Events:
    events: Events = []

    def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append((name, info))

    extensions = {"trace": trace, "timeout": TIMEOUTS}
    response = transport.handle_request(rapidhttp.Request("GET", url, extensions=extensions))
    try:
        response.read()
    finally:
        response.close()
    assert response.status_code == 200
    return events


async def async_get(transport: AsyncHTTPTransport, url: str) -> Events:
    events: Events = []

    async def trace(name: str, info: dict[str, typing.Any]) -> None:
        events.append((name, info))

    extensions = {"trace": trace, "timeout": TIMEOUTS}
    response = await transport.handle_async_request(
        rapidhttp.Request("GET", url, extensions=extensions)
    )
    try:
        await response.aread()
    finally:
        await response.aclose()
    assert response.status_code == 200
    return events


# --------------------------------------------------------------------------- sync


def test_sync_plain(server: typing.Any) -> None:
    with HTTPTransport() as transport:
        check(sync_get(transport, server.url), server.port, tls=0)


def test_sync_tls(tls_server: typing.Any, client_ssl_context: ssl.SSLContext) -> None:
    with HTTPTransport(verify=client_ssl_context) as transport:
        check(sync_get(transport, tls_server.url), tls_server.port, tls=1)


def test_sync_http2_tls(tls_server: typing.Any, client_ssl_context: ssl.SSLContext) -> None:
    with HTTPTransport(verify=client_ssl_context, http2=True) as transport:
        check(sync_get(transport, tls_server.url), tls_server.port, tls=1)


def test_sync_connect_tunnel(
    http_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    with HTTPTransport(proxy=http_proxy.url, verify=client_ssl_context) as transport:
        check(sync_get(transport, tls_server.url), port_of(http_proxy.url), tls=1)


def test_sync_tls_in_tls(
    https_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    proxy = rapidhttp.Proxy(https_proxy.url, ssl_context=client_ssl_context)
    with HTTPTransport(proxy=proxy, verify=client_ssl_context) as transport:
        check(sync_get(transport, tls_server.url), port_of(https_proxy.url), tls=2)


# --------------------------------------------------------------------------- asyncio and trio


@pytest.mark.anyio
async def test_async_plain(server: typing.Any) -> None:
    async with AsyncHTTPTransport() as transport:
        check(await async_get(transport, server.url), server.port, tls=0)


@pytest.mark.anyio
async def test_async_tls(tls_server: typing.Any, client_ssl_context: ssl.SSLContext) -> None:
    async with AsyncHTTPTransport(verify=client_ssl_context) as transport:
        check(await async_get(transport, tls_server.url), tls_server.port, tls=1)


@pytest.mark.anyio
async def test_async_http2_tls(tls_server: typing.Any, client_ssl_context: ssl.SSLContext) -> None:
    async with AsyncHTTPTransport(verify=client_ssl_context, http2=True) as transport:
        check(await async_get(transport, tls_server.url), tls_server.port, tls=1)


@pytest.mark.anyio
async def test_async_connect_tunnel(
    http_proxy: typing.Any, tls_server: typing.Any, client_ssl_context: ssl.SSLContext
) -> None:
    async with AsyncHTTPTransport(proxy=http_proxy.url, verify=client_ssl_context) as transport:
        check(await async_get(transport, tls_server.url), port_of(http_proxy.url), tls=1)
