"""Fixtures for the client tests."""

from __future__ import annotations

import typing

import pytest
from client_apps import echo_app, redirect_app

import rapidhttp


@pytest.fixture
def echo_client() -> typing.Iterator[rapidhttp.Client]:
    with rapidhttp.Client(transport=rapidhttp.MockTransport(echo_app)) as client:
        yield client


@pytest.fixture
def redirect_client() -> typing.Iterator[rapidhttp.Client]:
    with rapidhttp.Client(
        transport=rapidhttp.MockTransport(redirect_app), base_url="https://example.org"
    ) as client:
        yield client
