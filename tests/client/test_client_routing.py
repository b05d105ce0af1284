"""Mounts, URL patterns, proxy= and proxies from the environment."""

from __future__ import annotations

import pytest
from client_apps import echo_app

import rapidhttp
from rapidhttp._utils import URLPattern, get_environment_proxies


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("all://", "http://example.com", True),
        ("all://", "https://example.com:123", True),
        ("https://", "https://example.com", True),
        ("https://", "http://example.com", False),
        ("all://example.com", "http://example.com", True),
        ("all://example.com", "http://www.example.com", False),
        ("all://*.example.com", "http://www.example.com", True),
        ("all://*.example.com", "http://example.com", False),
        ("all://*example.com", "http://example.com", True),
        ("all://*example.com", "http://www.example.com", True),
        ("all://*example.com", "http://wwwexample.com", False),
        ("http://*", "http://anything.org", True),
        ("https://example.com:1234", "https://example.com:1234", True),
        ("https://example.com:1234", "https://example.com", False),
        ("all://[::1]", "http://[::1]:8080", True),
        ("all://127.0.0.1", "http://127.0.0.1:8000/x", True),
    ],
)
def test_url_pattern_matching(pattern: str, url: str, matches: bool) -> None:
    assert URLPattern(pattern).matches(rapidhttp.URL(url)) is matches


def test_url_pattern_priority() -> None:
    patterns = [
        URLPattern(p)
        for p in ["all://", "http://", "all://example.com", "http://example.com", "all://x.io:1"]
    ]
    assert [p.pattern for p in sorted(patterns)] == [
        "all://x.io:1",
        "http://example.com",
        "all://example.com",
        "http://",
        "all://",
    ]
    assert URLPattern("all://") == URLPattern("all://")
    assert hash(URLPattern("all://")) == hash(URLPattern("all://"))
    assert URLPattern("all://") != "all://"


@pytest.mark.parametrize("key", ["http", "https", "all"])
def test_url_pattern_requires_url_form(key: str) -> None:
    with pytest.raises(ValueError) as info:
        URLPattern(key)
    assert str(info.value) == (
        "Proxy keys should use proper URL forms rather than plain scheme strings. "
        f'Instead of "{key}", use "{key}://"'
    )
    with pytest.raises(ValueError, match="proper URL forms"):
        rapidhttp.Client(mounts={key: rapidhttp.MockTransport(echo_app)})


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, {}),
        ({"HTTP_PROXY": "http://127.0.0.1"}, {"http://": "http://127.0.0.1"}),
        ({"https_proxy": "127.0.0.1:3128"}, {"https://": "http://127.0.0.1:3128"}),
        ({"ALL_PROXY": "socks5://127.0.0.1"}, {"all://": "socks5://127.0.0.1"}),
        ({"FTP_PROXY": "http://127.0.0.1"}, {}),
        (
            {"HTTP_PROXY": "http://p", "NO_PROXY": "example.com, .internal,localhost"},
            {
                "http://": "http://p",
                "all://*example.com": None,
                "all://*.internal": None,
                "all://localhost": None,
            },
        ),
        (
            {"NO_PROXY": "192.168.0.0/16,::1,10.0.0.1,http://direct.org"},
            {
                "all://192.168.0.0/16": None,
                "all://[::1]": None,
                "all://10.0.0.1": None,
                "http://direct.org": None,
            },
        ),
        ({"HTTP_PROXY": "http://p", "NO_PROXY": "a.org,*"}, {}),
    ],
)
def test_environment_proxies(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: dict[str, str | None]
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert get_environment_proxies() == expected


def test_mount_routing() -> None:
    default = rapidhttp.MockTransport(lambda request: rapidhttp.Response(200, text="default"))
    https = rapidhttp.MockTransport(lambda request: rapidhttp.Response(200, text="https"))
    special = rapidhttp.MockTransport(lambda request: rapidhttp.Response(200, text="special"))
    with rapidhttp.Client(
        transport=default,
        mounts={"https://": https, "all://special.org": special, "https://direct.org": None},
    ) as client:
        assert client.get("http://example.org").text == "default"
        assert client.get("https://example.org").text == "https"
        assert client.get("https://special.org").text == "special"
        # A None mount means the default transport.
        assert client.get("https://direct.org").text == "default"
        assert client._transport_for_url(rapidhttp.URL("https://direct.org")) is default


def test_proxy_argument_mounts_all() -> None:
    client = rapidhttp.Client(proxy="http://127.0.0.1:3128")
    transport = client._transport_for_url(rapidhttp.URL("https://example.org"))
    assert transport is not client._transport
    assert isinstance(transport, rapidhttp.HTTPTransport)
    client.close()


def test_unknown_proxy_scheme() -> None:
    with pytest.raises(ValueError, match="Unknown scheme for proxy URL"):
        rapidhttp.Client(proxy="ftp://127.0.0.1")


@pytest.mark.parametrize("client_class", [rapidhttp.Client, rapidhttp.AsyncClient])
def test_environment_proxies_used(
    monkeypatch: pytest.MonkeyPatch, client_class: type[rapidhttp.Client]
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    client = client_class()
    proxied = client._transport_for_url(rapidhttp.URL("http://example.org"))
    assert proxied is not client._transport
    assert client._transport_for_url(rapidhttp.URL("https://example.org")) is client._transport
    assert client._transport_for_url(rapidhttp.URL("http://localhost")) is client._transport


def test_environment_proxies_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:3128")
    url = rapidhttp.URL("http://example.org")
    with rapidhttp.Client(trust_env=False) as client:
        assert client._transport_for_url(url) is client._transport
    transport = rapidhttp.MockTransport(echo_app)
    with rapidhttp.Client(transport=transport) as client:
        assert client._transport_for_url(url) is transport
    with rapidhttp.Client(proxy="http://127.0.0.1:9999") as client:
        assert list(client._mounts) == [URLPattern("all://")]
