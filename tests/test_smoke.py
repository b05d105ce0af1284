import ssl

import rapidhttp


def test_all_names_are_exported() -> None:
    assert rapidhttp.__all__ == sorted(
        (n for n in vars(rapidhttp) if not n.startswith("_") or n in {"__description__", "__title__", "__version__"}),
        key=str.casefold,
    )


def test_fixtures_start(server, tls_server, client_ssl_context: ssl.SSLContext) -> None:
    import urllib.request

    assert urllib.request.urlopen(server.url + "json").read() == b'{"Hello": "world!"}'
    with urllib.request.urlopen(tls_server.url.replace("127.0.0.1", "localhost"), context=client_ssl_context) as r:
        assert r.read() == b"Hello, world!"
