"""Routing helpers for the client: mount patterns and proxies taken from the environment."""

from __future__ import annotations

import ipaddress
import re
import typing
from urllib.request import getproxies

if typing.TYPE_CHECKING:  # pragma: no cover
    from ._urls import URL

__all__ = ["URLPattern", "get_environment_proxies", "is_ipv4_hostname", "is_ipv6_hostname"]


def get_environment_proxies() -> dict[str, str | None]:
    """Return the proxy mounts described by the environment, as `{pattern: proxy url | None}`.

    `urllib.request.getproxies()` reads HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY (and the
    system settings on Windows and macOS). Only the http, https and all entries are used, so
    unrelated variables that happen to end in `_PROXY` never route our traffic.
    A `None` value means "no proxy" for the matching URLs (from NO_PROXY).
    """
    proxy_info = getproxies()
    mounts: dict[str, str | None] = {}

    for scheme in ("http", "https", "all"):
        value = proxy_info.get(scheme)
        if value:
            # A bare "host:port" is an HTTP proxy, as curl treats it.
            mounts[f"{scheme}://"] = value if "://" in value else f"http://{value}"

    # NO_PROXY follows curl's rules (https://curl.se/libcurl/c/CURLOPT_NOPROXY.html).
    for entry in proxy_info.get("no", "").split(","):
        hostname = entry.strip()
        if not hostname:
            continue
        if hostname == "*":
            # "*" anywhere in the list disables every proxy.
            return {}
        if "://" in hostname:
            mounts[hostname] = None
        elif is_ipv4_hostname(hostname) or hostname.lower() == "localhost":
            mounts[f"all://{hostname}"] = None
        elif is_ipv6_hostname(hostname):
            mounts[f"all://[{hostname}]"] = None
        else:
            # "example.com" covers example.com and its subdomains, ".example.com" only the
            # subdomains: both become a "*" prefix pattern (see URLPattern).
            mounts[f"all://*{hostname}"] = None

    return mounts


def is_ipv4_hostname(hostname: str) -> bool:
    """True for an IPv4 address, optionally followed by a "/prefix" (a NO_PROXY CIDR)."""
    try:
        ipaddress.IPv4Address(hostname.split("/")[0])
    except ValueError:
        return False
    return True


def is_ipv6_hostname(hostname: str) -> bool:
    """True for an IPv6 address, optionally followed by a "/prefix"."""
    try:
        ipaddress.IPv6Address(hostname.split("/")[0])
    except ValueError:
        return False
    return True


class URLPattern:
    """A mount key such as "all://", "https://", "http://*.example.com:8080", matched against URLs.

    * the scheme "all" matches every scheme;
    * a host "*.example.com" matches subdomains only, "*example.com" matches the domain and its
      subdomains, "example.com" only itself, and "*" (or no host) any host;
    * a port, when given, must be equal.

    Patterns sort from the most to the least specific (see `priority`), so the client can try
    them in order and take the first match.
    """

    def __init__(self, pattern: str) -> None:
        from ._urls import URL

        if pattern and ":" not in pattern:
            raise ValueError(
                "Proxy keys should use proper URL forms rather than plain scheme strings. "
                f'Instead of "{pattern}", use "{pattern}://"'
            )

        url = URL(pattern)
        self.pattern = pattern
        self.scheme = "" if url.scheme == "all" else url.scheme
        self.host = "" if url.host == "*" else url.host
        self.port = url.port
        self.host_regex: typing.Pattern[str] | None = None
        if self.host:
            if self.host.startswith("*."):
                regex = f"^.+\\.{re.escape(self.host[2:])}$"
            elif self.host.startswith("*"):
                regex = f"^(.+\\.)?{re.escape(self.host[1:])}$"
            else:
                regex = f"^{re.escape(self.host)}$"
            self.host_regex = re.compile(regex)

    def matches(self, other: URL) -> bool:
        if self.scheme and self.scheme != other.scheme:
            return False
        if self.host_regex is not None and not self.host_regex.match(other.host):
            return False
        return self.port is None or self.port == other.port

    @property
    def priority(self) -> tuple[int, int, int]:
        # A port beats no port, then longer hosts, then longer schemes: "most specific first".
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __lt__(self, other: URLPattern) -> bool:
        return self.priority < other.priority

    def __eq__(self, other: typing.Any) -> bool:
        return isinstance(other, URLPattern) and self.pattern == other.pattern

    def __repr__(self) -> str:
        return f"URLPattern({self.pattern!r})"
