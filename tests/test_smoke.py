"""The package's public surface, and the shared server fixtures themselves."""

import ssl
import urllib.request

import rapidhttp


def test_all_names_are_exported() -> None:
    # httpx's rule: `__all__` lists exactly the public names of the namespace, sorted.
    public = {"__description__", "__title__", "__version__"}
    names = (n for n in vars(rapidhttp) if not n.startswith("_") or n in public)
    assert rapidhttp.__all__ == sorted(names, key=str.casefold)
    assert len(rapidhttp.__all__) == 69


def test_public_classes_report_the_package_as_their_module() -> None:
    assert repr(rapidhttp.Client) == "<class 'rapidhttp.Client'>"
    assert rapidhttp.ConnectError.__module__ == "rapidhttp"


def test_fixtures_start(server, tls_server, client_ssl_context: ssl.SSLContext) -> None:
    assert urllib.request.urlopen(server.url + "json").read() == b'{"Hello": "world!"}'
    url = tls_server.url.replace("127.0.0.1", "localhost")
    with urllib.request.urlopen(url, context=client_ssl_context) as r:
        assert r.read() == b"Hello, world!"
