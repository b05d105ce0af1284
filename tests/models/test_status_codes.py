"""codes: the IntEnum of status codes and reason phrases."""

from __future__ import annotations

import http

import pytest

import rapidhttp
from rapidhttp import codes


def test_members_are_ints() -> None:
    assert codes.NOT_FOUND == 404
    assert isinstance(codes.NOT_FOUND, int)
    assert str(codes.NOT_FOUND) == "404"
    assert f"{codes.OK}" == "200"
    assert repr(codes.OK) == "<codes.OK: 200>"
    assert codes.OK + 1 == 201


def test_lookup_by_value_and_name() -> None:
    assert codes(404) is codes.NOT_FOUND
    assert codes["NOT_FOUND"] is codes.NOT_FOUND
    with pytest.raises(ValueError):
        codes(999)
    with pytest.raises(KeyError):
        codes["NOPE"]


def test_lowercase_aliases_are_plain_ints() -> None:
    assert codes.not_found == 404  # type: ignore[attr-defined]
    assert codes.ok == 200  # type: ignore[attr-defined]
    assert type(codes.im_a_teapot) is int  # type: ignore[attr-defined]
    # The aliases are not enum members.
    assert len(list(codes)) == len(codes.__members__)


def test_reason_phrases() -> None:
    assert codes.get_reason_phrase(404) == "Not Found"
    assert codes.get_reason_phrase(418) == "I'm a teapot"
    assert codes.get_reason_phrase(499) == ""
    assert codes.get_reason_phrase(0) == ""
    assert codes.NOT_FOUND.phrase == "Not Found"  # type: ignore[attr-defined]
    assert codes(200).phrase == "OK"  # type: ignore[attr-defined]


def test_every_standard_code_is_present() -> None:
    assert {status.value for status in http.HTTPStatus} <= {member.value for member in codes}
    assert len(codes) == 62
    assert codes.REQUEST_ENTITY_TOO_LARGE == 413
    assert codes.EARLY_HINTS.phrase == "Early Hints"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "check,true_for",
    [
        (codes.is_informational, (100, 199)),
        (codes.is_success, (200, 299)),
        (codes.is_redirect, (300, 399)),
        (codes.is_client_error, (400, 499)),
        (codes.is_server_error, (500, 599)),
        (codes.is_error, (400, 599)),
    ],
)
def test_classifiers(check: object, true_for: tuple[int, int]) -> None:
    low, high = true_for
    assert callable(check)
    for value in (low, high, (low + high) // 2):
        assert check(value) is True
    for value in (low - 1, high + 1, 0, 600):
        assert check(value) is False


def test_exported_as_rapidhttp_codes() -> None:
    assert rapidhttp.codes is codes
    assert codes.__module__ == "rapidhttp"
