"""Headers: the case-insensitive multi-dict, its encodings, and validation on entry."""

from __future__ import annotations

import pytest

import rapidhttp
from rapidhttp._models import Headers


def test_multi_dict_access() -> None:
    h = rapidhttp.Headers([("a", "123"), ("A", "456"), ("b", "789")])
    assert "a" in h and "A" in h and "b" in h and "c" not in h
    assert h["a"] == "123, 456"
    assert h.get("a") == "123, 456"
    assert h.get("nope") is None
    assert h.get("nope", "default") == "default"
    assert h.get_list("a") == ["123", "456"]
    assert list(h.keys()) == ["a", "b"]
    assert list(h.values()) == ["123, 456", "789"]
    assert list(h.items()) == [("a", "123, 456"), ("b", "789")]
    assert h.multi_items() == [("a", "123"), ("a", "456"), ("b", "789")]
    assert list(h) == ["a", "b"]
    assert len(h) == 3  # as httpx: the number of header lines
    assert h.raw == [(b"a", b"123"), (b"A", b"456"), (b"b", b"789")]
    with pytest.raises(KeyError):
        h["missing"]


def test_construction_from_every_input_type() -> None:
    expected = [(b"Content-Type", b"text/plain")]
    assert rapidhttp.Headers({"Content-Type": "text/plain"}).raw == expected
    assert rapidhttp.Headers({b"Content-Type": b"text/plain"}).raw == expected
    assert rapidhttp.Headers([("Content-Type", "text/plain")]).raw == expected
    assert rapidhttp.Headers([(b"Content-Type", b"text/plain")]).raw == expected
    original = rapidhttp.Headers(expected)
    copy = rapidhttp.Headers(original)
    assert copy.raw == expected and copy is not original
    copy["x"] = "1"
    assert "x" not in original
    assert rapidhttp.Headers().raw == []


def test_raw_is_a_copy() -> None:
    h = rapidhttp.Headers({"a": "1"})
    h.raw.append((b"b", b"2"))
    assert h.raw == [(b"a", b"1")]


def test_equality() -> None:
    h = rapidhttp.Headers([("a", "123"), ("a", "456"), ("b", "789")])
    assert h == [("a", "123"), ("b", "789"), ("a", "456")]
    assert h == {"a": "123", "A": "456", "b": "789"}
    assert h == rapidhttp.Headers([("B", "789"), ("a", "123"), ("a", "456")])
    assert h != [("a", "123")]
    # Things that are not headers at all compare unequal rather than raising.
    assert h != "a: 123\nA: 456\nb: 789"
    assert h != 5
    assert h != [("a", "bad\nvalue")]


def test_mutations() -> None:
    h = rapidhttp.Headers({"a": "a", "b": "b", "c": "c"})
    h["B"] = "123"  # replaces in place, keeping order, with the new spelling
    assert list(h.values()) == ["a", "123", "c"]
    assert h.raw[1] == (b"B", b"123")
    h["d"] = "new"
    assert list(h.keys()) == ["a", "b", "c", "d"]
    del h["A"]
    assert list(h.keys()) == ["b", "c", "d"]
    with pytest.raises(KeyError):
        del h["a"]
    assert h.setdefault("b", "x") == "123"
    assert h.setdefault("e", "5") == "5"
    assert h.pop("e") == "5"
    assert "e" not in h
    h.clear()
    assert h.raw == []


def test_setitem_and_delitem_remove_every_duplicate() -> None:
    h = rapidhttp.Headers([("a", "1"), ("x", "0"), ("A", "2"), ("a", "3")])
    h["a"] = "9"
    assert h.raw == [(b"a", b"9"), (b"x", b"0")]
    h = rapidhttp.Headers([("a", "1"), ("x", "0"), ("A", "2")])
    del h["a"]
    assert h.raw == [(b"x", b"0")]


def test_update() -> None:
    h = rapidhttp.Headers([("a", "1"), ("a", "2"), ("b", "3")])
    h.update({"A": "new", "c": "4"})
    assert h.multi_items() == [("b", "3"), ("a", "new"), ("c", "4")]
    h.update(rapidhttp.Headers([("c", "5"), ("c", "6")]))
    assert h.get_list("c") == ["5", "6"]
    h.update(h)
    assert h.multi_items() == [("b", "3"), ("a", "new"), ("c", "5"), ("c", "6")]
    h.update(None)
    assert len(h) == 4


def test_copy() -> None:
    h = rapidhttp.Headers({"custom": "example"})
    copy = h.copy()
    assert copy == h and copy is not h
    copy["other"] = "1"
    assert "other" not in h


def test_get_list_split_commas() -> None:
    h = rapidhttp.Headers([("vary", "a, b"), ("vary", "c")])
    assert h.get_list("Vary") == ["a, b", "c"]
    assert h.get_list("Vary", split_commas=True) == ["a", "b", "c"]
    assert h.get_list("missing", split_commas=True) == []


@pytest.mark.parametrize(
    "raw_value, encoding, text",
    [
        (b"Example", "ascii", "Example"),
        ("Code point: ☃".encode(), "utf-8", "Code point: ☃"),
        ("Code point: ÿ".encode("iso-8859-1"), "iso-8859-1", "Code point: ÿ"),
    ],
)
def test_encoding_detection(raw_value: bytes, encoding: str, text: str) -> None:
    h = rapidhttp.Headers([(b"Custom", raw_value)])
    assert h["custom"] == text
    assert dict(h) == {"custom": text}
    assert h.encoding == encoding


def test_explicit_encoding() -> None:
    h = rapidhttp.Headers([(b"Custom", "Code point: ☃".encode())])
    h.encoding = "iso-8859-1"
    assert h["custom"] == "Code point: â\x98\x83"
    assert rapidhttp.Headers({"x": "é"}, encoding="utf-8").raw == [(b"x", "é".encode())]


def test_non_ascii_str_needs_an_encoding() -> None:
    # As httpx: str values are encoded as ASCII unless an encoding is given...
    with pytest.raises(UnicodeEncodeError):
        rapidhttp.Headers({"x": "é"})
    # ...but assignment uses UTF-8.
    h = rapidhttp.Headers()
    h["x"] = "é"
    assert h.raw == [(b"x", "é".encode())]
    assert h["x"] == "é"


def test_reprs() -> None:
    assert repr(rapidhttp.Headers({"a": "1"})) == "Headers({'a': '1'})"
    assert repr(rapidhttp.Headers([("a", "1"), ("a", "2")])) == "Headers([('a', '1'), ('a', '2')])"
    h = rapidhttp.Headers({b"custom": "example ☃".encode()})
    assert repr(h) == "Headers({'custom': 'example ☃'}, encoding='utf-8')"


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization"])
def test_repr_hides_credentials(name: str) -> None:
    h = rapidhttp.Headers({name: "s3kr3t", "other": "visible"})
    assert repr(h) == f"Headers({{'{name.lower()}': '[secure]', 'other': 'visible'}})"
    assert h[name] == "s3kr3t"


@pytest.mark.parametrize("value", [1, 1.5, None, ["a"], object()])
def test_value_type_is_checked(value: object) -> None:
    with pytest.raises(TypeError) as exc_info:
        rapidhttp.Headers({"x": value})  # type: ignore[arg-type]
    assert str(exc_info.value) == f"Header value must be str or bytes, not {type(value)}"
    h = rapidhttp.Headers()
    with pytest.raises(TypeError, match="Header value must be str or bytes"):
        h["x"] = value  # type: ignore[assignment]


def test_name_type_is_checked() -> None:
    with pytest.raises(TypeError, match="Header name must be str or bytes, not <class 'int'>"):
        rapidhttp.Headers({1: "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["a\r\nX-Injected: 1", "a\nb", "a\rb", "nul\x00", "bell\x07", "del\x7f", b"a\r\nb"],
)
def test_illegal_values_are_rejected_on_entry(value: str | bytes) -> None:
    with pytest.raises(rapidhttp.LocalProtocolError, match="Illegal header value"):
        rapidhttp.Headers({"X-Test": value})  # type: ignore[arg-type]
    h = rapidhttp.Headers()
    with pytest.raises(rapidhttp.LocalProtocolError, match="Illegal header value"):
        h["X-Test"] = value  # type: ignore[assignment]
    with pytest.raises(rapidhttp.LocalProtocolError):
        h.update({"X-Test": value})  # type: ignore[arg-type]
    assert h.raw == []


def test_illegal_value_error_message() -> None:
    with pytest.raises(rapidhttp.LocalProtocolError) as exc_info:
        rapidhttp.Headers({"X": "a\nb"})
    assert str(exc_info.value) == "Illegal header value b'a\\nb'"


@pytest.mark.parametrize("name", ["", "has space", "colon:", "new\nline", "tab\t", "é"])
def test_illegal_names_are_rejected_on_entry(name: str) -> None:
    with pytest.raises((rapidhttp.LocalProtocolError, UnicodeEncodeError)):
        rapidhttp.Headers({name: "x"})


def test_allowed_values() -> None:
    # Tabs, spaces, empty values and obs-text bytes are all legal.
    h = rapidhttp.Headers([(b"a", b"x\ty z"), (b"b", b""), (b"c", b"\xff\x80")])
    assert h.raw == [(b"a", b"x\ty z"), (b"b", b""), (b"c", b"\xff\x80")]


def test_request_with_illegal_header_fails_before_sending() -> None:
    with pytest.raises(rapidhttp.LocalProtocolError):
        rapidhttp.Request("GET", "https://example.org", headers={"X": "1\r\nHost: evil"})


def test_from_raw_is_lazy_and_shares_the_list() -> None:
    raw = [(b"Content-Type", b"text/plain"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2")]
    h = Headers._from_raw(raw)
    assert h._lower is None  # nothing computed until a lookup needs it
    assert h["content-type"] == "text/plain"
    assert h.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert h.raw == raw
    copy = rapidhttp.Headers(h)
    copy["x"] = "1"
    assert "x" not in h


def test_lookups_with_odd_keys() -> None:
    h = rapidhttp.Headers({"a": "1"})
    assert b"A" in h
    assert None not in h
    assert ["unhashable"] not in h
    assert h.get("é") is None
    assert h.get(b"a") == "1"  # type: ignore[arg-type]
