"""
RFC 3986 URL parsing and normalisation with httpx 0.28's rules.

`urlparse(url, **components)` splits a URL string (and/or individual components) into a
`ParseResult` whose fields are already in canonical form: lowercase scheme, percent-encoded
userinfo/path/query/fragment (the WHATWG per-component sets httpx 0.28 adopted, #3371/#3373),
IDNA-encoded lowercase host (IPv6 without brackets), and the port as an int or None when it is the
scheme's default. Every `URL` property is derived from these seven strings.

Why not `urllib.parse`: it validates nothing, cannot tell "no query" from an empty query
(`/path` vs `/path?`), and does no host or port normalisation.

Speed matters because every request parses a URL: the common case (an ASCII URL that needs no
escaping) costs one regex match plus one C-level scan per component, hosts are IDNA-encoded once
and cached, and `rapidhttp._urls` caches whole parse results per URL string.

Deliberate differences from httpx 0.28.1, all on input httpx mis-handles:
- the default port is compared with the *lowercased* scheme (httpx keeps `HTTP://a:80`'s port);
- a port must be ASCII digits (httpx lets `int()` accept "+80", " 80", "-1", "8_0"); the
  range is not checked here (httpx's suite expects port 123456 to fail at connect time);
- `netloc="[::1]:8080"` splits at the bracket, not at the first ":";
- a lone surrogate raises InvalidURL instead of UnicodeEncodeError;
- `copy_with` keeps the host it does not replace as it is (httpx re-encodes it, which lowercases
  the escapes of a host like "a%3Eb");
- `resolve` (URL.join) follows RFC 3986 where `urllib.parse.urljoin` does not (see there).
"""

from __future__ import annotations

import ipaddress
import re
import typing

import idna

from ._exceptions import InvalidURL

__all__ = ["ParseResult", "urlparse", "quote", "resolve", "remove_dot_segments"]

MAX_URL_LENGTH = 65536

# https://datatracker.ietf.org/doc/html/rfc3986.html#section-2.3
UNRESERVED_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
SUB_DELIMS = "!$&'()*+,;="


def _printable_ascii_except(excluded: str) -> str:
    return "".join(chr(i) for i in range(0x20, 0x7F) if chr(i) not in excluded)


# The WHATWG percent-encode sets (https://url.spec.whatwg.org/#percent-encoded-bytes), written
# as what stays *unescaped*. Each set is the previous one minus a few more characters. '%' is
# in all of them, so an existing escape is never double-encoded (and neither is a lone '%').
FRAG_SAFE = _printable_ascii_except(' "<>`')
QUERY_SAFE = _printable_ascii_except(' "#<>')
PATH_SAFE = _printable_ascii_except(' "#<>' + "?`{}")
USERNAME_SAFE = _printable_ascii_except(' "#<>' + "?`{}" + "/:;=@[\\]^|")
PASSWORD_SAFE = USERNAME_SAFE
# httpx quotes the joint "user:password" component with the userinfo set minus ':'.
USERINFO_SAFE = USERNAME_SAFE + ":"
# A registered name keeps the sub-delims plus the characters browsers leave alone in hosts.
HOST_SAFE = UNRESERVED_CHARACTERS + SUB_DELIMS + '"`{}%|\\'

# One hex escape per byte value, so escaping is a table lookup.
_ESCAPES = [f"%{byte:02X}" for byte in range(256)]

_QUOTE_SCANNERS: dict[str, re.Pattern[str]] = {}


def _scanner(safe: str) -> re.Pattern[str]:
    # A regex finding runs of characters that need escaping: `search` is a C-level scan, so the
    # common already-clean string costs next to nothing.
    scanner = _QUOTE_SCANNERS.get(safe)
    if scanner is None:
        allowed = "".join(sorted(set(UNRESERVED_CHARACTERS + safe)))
        scanner = re.compile(f"[^{re.escape(allowed)}]+")
        _QUOTE_SCANNERS[safe] = scanner
    return scanner


def _escape_run(match: re.Match[str]) -> str:
    try:
        data = match.group().encode("utf-8")
    except UnicodeEncodeError:
        char = next(c for c in match.group() if 0xD800 <= ord(c) <= 0xDFFF)
        raise InvalidURL(f"Invalid surrogate character in URL, {char!r}.") from None
    return "".join([_ESCAPES[byte] for byte in data])


def quote(string: str, safe: str) -> str:
    """Percent-encode (as UTF-8) every character of `string` outside unreserved + `safe`.

    Existing `%xx` escapes are kept as they are, since every safe set used here contains '%'.
    """
    scanner = _scanner(safe)
    if scanner.search(string) is None:
        return string
    return scanner.sub(_escape_run, string)


# Precompiled scanners for the per-component sets.
_FRAG_SCAN = _scanner(FRAG_SAFE)
_QUERY_SCAN = _scanner(QUERY_SAFE)
_PATH_SCAN = _scanner(PATH_SAFE)
_USERINFO_SCAN = _scanner(USERINFO_SAFE)
_HOST_SCAN = _scanner(HOST_SAFE)


def _quoted(scanner: re.Pattern[str], string: str) -> str:
    if scanner.search(string) is None:
        return string
    return scanner.sub(_escape_run, string)


# scheme ":" (optional), "//" authority (optional), path, "?" query, "#" fragment.
# The authority is split into userinfo (up to its last '@'), host (a bracketed IP literal or a
# name without ':'), and whatever follows the host as the port.
_URL_RE = re.compile(
    r"(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*|):)?"
    r"(?://(?:(?P<userinfo>[^/?#]*)@)?(?P<host>\[[^/?#]*\]|[^/?#:@]*):?(?P<port>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?",
    re.DOTALL,
)
_AUTHORITY_RE = re.compile(r"(?:(.*)@)?(\[.*\]|[^:@]*):?(.*)", re.DOTALL)

_NO_CTL = "[^\x00-\x1f\x7f]*"

# What a component passed on its own may look like (it must not smuggle in a delimiter that
# would change the meaning of the URL it is put into).
_COMPONENT_RE = {
    "scheme": re.compile("([a-zA-Z][a-zA-Z0-9+.-]*)?"),
    "authority": re.compile("[^/?#]*"),
    "path": re.compile("[^?#]*"),
    "query": re.compile("[^#]*"),
    "fragment": re.compile(".*", re.DOTALL),
    "userinfo": re.compile("[^@]*"),
    "host": re.compile("(\\[.*\\]|[^:]*)", re.DOTALL),
    "port": re.compile(".*", re.DOTALL),
}

_NON_PRINTABLE_RE = re.compile("[\x00-\x1f\x7f]")
# The same rules with control characters excluded too: one fullmatch accepts a valid
# component, and only a failing one is diagnosed with the two separate checks.
_VALID_COMPONENT_RE = {
    key: re.compile(pattern.pattern.replace("[^", "[^\x00-\x1f\x7f").replace(".*", _NO_CTL))
    for key, pattern in _COMPONENT_RE.items()
}
_IPV4_STYLE_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_PORT_RE = re.compile("[0-9]{1,20}")  # more digits is no port (and int() may refuse them)

# https://url.spec.whatwg.org/#special-scheme
DEFAULT_PORTS = {"ftp": 21, "http": 80, "https": 443, "ws": 80, "wss": 443}


class ParseResult(typing.NamedTuple):
    """The seven canonical components of a URL (the shape of `httpx._urlparse.ParseResult`)."""

    scheme: str
    userinfo: str
    host: str
    port: int | None
    path: str
    query: str | None
    fragment: str | None

    @property
    def authority(self) -> str:
        netloc = self.netloc
        return f"{self.userinfo}@{netloc}" if self.userinfo else netloc

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def copy_with(self, **kwargs: str | None) -> ParseResult:
        """This URL with some components replaced (same keywords as `urlparse`).

        Only the given components are validated: ours are canonical already, and
        re-normalising a canonical component is a no-op.
        """
        if not kwargs:
            return self
        components = _component_kwargs(kwargs)
        userinfo: str | None
        port: str | int | None
        host: str | None
        if "authority" in components:
            userinfo, host, port = _split_authority(components["authority"] or "")
        else:
            userinfo, host, port = self.userinfo, None, self.port
        host = components.get("host", host)
        return _normalize(
            components.get("scheme", self.scheme) or "",
            components.get("userinfo", userinfo) or "",
            # Our own host is kept as it is (re-encoding would lowercase its escapes).
            self.host if host is None else encode_host(host),
            components.get("port", port),
            components.get("path", self.path) or "",
            components.get("query", self.query),
            components.get("fragment", self.fragment),
        )

    def __str__(self) -> str:
        authority = self.authority
        parts = [f"{self.scheme}:" if self.scheme else ""]
        if authority:
            parts.append(f"//{authority}")
        parts.append(self.path)
        if self.query is not None:
            parts.append(f"?{self.query}")
        if self.fragment is not None:
            parts.append(f"#{self.fragment}")
        return "".join(parts)


_new_result = tuple.__new__


def _check_printable(value: str, component: str | None) -> None:
    # Control characters (\t \r \n included) are rejected rather than stripped: a URL carrying
    # them is more likely an injection attempt than a typo.
    match = _NON_PRINTABLE_RE.search(value)
    if match is not None:
        char, position = match.group(), match.start()
        where = "URL" if component is None else f"URL {component} component"
        raise InvalidURL(
            f"Invalid non-printable ASCII character in {where}, {char!r} at position {position}."
        )


def urlparse(url: str = "", **kwargs: str | None) -> ParseResult:
    """Parse `url`, with any of its components replaced by keyword arguments.

    Accepted keywords: scheme, authority, userinfo, username, password, host, port (str or
    int), netloc, path, raw_path, query, fragment. Raises `InvalidURL` naming the offending part.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    _check_printable(url, None)

    match = _URL_RE.match(url)
    assert match is not None  # every group is optional: the pattern matches any string
    scheme, userinfo, host, port, path, query, fragment = match.groups()

    if kwargs:
        components = _component_kwargs(kwargs)
        scheme = components.get("scheme", scheme)
        if "authority" in components:
            userinfo, host, port = _split_authority(components["authority"] or "")
        userinfo = components.get("userinfo", userinfo)
        host = components.get("host", host)
        port = components.get("port", port)
        path = components.get("path", path)
        query = components.get("query", query)
        fragment = components.get("fragment", fragment)

    return _normalize(
        scheme or "", userinfo or "", encode_host(host or ""), port, path or "", query, fragment
    )


def _split_authority(authority: str) -> tuple[str | None, str, str]:
    match = _AUTHORITY_RE.match(authority)
    assert match is not None  # the pattern matches any string
    userinfo, host, port = match.groups()
    return userinfo, host, port


def _component_kwargs(kwargs: dict[str, typing.Any]) -> dict[str, str | None]:
    """Turn the convenience keywords into the base components, then validate each one."""
    components = dict(kwargs)
    if "port" in components and isinstance(components["port"], int):
        components["port"] = str(components["port"])

    if "netloc" in components:
        netloc = components.pop("netloc") or ""
        if netloc.startswith("[") and "]" in netloc:
            # An IP literal: the port separator is the ':' after the closing bracket.
            bracket = netloc.index("]") + 1
            host, port = netloc[:bracket], netloc[bracket:]
            components["host"] = host
            components["port"] = port[1:] if port.startswith(":") else port
        else:
            components["host"], _, components["port"] = netloc.partition(":")

    if "username" in components or "password" in components:
        username = quote(components.pop("username", "") or "", USERNAME_SAFE)
        password = quote(components.pop("password", "") or "", PASSWORD_SAFE)
        components["userinfo"] = f"{username}:{password}" if password else username

    if "raw_path" in components:
        raw_path = components.pop("raw_path") or ""
        path, separator, query = raw_path.partition("?")
        components["path"] = path
        components["query"] = query if separator else None

    host = components.get("host")
    if host and ":" in host and not (host.startswith("[") and host.endswith("]")):
        # An IPv6 address given bare, as `url.host` returns it.
        components["host"] = f"[{host}]"

    for key, value in components.items():
        if value is None:
            continue
        if len(value) > MAX_URL_LENGTH:
            raise InvalidURL(f"URL component '{key}' too long")
        valid = _VALID_COMPONENT_RE.get(key)
        if valid is None:
            raise TypeError(f"{key!r} is an invalid keyword argument for urlparse()")
        if valid.fullmatch(value) is None:
            _check_printable(value, key)
            raise InvalidURL(f"Invalid URL component '{key}'")
    return components


def _normalize(
    scheme: str,
    userinfo: str,
    encoded_host: str,
    port: str | int | None,
    path: str,
    query: str | None,
    fragment: str | None,
) -> ParseResult:
    scheme = scheme.lower()
    userinfo = _quoted(_USERINFO_SCAN, userinfo)
    host = encoded_host
    port_number = normalize_port(port, scheme)

    has_scheme = scheme != ""
    has_authority = userinfo != "" or host != "" or port_number is not None
    validate_path(path, has_scheme=has_scheme, has_authority=has_authority)
    if has_scheme or has_authority:
        path = normalize_path(path)

    # tuple.__new__ skips the NamedTuple constructor's Python-level argument handling.
    return _new_result(
        ParseResult,
        (
            scheme,
            userinfo,
            host,
            port_number,
            _quoted(_PATH_SCAN, path),
            None if query is None else _quoted(_QUERY_SCAN, query),
            None if fragment is None else _quoted(_FRAG_SCAN, fragment),
        ),
    )


# Hosts repeat far more than URLs do, and IDNA encoding costs tens of microseconds.
_HOST_CACHE: dict[str, str] = {}
_HOST_CACHE_SIZE = 1024


def encode_host(host: str) -> str:
    """Validate and normalise a host: IPv4 as is, IPv6 unbracketed, names lowercased and
    percent-encoded, internationalised names IDNA-encoded."""
    encoded = _HOST_CACHE.get(host)
    if encoded is None:
        encoded = _encode_host(host)
        if len(_HOST_CACHE) >= _HOST_CACHE_SIZE:
            _HOST_CACHE.clear()
        _HOST_CACHE[host] = encoded
    return encoded


def _encode_host(host: str) -> str:
    if not host:
        return ""

    if _IPV4_STYLE_RE.fullmatch(host):
        # Four dotted numbers are an IPv4 address or nothing (RFC 3986 section 3.2.2).
        try:
            ipaddress.IPv4Address(host)
        except ipaddress.AddressValueError:
            raise InvalidURL(f"Invalid IPv4 address: {host!r}") from None
        return host

    if host.startswith("[") and host.endswith("]"):
        # Square brackets are only allowed around an IP literal (RFC 3986 section 3.2.2).
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ipaddress.AddressValueError:
            raise InvalidURL(f"Invalid IPv6 address: {host!r}") from None
        return host[1:-1]

    if host.isascii():
        return _quoted(_HOST_SCAN, host.lower())

    try:
        return idna.encode(host.lower()).decode("ascii")
    except idna.IDNAError:
        raise InvalidURL(f"Invalid IDNA hostname: {host!r}") from None


def normalize_port(port: str | int | None, scheme: str) -> int | None:
    """The port as an int, or None when absent or the scheme's default (RFC 3986 3.2.3)."""
    if port is None or port == "":
        return None
    if isinstance(port, int):
        port_number = port
    elif _PORT_RE.fullmatch(port):
        port_number = int(port)
    else:
        raise InvalidURL(f"Invalid port: {port!r}")
    if port_number == DEFAULT_PORTS.get(scheme.lower()):
        return None
    return port_number


def validate_path(path: str, has_scheme: bool, has_authority: bool) -> None:
    """The path rules of RFC 3986 section 3.3 that depend on the other components."""
    if has_authority:
        if path and not path.startswith("/"):
            raise InvalidURL("For absolute URLs, path must be empty or begin with '/'")
    elif not has_scheme:
        # A relative reference must not look like a network-path reference or a scheme.
        if path.startswith("//"):
            raise InvalidURL("Relative URLs cannot have a path starting with '//'")
        if path.startswith(":"):
            raise InvalidURL("Relative URLs cannot have a path starting with ':'")


def normalize_path(path: str) -> str:
    """Drop "." and ".." segments from the path of a URL that has a scheme or authority.

    httpx's rule, kept for compatibility: a trailing ".." drops its segment *and* the slash
    ("/a/b/.." -> "/a"), unlike RFC 3986's `remove_dot_segments` (used by `resolve`).
    """
    if "." not in path:
        return path
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if output and output != [""]:
                output.pop()
        else:
            output.append(segment)
    return "/".join(output)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: resolve "." and ".." segments of a merged path."""
    if "." not in path:
        return path
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == "..":
            # Never pop the empty first segment of an absolute path: "/.." stays at the root.
            if output and output != [""]:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if segments[-1] in (".", ".."):
        # "a/b/.." names the directory "a/", so the trailing slash survives.
        output.append("")
    return "/".join(output)


def resolve(base: ParseResult, ref: ParseResult) -> ParseResult:
    """Resolve a parsed reference against a parsed base URL (RFC 3986 section 5.2.2).

    Like `urllib.parse.urljoin` (which httpx uses), an empty reference returns the base
    unchanged (fragment included) and an empty base returns the reference unchanged. Unlike
    urljoin, an empty "?" or "#" in the reference is kept, "//" inside a merged path is kept,
    and ";" has no special meaning, as RFC 3986 (and browsers) have it.
    """
    if ref == _EMPTY:
        return base
    if base == _EMPTY:
        return ref
    if ref.scheme and ref.scheme != base.scheme:
        return ref
    has_authority = ref.userinfo or ref.host or ref.port is not None
    if has_authority:
        return ref._replace(scheme=base.scheme, path=remove_dot_segments(ref.path))
    if not ref.path:
        path = base.path
        query = base.query if ref.query is None else ref.query
    else:
        if ref.path.startswith("/"):
            path = ref.path
        elif (base.host or base.userinfo or base.port is not None) and not base.path:
            path = "/" + ref.path
        else:
            path = base.path[: base.path.rfind("/") + 1] + ref.path
        path = remove_dot_segments(path)
        query = ref.query
    return ParseResult(base.scheme, base.userinfo, base.host, base.port, path, query, ref.fragment)


_EMPTY = ParseResult("", "", "", None, "", None, None)
