"""httpx 0.27's `app=` and `proxies=` arguments: still accepted, with a DeprecationWarning."""

from __future__ import annotations

import typing

import pytest

import rapidhttp


def wsgi_app(environ: dict[str, typing.Any], start_response: typing.Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wsgi"]


async def asgi_app(scope: dict[str, typing.Any], receive: typing.Any, send: typing.Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"asgi"})


def test_app_shortcut_sync() -> None:
    with pytest.warns(DeprecationWarning) as record:
        client = rapidhttp.Client(app=wsgi_app)
    assert str(record[0].message) == (
        "The 'app' shortcut is now deprecated. "
        "Use the explicit style 'transport=WSGITransport(app=...)' instead."
    )
    assert record[0].filename == __file__  # the warning points at the caller
    with client:
        assert client.get("http://testserver/").text == "wsgi"


@pytest.mark.anyio
async def test_app_shortcut_async() -> None:
    with pytest.warns(DeprecationWarning, match=r"transport=ASGITransport\(app=...\)"):
        client = rapidhttp.AsyncClient(app=asgi_app)
    async with client:
        assert (await client.get("http://testserver/")).text == "asgi"


def test_explicit_transport_wins_over_app() -> None:
    transport = rapidhttp.MockTransport(lambda request: rapidhttp.Response(200, text="mock"))
    with pytest.warns(DeprecationWarning):
        client = rapidhttp.Client(app=wsgi_app, transport=transport)
    with client:
        assert client.get("http://testserver/").text == "mock"


def test_app_disables_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:3128")
    with pytest.warns(DeprecationWarning):
        client = rapidhttp.Client(app=wsgi_app)
    assert client._mounts == {}
    client.close()


def test_proxies_single_url() -> None:
    with pytest.warns(
        DeprecationWarning,
        match=r"^The 'proxies' argument is now deprecated. Use 'proxy' or 'mounts' instead.$",
    ):
        client = rapidhttp.Client(proxies="http://127.0.0.1:3128")
    transport = client._transport_for_url(rapidhttp.URL("https://example.org"))
    assert isinstance(transport, rapidhttp.HTTPTransport)
    assert transport is not client._transport
    client.close()


def test_proxies_mapping() -> None:
    with pytest.warns(DeprecationWarning):
        client = rapidhttp.AsyncClient(
            proxies={
                "https://": rapidhttp.Proxy("http://127.0.0.1:3128"),
                "all://direct.org": None,
            }
        )
    https = client._transport_for_url(rapidhttp.URL("https://example.org"))
    assert isinstance(https, rapidhttp.AsyncHTTPTransport)
    assert https is not client._transport
    assert client._transport_for_url(rapidhttp.URL("http://example.org")) is client._transport
    assert client._transport_for_url(rapidhttp.URL("https://direct.org")) is client._transport


def test_proxies_mapping_needs_url_form_keys() -> None:
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="proper URL forms"):
            rapidhttp.Client(proxies={"http": "http://127.0.0.1:3128"})


def test_proxy_and_proxies_together() -> None:
    with pytest.warns(DeprecationWarning):
        with pytest.raises(RuntimeError, match="Use either `proxy` or 'proxies', not both."):
            rapidhttp.Client(proxy="http://127.0.0.1:1", proxies="http://127.0.0.1:2")


def test_top_level_proxies(server: typing.Any) -> None:
    # NO_PROXY-style None mapping for loopback: the request goes direct.
    with pytest.warns(DeprecationWarning):
        response = rapidhttp.get(server.url, proxies={"all://127.0.0.1": None})
    assert response.status_code == 200
