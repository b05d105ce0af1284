"""URL: parsing, normalisation, percent-encoding, components, copies, joins and errors."""

from __future__ import annotations

import pickle
import typing

import pytest

import rapidhttp
from rapidhttp import _urls
from rapidhttp._urlparse import ParseResult, urlparse

# --------------------------------------------------------------------------- parsing


def test_complete_url_properties() -> None:
    url = rapidhttp.URL(
        "HTTPS://jo%40email.com:a%20secret@müller.de:1234/pa%20th?search=ab#anchorlink"
    )
    assert url.scheme == "https"
    assert url.raw_scheme == b"https"
    assert url.userinfo == b"jo%40email.com:a%20secret"
    assert url.username == "jo@email.com"
    assert url.password == "a secret"
    assert url.host == "müller.de"
    assert url.raw_host == b"xn--mller-kva.de"
    assert url.port == 1234
    assert url.netloc == b"xn--mller-kva.de:1234"
    assert url.path == "/pa th"
    assert url.query == b"search=ab"
    assert url.raw_path == b"/pa%20th?search=ab"
    assert url.fragment == "anchorlink"
    assert url.params == rapidhttp.QueryParams("search=ab")
    assert url.is_absolute_url and not url.is_relative_url
    assert (
        str(url)
        == "https://jo%40email.com:a%20secret@xn--mller-kva.de:1234/pa%20th?search=ab#anchorlink"
    )


def test_empty_url() -> None:
    url = rapidhttp.URL()
    assert str(url) == ""
    assert url.path == "/"
    assert url.raw_path == b"/"
    assert url.is_relative_url
    assert url == rapidhttp.URL("")


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("http://example.com", "http://example.com"),
        ("http://example.com:80/", "http://example.com/"),
        ("https://example.com:443/", "https://example.com/"),
        ("ws://example.com:80/", "ws://example.com/"),
        ("wss://example.com:443/", "wss://example.com/"),
        ("ftp://example.com:21/", "ftp://example.com/"),
        ("http://example.com:443/", "http://example.com:443/"),
        ("foo://example.com:80/", "foo://example.com:80/"),
        # The default port is compared with the lowercased scheme.
        ("HTTP://EXAMPLE.COM:80/", "http://example.com/"),
        ("http://example.com:0080/", "http://example.com/"),
    ],
)
def test_scheme_host_and_default_port_normalisation(raw: str, expected: str) -> None:
    assert str(rapidhttp.URL(raw)) == expected


def test_empty_query_and_fragment_are_kept_distinct_from_absent() -> None:
    assert rapidhttp.URL("https://example.com/path").raw_path == b"/path"
    assert rapidhttp.URL("https://example.com/path?").raw_path == b"/path?"
    assert str(rapidhttp.URL("https://example.com/path?#")) == "https://example.com/path?#"
    assert rapidhttp.URL("https://example.com/path?#").query == b""


def test_relative_urls() -> None:
    url = rapidhttp.URL("/path/../to?x=1#top")
    assert url.is_relative_url
    assert url.scheme == "" and url.host == "" and url.port is None
    # Dot segments are only removed once there is a scheme or an authority to anchor them.
    assert url.raw_path == b"/path/../to?x=1"
    assert rapidhttp.URL("../abc").path == "../abc"
    assert rapidhttp.URL("://example.com").host == "example.com"


@pytest.mark.parametrize(
    "raw,path",
    [
        ("https://example.com/a/b/../c/./d", "/a/c/d"),
        ("https://example.com/../a", "/a"),
        ("https://example.com/a/..", ""),
        ("https://example.com/a/.../b", "/a/.../b"),
        ("https://example.com/a/.b/c.", "/a/.b/c."),
    ],
)
def test_dot_segments_removed_from_absolute_urls(raw: str, path: str) -> None:
    assert rapidhttp.URL(raw)._uri_reference.path == path


# --------------------------------------------------------------------------- percent-encoding


@pytest.mark.parametrize(
    "raw,raw_path,fragment",
    [
        # Path: space " # < > ? ` { } are escaped; sub-delims, ':', '@', '[', ']' are not.
        ("https://a.com/!$&'()*+,;= :@[]{}`|^", b"/!$&'()*+,;=%20:@[]%7B%7D%60|^", ""),
        # Query: only space " # < > are escaped ('?' and '/' stay).
        ('https://a.com/?a=b c&d=e/f?`{}<>"', b"/?a=b%20c&d=e/f?`{}%3C%3E%22", ""),
        # Fragment: space " < > ` are escaped, '#' stays.
        ("https://a.com/#a b#c`<>{}", b"/", "a b#c`<>{}"),
        # Existing escapes are never double-encoded, and a lone '%' stays.
        ("https://a.com/%20x%zz?q=%2F%", b"/%20x%zz?q=%2F%", ""),
        # Non-ASCII is UTF-8 percent-encoded.
        ("https://a.com/🌟/é?é=ü", b"/%F0%9F%8C%9F/%C3%A9?%C3%A9=%C3%BC", ""),
    ],
)
def test_per_component_percent_encoding(raw: str, raw_path: bytes, fragment: str) -> None:
    url = rapidhttp.URL(raw)
    assert url.raw_path == raw_path
    assert url.fragment == fragment


def test_fragment_is_escaped_in_str() -> None:
    assert str(rapidhttp.URL("https://a.com/#a b`")) == "https://a.com/#a%20b%60"


@pytest.mark.parametrize(
    "raw,userinfo,username,password",
    [
        ("https://user:pass@a.com", b"user:pass", "user", "pass"),
        ("https://u%40x.com:p%20w@a.com", b"u%40x.com:p%20w", "u@x.com", "p w"),
        # Unescaped: the last '@' ends the userinfo; ':' only splits the first time.
        ("https://u@x.com:p w@a.com", b"u%40x.com:p%20w", "u@x.com", "p w"),
        ("https://u:p:q@a.com", b"u:p:q", "u", "p:q"),
        ("https://u@a.com", b"u", "u", ""),
        ("https://:p@a.com", b":p", "", "p"),
    ],
)
def test_userinfo(raw: str, userinfo: bytes, username: str, password: str) -> None:
    url = rapidhttp.URL(raw)
    assert (url.userinfo, url.username, url.password) == (userinfo, username, password)


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    "raw,host,raw_host",
    [
        ("http://中国.icom.museum:80/", "中国.icom.museum", b"xn--fiqs8s.icom.museum"),
        ("http://xn--fiqs8s.icom.museum/", "中国.icom.museum", b"xn--fiqs8s.icom.museum"),
        ("http://Königsgäßchen.de", "königsgäßchen.de", b"xn--knigsgchen-b4a3dun.de"),
        ("https://faß.de", "faß.de", b"xn--fa-hia.de"),
        ("https://βόλος.com", "βόλος.com", b"xn--nxasmm1c.com"),
        ("https://EXAMPLE.com", "example.com", b"example.com"),
        ("https://exam le.com", "exam%20le.com", b"exam%20le.com"),
        ("https://023b76x43144/", "023b76x43144", b"023b76x43144"),
        ("https://1.2.3.4/", "1.2.3.4", b"1.2.3.4"),
        ("https://[2001:DB8::1]/", "2001:DB8::1", b"2001:DB8::1"),
    ],
)
def test_hosts(raw: str, host: str, raw_host: bytes) -> None:
    url = rapidhttp.URL(raw)
    assert url.host == host
    assert url.raw_host == raw_host


def test_ipv6_netloc_and_str() -> None:
    url = rapidhttp.URL("http://[::ffff:192.168.0.1]:5678/")
    assert url.host == "::ffff:192.168.0.1"
    assert url.netloc == b"[::ffff:192.168.0.1]:5678"
    assert str(url) == "http://[::ffff:192.168.0.1]:5678/"


def test_invalid_punycode_host_is_shown_as_written() -> None:
    # httpx raises idna.IDNAError from `.host` here; a property should not raise.
    url = rapidhttp.URL("http://xn--a.com/")
    assert url.host == "xn--a.com"


# --------------------------------------------------------------------------- invalid URLs


@pytest.mark.parametrize(
    "raw,message",
    [
        ("https://example.com:abc/", "Invalid port: 'abc'"),
        ("https://example.com:+80/", "Invalid port: '+80'"),
        ("https://example.com:-1/", "Invalid port: '-1'"),
        ("https://example.com: 80/", "Invalid port: ' 80'"),
        ("https://example.com:" + "9" * 5000, "Invalid port: '" + "9" * 5000 + "'"),
        ("https://example.com:8_0/", "Invalid port: '8_0'"),
        ("https://999.999.999.999/", "Invalid IPv4 address: '999.999.999.999'"),
        ("https://[2001]/", "Invalid IPv6 address: '[2001]'"),
        ("https://u:p@[invalid!]//evil/path", "Invalid IPv6 address: '[invalid!]'"),
        ("https://☃.com/", "Invalid IDNA hostname: '☃.com'"),
        (
            "https://www.example.com/\n",
            "Invalid non-printable ASCII character in URL, '\\n' at position 24.",
        ),
        ("http://a\tb.com", "Invalid non-printable ASCII character in URL, '\\t' at position 8."),
        (
            "https://a.com/\x7f",
            "Invalid non-printable ASCII character in URL, '\\x7f' at position 14.",
        ),
        ("//evil.com/path", None),  # valid: a network-path reference
        ("https://a.com/" + "x" * 70_000, "URL too long"),
        ("https://a.com/\ud800", "Invalid surrogate character in URL, '\\ud800'."),
    ],
)
def test_invalid_urls(raw: str, message: str | None) -> None:
    if message is None:
        assert rapidhttp.URL(raw).host == "evil.com"
        return
    with pytest.raises(rapidhttp.InvalidURL) as exc:
        rapidhttp.URL(raw)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"path": "/" + "x" * 70_000}, "URL component 'path' too long"),
        (
            {"path": "/\n"},
            "Invalid non-printable ASCII character in URL path component, '\\n' at position 1.",
        ),
        ({"scheme": "~"}, "Invalid URL component 'scheme'"),
        ({"scheme": "https://x@y/z"}, "Invalid URL component 'scheme'"),
        ({"path": "/a?b"}, "Invalid URL component 'path'"),
        (
            {"fragment": "a\r"},
            "Invalid non-printable ASCII character in URL fragment component, "
            "'\\r' at position 1.",
        ),
        ({"query": b"a#b"}, "Invalid URL component 'query'"),
        ({"host": "a@b"}, None),
        (
            {"scheme": "https", "host": "example.com", "path": "abc"},
            "For absolute URLs, path must be empty or begin with '/'",
        ),
        ({"path": "//abc"}, "Relative URLs cannot have a path starting with '//'"),
        ({"path": ":abc"}, "Relative URLs cannot have a path starting with ':'"),
        ({"scheme": "http", "host": "a.com", "port": -1}, "Invalid port: '-1'"),
    ],
)
def test_invalid_components(kwargs: dict[str, typing.Any], message: str | None) -> None:
    if message is None:
        # '@' in a host given on its own is escaped, not taken as a userinfo delimiter.
        assert rapidhttp.URL(scheme="http", **kwargs).raw_host == b"a%40b"
        return
    with pytest.raises(rapidhttp.InvalidURL) as exc:
        rapidhttp.URL(**kwargs)
    assert str(exc.value) == message


def test_invalid_url_type() -> None:
    with pytest.raises(TypeError) as exc:
        rapidhttp.URL(123)  # type: ignore[arg-type]
    assert (
        str(exc.value)
        == "Invalid type for url.  Expected str or rapidhttp.URL, got <class 'int'>: 123"
    )
    with pytest.raises(TypeError):
        rapidhttp.URL(b"http://a.com")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"incorrect": "/"}, "'incorrect' is an invalid keyword argument for URL()"),
        ({"userinfo": "u:p"}, "Argument 'userinfo' must be bytes but got str"),
        ({"port": "80"}, "Argument 'port' must be int but got str"),
        ({"netloc": "a.com"}, "Argument 'netloc' must be bytes but got str"),
        ({"path": b"/"}, "Argument 'path' must be str but got bytes"),
        ({"query": "a=1"}, "Argument 'query' must be bytes but got str"),
        ({"raw_path": "/"}, "Argument 'raw_path' must be bytes but got str"),
    ],
)
def test_keyword_type_errors(kwargs: dict[str, typing.Any], message: str) -> None:
    with pytest.raises(TypeError) as exc:
        rapidhttp.URL("https://example.org", **kwargs)
    assert str(exc.value) == message
    with pytest.raises(TypeError):
        rapidhttp.URL("https://example.org").copy_with(**kwargs)


# --------------------------------------------------------------------------- components


def test_url_from_components() -> None:
    url = rapidhttp.URL(scheme="https", host="www.example.com", path="/")
    assert str(url) == "https://www.example.com/"
    url = rapidhttp.URL(
        scheme="https",
        username="a@b",
        password="c d",
        host="::1",
        port=8443,
        path="/p q",
        query=b"x=1",
        fragment="f g",
    )
    assert str(url) == "https://a%40b:c%20d@[::1]:8443/p%20q?x=1#f%20g"
    assert rapidhttp.URL(path="abc").path == "abc"


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({}, "https://www.example.com/"),
        ({"scheme": "http"}, "http://www.example.com/"),
        ({"netloc": b"example.com:444"}, "https://example.com:444/"),
        ({"netloc": b"[::1]:8080"}, "https://[::1]:8080/"),
        ({"netloc": b"[::1]"}, "https://[::1]/"),
        ({"host": "::1"}, "https://[::1]/"),
        ({"host": "[::1]"}, "https://[::1]/"),
        ({"host": "ÉXAMPLE.de"}, "https://xn--xample-9ua.de/"),
        ({"port": 443}, "https://www.example.com/"),
        ({"port": 80}, "https://www.example.com:80/"),
        ({"port": None}, "https://www.example.com/"),
        (
            {"username": "tom@x.org", "password": "abc123@ %"},
            "https://tom%40x.org:abc123%40%20%@www.example.com/",
        ),
        ({"userinfo": b"a:b"}, "https://a:b@www.example.com/"),
        ({"path": "/path to"}, "https://www.example.com/path%20to"),
        ({"path": "/a/./b/../c"}, "https://www.example.com/a/c"),
        ({"query": b"a=123"}, "https://www.example.com/?a=123"),
        ({"raw_path": b"/p?"}, "https://www.example.com/p?"),
        ({"raw_path": b"/p?a=1"}, "https://www.example.com/p?a=1"),
        ({"raw_path": b"/p"}, "https://www.example.com/p"),
        ({"fragment": "top"}, "https://www.example.com/#top"),
        ({"params": {"a": "b c", "d": "e/f"}}, "https://www.example.com/?a=b+c&d=e%2Ff"),
        ({"params": {}}, "https://www.example.com/"),
    ],
)
def test_copy_with(kwargs: dict[str, typing.Any], expected: str) -> None:
    url = rapidhttp.URL("https://www.example.com/")
    assert str(url.copy_with(**kwargs)) == expected


def test_out_of_range_port_is_left_to_connect() -> None:
    # httpx's own suite builds `copy_with(port=123456)` and expects ConnectError on use.
    assert rapidhttp.URL("http://127.0.0.1/").copy_with(port=123456).port == 123456


def test_copy_with_keeps_canonical_components() -> None:
    url = rapidhttp.URL("http://A>B.com/a%7e?x#y")
    assert url.raw_host == b"a%3Eb.com"
    copied = url.copy_with(fragment="z")
    assert copied.raw_host == b"a%3Eb.com"
    assert str(copied) == "http://a%3Eb.com/a%7e?x#z"


def test_copy_with_scheme_renormalises_port() -> None:
    url = rapidhttp.URL("http://example.com:443/")
    assert url.copy_with(scheme="https").port is None
    assert rapidhttp.URL("https://example.com/").copy_with(scheme="http").port is None


def test_copy_with_username_only_replaces_whole_userinfo() -> None:
    url = rapidhttp.URL("https://u:p@example.com/")
    assert url.copy_with(username="v").userinfo == b"v"
    assert url.copy_with(username=None, password=None).userinfo == b""


def test_copy_with_rejects_scheme_injection() -> None:
    url = rapidhttp.URL("https://example.com/path?t=w#tw")
    with pytest.raises(rapidhttp.InvalidURL):
        url.copy_with(scheme="https://xxxx:xxxx@xxxxxxx/xxxxx/xxx?x=x#xxxxx")
    # A '/' smuggled into the host is escaped: it cannot start a path.
    assert url.copy_with(netloc=b"evil.com/x").raw_host == b"evil.com%2Fx"


def test_url_from_url_with_kwargs() -> None:
    base = rapidhttp.URL("https://example.com/a")
    assert rapidhttp.URL(base) == base
    assert rapidhttp.URL(base, path="/b") == "https://example.com/b"


def test_params_replace_query() -> None:
    url = rapidhttp.URL("https://example.org:123/p?b=456", params={"a": "123"})
    assert str(url) == "https://example.org:123/p?a=123"
    url = rapidhttp.URL("http://webservice", params={"u": "http://example.com?q=foo%2Fa"})
    assert str(url) == "http://webservice?u=http%3A%2F%2Fexample.com%3Fq%3Dfoo%252Fa"


def test_param_copy_methods() -> None:
    url = rapidhttp.URL("https://example.org:123/?a=123")
    assert url.copy_set_param("a", "456") == "https://example.org:123/?a=456"
    assert url.copy_add_param("a", "456") == "https://example.org:123/?a=123&a=456"
    assert url.copy_add_param("b", None) == "https://example.org:123/?a=123&b="
    assert url.copy_remove_param("a") == "https://example.org:123/"
    assert url.copy_merge_params({"b": True}) == "https://example.org:123/?a=123&b=true"
    assert url.copy_merge_params({"a": [1, 2]}) == "https://example.org:123/?a=1&a=2"
    # The original is untouched.
    assert str(url) == "https://example.org:123/?a=123"


# --------------------------------------------------------------------------- join


RFC3986_BASE = "http://example.com/b/c/d;p?q"


@pytest.mark.parametrize(
    "ref,expected",
    [
        # RFC 3986 section 5.4.1, normal examples.
        ("g", "http://example.com/b/c/g"),
        ("./g", "http://example.com/b/c/g"),
        ("g/", "http://example.com/b/c/g/"),
        ("/g", "http://example.com/g"),
        ("//g", "http://g"),
        ("?y", "http://example.com/b/c/d;p?y"),
        ("g?y", "http://example.com/b/c/g?y"),
        ("#s", "http://example.com/b/c/d;p?q#s"),
        ("g#s", "http://example.com/b/c/g#s"),
        ("g?y#s", "http://example.com/b/c/g?y#s"),
        (";x", "http://example.com/b/c/;x"),
        ("g;x", "http://example.com/b/c/g;x"),
        ("g;x?y#s", "http://example.com/b/c/g;x?y#s"),
        ("", "http://example.com/b/c/d;p?q"),
        (".", "http://example.com/b/c/"),
        ("./", "http://example.com/b/c/"),
        ("..", "http://example.com/b/"),
        ("../", "http://example.com/b/"),
        ("../g", "http://example.com/b/g"),
        ("../..", "http://example.com/"),
        ("../../", "http://example.com/"),
        ("../../g", "http://example.com/g"),
        # Section 5.4.2, abnormal examples.
        ("../../../g", "http://example.com/g"),
        ("../../../../g", "http://example.com/g"),
        ("/./g", "http://example.com/g"),
        ("/../g", "http://example.com/g"),
        ("g.", "http://example.com/b/c/g."),
        (".g", "http://example.com/b/c/.g"),
        ("g..", "http://example.com/b/c/g.."),
        ("..g", "http://example.com/b/c/..g"),
        ("./../g", "http://example.com/b/g"),
        ("./g/.", "http://example.com/b/c/g/"),
        ("g/./h", "http://example.com/b/c/g/h"),
        ("g/../h", "http://example.com/b/c/h"),
        ("g;x=1/./y", "http://example.com/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://example.com/b/c/y"),
        ("g?y/./x", "http://example.com/b/c/g?y/./x"),
        ("g?y/../x", "http://example.com/b/c/g?y/../x"),
        ("g#s/./x", "http://example.com/b/c/g#s/./x"),
        ("g#s/../x", "http://example.com/b/c/g#s/../x"),
        ("http:g", "http://example.com/b/c/g"),
        # Other schemes and authorities replace the base's.
        ("https://other.org/x/../y", "https://other.org/y"),
        ("//other.org:8080/z", "http://other.org:8080/z"),
        # RFC 3986 keeps an empty query or fragment (httpx's urljoin drops them).
        ("g?", "http://example.com/b/c/g?"),
        ("g#", "http://example.com/b/c/g#"),
        (".;p", "http://example.com/b/c/.;p"),
    ],
)
def test_join_rfc3986(ref: str, expected: str) -> None:
    assert rapidhttp.URL(RFC3986_BASE).join(ref) == expected
    assert rapidhttp.URL(RFC3986_BASE).join(rapidhttp.URL(ref)) == expected


def test_join_edge_cases() -> None:
    assert rapidhttp.URL("https://example.com").join("g") == "https://example.com/g"
    assert rapidhttp.URL("https://example.com/?[]").join("/") == "https://example.com/"
    relative = rapidhttp.URL("/path/to/somewhere")
    assert relative.join("../../somewhere-else") == "/somewhere-else"
    assert relative.join("somewhere-else") == "/path/to/somewhere-else"
    assert rapidhttp.URL("").join("../a/./b") == "../a/./b"
    assert rapidhttp.URL("https://a.com/x#frag").join("") == "https://a.com/x#frag"
    joined = rapidhttp.URL("https://u:p@a.com:8443/x/y").join("z?q=1")
    assert (joined.username, joined.port, joined.raw_path) == ("u", 8443, b"/x/z?q=1")
    with pytest.raises(rapidhttp.InvalidURL):
        rapidhttp.URL("https://a.com/").join("https://a.com:xyz/")


# --------------------------------------------------------------------------- operators


def test_eq_and_hash() -> None:
    url = rapidhttp.URL("https://example.org:123/path/to/somewhere?abc=123#anchor")
    assert url == "https://example.org:123/path/to/somewhere?abc=123#anchor"
    assert str(url) == url
    assert url == rapidhttp.URL("HTTPS://EXAMPLE.org:123/path/to/somewhere?abc=123#anchor")
    assert rapidhttp.URL("http://example.com") == rapidhttp.URL("http://example.com:80")
    assert url != "https://example.org/"
    assert url != 123
    assert url != b"https://example.org:123/path/to/somewhere?abc=123#anchor"
    assert len({url, rapidhttp.URL(str(url)), rapidhttp.URL("https://b.org/")}) == 2
    assert hash(url) == hash(str(url))


def test_repr_masks_password() -> None:
    assert repr(rapidhttp.URL("https://www.example.com/")) == "URL('https://www.example.com/')"
    url = rapidhttp.URL("https://user:secret@example.com:444/p?q#f")
    assert repr(url) == "URL('https://user:[secure]@example.com:444/p?q#f')"
    assert "secret" in str(url)
    assert repr(rapidhttp.URL("https://user@example.com")) == "URL('https://user@example.com')"


def test_raw_is_deprecated() -> None:
    with pytest.warns(UserWarning, match="URL.raw is deprecated."):
        raw = rapidhttp.URL("https://example.com:8443/a?b").raw
    assert raw == (b"https", b"example.com", 8443, b"/a?b")


def test_pickle_round_trip() -> None:
    url = rapidhttp.URL("https://u:p@example.com:8443/a?b=c#d")
    str(url)  # populate the lazily computed values too
    clone = pickle.loads(pickle.dumps(url))
    assert clone == url
    assert clone.raw_path == b"/a?b=c"


def test_urls_are_immutable() -> None:
    url = rapidhttp.URL("https://example.com/")
    with pytest.raises(AttributeError):
        url.host = "evil.com"  # type: ignore[misc]


# --------------------------------------------------------------------------- cache


def test_parse_cache_is_shared_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_urls, "_PARSE_CACHE", {})
    monkeypatch.setattr(_urls, "_PARSE_CACHE_SIZE", 4)
    first = rapidhttp.URL("https://example.com/a")
    second = rapidhttp.URL("https://example.com/a")
    assert first._uri_reference is second._uri_reference
    for i in range(10):
        rapidhttp.URL(f"https://example.com/{i}")
    assert len(_urls._PARSE_CACHE) == 4
    assert "https://example.com/9" in _urls._PARSE_CACHE
    # Long URLs are parsed but never cached.
    long_url = "https://example.com/" + "x" * 5000
    assert rapidhttp.URL(long_url).path == "/" + "x" * 5000
    assert long_url not in _urls._PARSE_CACHE


def test_invalid_urls_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_urls, "_PARSE_CACHE", {})
    for _ in range(2):
        with pytest.raises(rapidhttp.InvalidURL):
            rapidhttp.URL("https://example.com:bad/")
    assert _urls._PARSE_CACHE == {}


# --------------------------------------------------------------------------- urlparse


def test_urlparse_shape() -> None:
    result = urlparse("https://u@[::1]:8443/p?q#f")
    assert isinstance(result, ParseResult)
    assert tuple(result) == ("https", "u", "::1", 8443, "/p", "q", "f")
    assert result.authority == "u@[::1]:8443"
    assert result.netloc == "[::1]:8443"
    assert str(result) == "https://u@[::1]:8443/p?q#f"
    assert result.copy_with() is result
    assert str(result.copy_with(path="/x", fragment=None)) == "https://u@[::1]:8443/x?q"
    assert str(urlparse("", scheme="http", authority="a.com:81", path="/")) == "http://a.com:81/"


def test_urlparse_rejects_unknown_component() -> None:
    with pytest.raises(TypeError, match="'nope' is an invalid keyword argument for urlparse()"):
        urlparse("", nope="x")
