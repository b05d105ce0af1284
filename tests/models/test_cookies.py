"""Cookies: the mapping over http.cookiejar, and its request/response adapters."""

from __future__ import annotations

import http.cookiejar

import pytest

import rapidhttp


def test_mapping_interface() -> None:
    cookies = rapidhttp.Cookies({"name": "value"})
    assert cookies["name"] == "value"
    assert "name" in cookies
    assert len(cookies) == 1
    assert dict(cookies) == {"name": "value"}
    assert bool(cookies) is True
    cookies["other"] = "2"
    assert sorted(cookies) == ["name", "other"]
    del cookies["name"]
    assert "name" not in cookies
    with pytest.raises(KeyError):
        cookies["name"]
    cookies.clear()
    assert bool(cookies) is False and len(cookies) == 0


def test_construction() -> None:
    assert dict(rapidhttp.Cookies([("a", "1"), ("b", "2")])) == {"a": "1", "b": "2"}
    original = rapidhttp.Cookies({"a": "1"})
    copy = rapidhttp.Cookies(original)
    copy["b"] = "2"
    assert "b" not in original
    jar = http.cookiejar.CookieJar()
    shared = rapidhttp.Cookies(jar)
    shared["c"] = "3"
    assert shared.jar is jar and len(jar) == 1


def test_domains_paths_and_conflicts() -> None:
    cookies = rapidhttp.Cookies()
    cookies.set("name", "a", domain="example.com")
    cookies.set("name", "b", domain="example.org")
    with pytest.raises(rapidhttp.CookieConflict) as exc_info:
        cookies["name"]
    assert str(exc_info.value) == "Multiple cookies exist with name=name"
    assert cookies.get("name", domain="example.org") == "b"
    assert cookies.get("missing", "default") == "default"
    cookies.clear(domain="example.com")
    assert cookies["name"] == "b"

    cookies = rapidhttp.Cookies()
    cookies.set("name", "1", domain="example.com", path="/one")
    cookies.set("name", "2", domain="example.com", path="/two")
    cookies.set("keep", "3", domain="example.com", path="/two")
    assert cookies.get("name", path="/two") == "2"
    cookies.clear(domain="example.com", path="/one")
    assert len(cookies) == 2
    cookies.delete("name", domain="example.com", path="/two")
    assert dict(cookies) == {"keep": "3"}
    cookies.delete("keep")
    assert len(cookies) == 0


def test_update() -> None:
    cookies = rapidhttp.Cookies({"a": "1"})
    more = rapidhttp.Cookies()
    more.set("b", "2", domain="example.com")
    cookies.update(more)
    cookies.update({"c": "3"})
    assert dict(cookies) == {"a": "1", "b": "2", "c": "3"}
    assert cookies.get("b", domain="example.com") == "2"


def test_repr() -> None:
    cookies = rapidhttp.Cookies()
    cookies.set("foo", "bar", domain="example.com")
    assert repr(cookies) == "<Cookies[<Cookie foo=bar for example.com />]>"
    assert repr(rapidhttp.Cookies()) == "<Cookies[]>"


def test_extract_from_response_and_send_back() -> None:
    request = rapidhttp.Request("GET", "https://www.example.org/account/login")
    response = rapidhttp.Response(
        200,
        headers=[
            ("Set-Cookie", "session=abc; Path=/; Secure; HttpOnly"),
            ("Set-Cookie", "pref=dark; Domain=.example.org; Path=/account"),
            ("Set-Cookie", "old=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        ],
        request=request,
    )
    cookies = rapidhttp.Cookies()
    cookies.extract_cookies(response)
    assert dict(cookies) == {"session": "abc", "pref": "dark"}

    # Sent back where the jar's rules allow.
    same_path = rapidhttp.Request("GET", "https://www.example.org/account/settings")
    cookies.set_cookie_header(same_path)
    assert same_path.headers["Cookie"] == "pref=dark; session=abc"
    other_path = rapidhttp.Request("GET", "https://shop.example.org/")
    cookies.set_cookie_header(other_path)
    assert "Cookie" not in other_path.headers
    plain_http = rapidhttp.Request("GET", "http://www.example.org/")
    cookies.set_cookie_header(plain_http)
    assert "Cookie" not in plain_http.headers  # "session" is Secure


def test_existing_cookie_header_is_kept() -> None:
    cookies = rapidhttp.Cookies({"a": "1"})
    request = rapidhttp.Request("GET", "http://example.org", headers={"Cookie": "mine=1"})
    cookies.set_cookie_header(request)
    assert request.headers.get_list("Cookie") == ["mine=1"]


def test_host_only_and_port() -> None:
    request = rapidhttp.Request("GET", "http://localhost:8080/")
    response = rapidhttp.Response(200, headers={"Set-Cookie": "a=1"}, request=request)
    cookies = rapidhttp.Cookies()
    cookies.extract_cookies(response)
    assert dict(cookies) == {"a": "1"}
    follow_up = rapidhttp.Request("GET", "http://localhost:8080/next")
    cookies.set_cookie_header(follow_up)
    assert follow_up.headers["Cookie"] == "a=1"


def test_multiple_set_cookie_into_user_jar() -> None:
    jar = http.cookiejar.CookieJar()
    request = rapidhttp.Request("GET", "https://www.example.org")
    response = rapidhttp.Response(
        200,
        request=request,
        headers=[
            (b"Set-Cookie", b"A=1; expires=Tue, 08-Sep-2099 18:33:35 GMT; domain=.example.org"),
            (b"Set-Cookie", b"B=2; path=/; domain=.example.org; HttpOnly"),
        ],
    )
    rapidhttp.Cookies(jar).extract_cookies(response)
    assert len(jar) == 2


def test_response_without_set_cookie_is_skipped() -> None:
    # No Set-Cookie: nothing to extract, and the (unset) request is never needed.
    cookies = rapidhttp.Cookies()
    cookies.extract_cookies(rapidhttp.Response(200))
    assert len(cookies) == 0
