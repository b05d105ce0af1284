"""QueryParams: construction from every accepted input, the multi-dict API, encoding,
immutability."""

from __future__ import annotations

import typing

import pytest

import rapidhttp
from rapidhttp._urls import primitive_value_to_str


@pytest.mark.parametrize(
    "source",
    [
        "a=123&a=456&b=789",
        b"a=123&a=456&b=789",
        {"a": ["123", "456"], "b": 789},
        {"a": ("123", "456"), "b": "789"},
        [("a", "123"), ("a", "456"), ("b", "789")],
        (("a", "123"), ("a", "456"), ("b", 789)),
        rapidhttp.QueryParams("a=123&a=456&b=789"),
    ],
)
def test_sources(source: typing.Any) -> None:
    q = rapidhttp.QueryParams(source)
    assert "a" in q and "A" not in q and "c" not in q
    assert q["a"] == "123"
    assert q.get("a") == "123"
    assert q.get("nope") is None
    assert q.get("nope", default="x") == "x"
    assert q.get_list("a") == ["123", "456"]
    assert q.get_list("nope") == []
    assert list(q.keys()) == ["a", "b"]
    assert list(q.values()) == ["123", "789"]
    assert list(q.items()) == [("a", "123"), ("b", "789")]
    assert q.multi_items() == [("a", "123"), ("a", "456"), ("b", "789")]
    assert len(q) == 2 and bool(q)
    assert list(q) == ["a", "b"]
    assert dict(q) == {"a": "123", "b": "789"}
    assert str(q) == "a=123&a=456&b=789"
    assert repr(q) == "QueryParams('a=123&a=456&b=789')"


def test_keyword_arguments() -> None:
    assert str(rapidhttp.QueryParams(a="1", b=[2, 3])) == "a=1&b=2&b=3"


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        ("", ""),
        (1.23, "1.23"),
        (123, "123"),
        ("x", "x"),
    ],
)
def test_primitive_value_to_str(value: typing.Any, expected: str) -> None:
    assert primitive_value_to_str(value) == expected
    assert rapidhttp.QueryParams({"a": value})["a"] == expected


def test_non_string_keys_are_coerced() -> None:
    q = rapidhttp.QueryParams({1: "x", None: "y"})  # type: ignore[dict-item]
    assert q.multi_items() == [("1", "x"), ("None", "y")]


def test_empty_values() -> None:
    assert str(rapidhttp.QueryParams()) == ""
    assert str(rapidhttp.QueryParams(None)) == ""
    assert str(rapidhttp.QueryParams("")) == ""
    assert not rapidhttp.QueryParams({})
    assert str(rapidhttp.QueryParams("a=")) == "a="
    assert str(rapidhttp.QueryParams("a")) == "a="
    assert str(rapidhttp.QueryParams("a=1&&b=2")) == "a=1&b=2"


def test_parsing_decodes() -> None:
    q = rapidhttp.QueryParams("q=a+b%20c&x=%E4%B8%AD&e=%zz&k%26=v%3D")
    assert q["q"] == "a b c"
    assert q["x"] == "中"
    assert q["e"] == "%zz"
    assert q["k&"] == "v="


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"a": "b c"}, "a=b+c"),
        ({"u": "%"}, "u=%25"),
        ({"u": "with%20spaces"}, "u=with%2520spaces"),
        ({"d": "e/f?g#h&i=j"}, "d=e%2Ff%3Fg%23h%26i%3Dj"),
        ({"safe": "Az09_.-~"}, "safe=Az09_.-~"),
        ({"k y": "中"}, "k+y=%E4%B8%AD"),
    ],
)
def test_str_is_form_encoded(params: dict[str, str], expected: str) -> None:
    q = rapidhttp.QueryParams(params)
    assert str(q) == expected
    # And it parses back to the same params.
    assert rapidhttp.QueryParams(str(q)) == q


def test_equality_ignores_order_but_not_values() -> None:
    assert rapidhttp.QueryParams({"a": "1", "b": "2"}) == rapidhttp.QueryParams("b=2&a=1")
    assert rapidhttp.QueryParams("a=1&a=2") == rapidhttp.QueryParams([("a", "1"), ("a", "2")])
    assert rapidhttp.QueryParams("a=1") != rapidhttp.QueryParams("a=2")
    assert rapidhttp.QueryParams("a=1") != "a=1"
    assert rapidhttp.QueryParams() == rapidhttp.QueryParams({})


def test_hashable() -> None:
    params = {
        rapidhttp.QueryParams("a=123"),
        rapidhttp.QueryParams({"a": 123}),
        rapidhttp.QueryParams("b=456"),
    }
    assert len(params) == 2


def test_set_add_remove_merge_return_copies() -> None:
    q = rapidhttp.QueryParams("a=123")
    assert q.set("a", "456") == rapidhttp.QueryParams("a=456")
    assert q.set("b", None) == rapidhttp.QueryParams("a=123&b=")
    assert q.add("a", "456") == rapidhttp.QueryParams("a=123&a=456")
    assert q.add("a", False).get_list("a") == ["123", "false"]
    assert q.remove("a") == rapidhttp.QueryParams("")
    assert q.remove("missing") == q
    merged = q.merge({"b": "456"}).merge({"a": "000", "c": "789"})
    assert str(merged) == "a=000&b=456&c=789"
    assert q.merge() == q
    assert q.merge("a=1&a=2").get_list("a") == ["1", "2"]
    assert str(q) == "a=123"


def test_copies_do_not_share_state() -> None:
    q = rapidhttp.QueryParams("a=1")
    copy = rapidhttp.QueryParams(q)
    added = copy.add("a", "2")
    assert q.get_list("a") == ["1"]
    assert copy.get_list("a") == ["1"]
    assert added.get_list("a") == ["1", "2"]
    values = q.get_list("a")
    values.append("x")
    assert q.get_list("a") == ["1"]


def test_immutable() -> None:
    q = rapidhttp.QueryParams("a=123")
    with pytest.raises(RuntimeError) as exc:
        q.update({"a": "456"})
    assert str(exc.value) == (
        "QueryParams are immutable since 0.18.0. Use `q = q.merge(...)` to create an updated copy."
    )
    with pytest.raises(RuntimeError) as exc:
        q["a"] = "456"
    assert str(exc.value) == (
        "QueryParams are immutable since 0.18.0. "
        "Use `q = q.set(key, value)` to create an updated copy."
    )
    assert q["a"] == "123"


def test_bad_arguments() -> None:
    with pytest.raises(AssertionError, match="Too many arguments."):
        rapidhttp.QueryParams("a=1", "b=2")  # type: ignore[call-arg]
    with pytest.raises(AssertionError, match="Cannot mix named and unnamed arguments."):
        rapidhttp.QueryParams("a=1", b="2")
    with pytest.raises(UnicodeDecodeError):
        rapidhttp.QueryParams("ä=1".encode())
    with pytest.raises(KeyError):
        rapidhttp.QueryParams("a=1")["b"]


def test_url_params_round_trip() -> None:
    url = rapidhttp.URL("https://example.com/?a=1&a=2&b=x%20y")
    assert url.params.get_list("a") == ["1", "2"]
    assert url.params["b"] == "x y"
    assert rapidhttp.URL("https://example.com/", params=url.params) == (
        "https://example.com/?a=1&a=2&b=x+y"
    )
