"""
`URL` and `QueryParams`, with the API and behaviour of httpx 0.28.1.

A `URL` wraps one immutable `ParseResult` (see `_urlparse`) and derives every property from it.
URLs are on every request's path (`client.get("/x")` parses "/x", merges it with `base_url`, and
the transport reads `raw_path`, `netloc`, ...), so:

- parse results are cached per URL string (a bounded dict; URL objects are immutable, so equal
  strings can share one result), together with the derived `str`, `raw_path` and `netloc`;
- those three are otherwise computed once per URL object and kept;
- `copy_with` only re-validates the components it is given.

One deliberate difference from httpx: `URL("http://xn--a.com").host` (not valid punycode)
returns the host as written instead of raising `idna.IDNAError` from a property.
"""

from __future__ import annotations

import typing
from urllib.parse import parse_qsl, quote_plus, unquote

import idna

from ._types import PrimitiveData, QueryParamTypes
from ._urlparse import ParseResult, resolve, urlparse

__all__ = ["URL", "QueryParams", "primitive_value_to_str"]


def primitive_value_to_str(value: PrimitiveData) -> str:
    """Coerce a primitive value for a query string or form: JSON-style "true"/"false" for
    booleans, "" for None, `str()` for the rest."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


# URL string -> (parse result, str(url), raw_path, netloc). Bounded, evicting the oldest entry;
# very long strings are not cached (they are rare and would pin memory).
_CacheEntry = tuple[ParseResult, str, bytes, bytes]
_PARSE_CACHE: dict[str, _CacheEntry] = {}
_PARSE_CACHE_SIZE = 1024
_PARSE_CACHE_MAX_URL = 2048


def _cache_entry(url: str) -> _CacheEntry:
    entry = _PARSE_CACHE.get(url)
    if entry is not None:
        return entry
    ref = urlparse(url)
    entry = (ref, str(ref), _raw_path(ref), ref.netloc.encode("ascii"))
    if len(url) <= _PARSE_CACHE_MAX_URL:
        if len(_PARSE_CACHE) >= _PARSE_CACHE_SIZE:
            try:
                del _PARSE_CACHE[next(iter(_PARSE_CACHE))]
            except (KeyError, RuntimeError, StopIteration):  # raced with another thread
                pass
        _PARSE_CACHE[url] = entry
    return entry


def _raw_path(ref: ParseResult) -> bytes:
    path = ref.path or "/"
    if ref.query is not None:
        path = f"{path}?{ref.query}"
    return path.encode("ascii")


# The keyword arguments `URL()` accepts, and the type each must have.
_URL_KWARG_TYPES: dict[str, type] = {
    "scheme": str,
    "username": str,
    "password": str,
    "userinfo": bytes,
    "host": str,
    "port": int,
    "netloc": bytes,
    "path": str,
    "query": bytes,
    "raw_path": bytes,
    "fragment": str,
    "params": object,
}


def _check_url_kwargs(kwargs: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """Type-check `URL()`'s keyword arguments; return them with bytes decoded and `params`
    turned into the raw `query`."""
    checked: dict[str, typing.Any] = {}
    for key, value in kwargs.items():
        expected = _URL_KWARG_TYPES.get(key)
        if expected is None:
            raise TypeError(f"{key!r} is an invalid keyword argument for URL()")
        if value is not None and not isinstance(value, expected):
            raise TypeError(
                f"Argument {key!r} must be {expected.__name__} but got {type(value).__name__}"
            )
        checked[key] = value.decode("ascii") if isinstance(value, bytes) else value
    if "params" in checked:
        # Empty params mean no query at all, not a trailing "?".
        params = checked.pop("params")
        if not params:
            checked["query"] = None
        else:
            params = params if isinstance(params, QueryParams) else QueryParams(params)
            checked["query"] = str(params)
    return checked


class URL:
    """
    A parsed, normalised, immutable URL.

        url = URL("HTTPS://jo%40email.com:a%20secret@müller.de:1234/pa%20th?search=ab#anchor")

        url.scheme == "https"                   url.raw_host == b"xn--mller-kva.de"
        url.userinfo == b"jo%40email.com:a%20secret"
        url.username == "jo@email.com"          url.password == "a secret"
        url.host == "müller.de"                 url.port == 1234
        url.netloc == b"xn--mller-kva.de:1234"  url.path == "/pa th"
        url.query == b"search=ab"               url.raw_path == b"/pa%20th?search=ab"
        url.fragment == "anchor"

    Scheme and host are lowercased, default ports ("http" 80, "https" 443, "ws" 80, "wss" 443,
    "ftp" 21) become None, `host` is unicode while `raw_host` and `netloc` are IDNA-encoded,
    and `userinfo`/`query`/`raw_path` are the raw percent-encoded bytes.
    """

    __slots__ = ("_uri_reference", "_str", "_raw_path", "_netloc", "__weakref__")

    _uri_reference: ParseResult
    _str: str | None
    _raw_path: bytes | None
    _netloc: bytes | None

    def __init__(self, url: URL | str = "", **kwargs: typing.Any) -> None:
        if kwargs:
            kwargs = _check_url_kwargs(kwargs)
            if isinstance(url, str):
                self._set(urlparse(url, **kwargs))
            elif isinstance(url, URL):
                self._set(url._uri_reference.copy_with(**kwargs))
            else:
                raise self._type_error(url)
        elif isinstance(url, str):
            self._uri_reference, self._str, self._raw_path, self._netloc = _cache_entry(url)
        elif isinstance(url, URL):
            self._uri_reference = url._uri_reference
            self._str, self._raw_path, self._netloc = url._str, url._raw_path, url._netloc
        else:
            raise self._type_error(url)

    def _set(self, ref: ParseResult) -> None:
        self._uri_reference = ref
        self._str = self._raw_path = self._netloc = None

    @staticmethod
    def _type_error(url: object) -> TypeError:
        return TypeError(
            f"Invalid type for url.  Expected str or rapidhttp.URL, got {type(url)}: {url!r}"
        )

    @classmethod
    def _from_reference(cls, ref: ParseResult) -> URL:
        url = cls.__new__(cls)
        url._set(ref)
        return url

    @property
    def scheme(self) -> str:
        """The URL scheme, such as "http", "https". Always lowercase."""
        return self._uri_reference.scheme

    @property
    def raw_scheme(self) -> bytes:
        """The URL scheme as bytes, such as b"http". Always lowercase."""
        return self._uri_reference.scheme.encode("ascii")

    @property
    def userinfo(self) -> bytes:
        """The userinfo as raw percent-encoded bytes, such as b"jo%40email.com:a%20secret"."""
        return self._uri_reference.userinfo.encode("ascii")

    @property
    def username(self) -> str:
        """The username, percent-decoded, such as "jo@email.com"."""
        return unquote(self._uri_reference.userinfo.partition(":")[0])

    @property
    def password(self) -> str:
        """The password, percent-decoded, such as "a secret"."""
        return unquote(self._uri_reference.userinfo.partition(":")[2])

    @property
    def host(self) -> str:
        """The host, lowercase, with an IDNA ("xn--") host decoded to unicode and an IPv6
        address without its brackets: "www.example.org", "中国.icom.museum", "::1"."""
        host = self._uri_reference.host
        if host.startswith("xn--"):
            return _idna_decode(host)
        return host

    @property
    def raw_host(self) -> bytes:
        """The host as bytes, lowercase and IDNA-encoded: b"xn--fiqs8s.icom.museum"."""
        return self._uri_reference.host.encode("ascii")

    @property
    def port(self) -> int | None:
        """The port as an int, or None when absent or the scheme's default."""
        return self._uri_reference.port

    @property
    def netloc(self) -> bytes:
        """`<host>` or `<host>:<port>` as bytes (IDNA-encoded, IPv6 in brackets): the value of
        a request's Host header."""
        netloc = self._netloc
        if netloc is None:
            netloc = self._netloc = self._uri_reference.netloc.encode("ascii")
        return netloc

    @property
    def path(self) -> str:
        """The path, percent-decoded, without the query: "/pa th". "/" when empty."""
        return unquote(self._uri_reference.path or "/")

    @property
    def query(self) -> bytes:
        """The query string as raw bytes, without the leading "?": b"a=1&b=two%20words"."""
        return (self._uri_reference.query or "").encode("ascii")

    @property
    def params(self) -> QueryParams:
        """The query parameters as an immutable multi-dict."""
        return QueryParams(self._uri_reference.query)

    @property
    def raw_path(self) -> bytes:
        """The path and query as raw bytes: the request target, such as b"/users?q=a%20b"."""
        raw_path = self._raw_path
        if raw_path is None:
            raw_path = self._raw_path = _raw_path(self._uri_reference)
        return raw_path

    @property
    def fragment(self) -> str:
        """The fragment, percent-decoded, without the leading "#"."""
        return unquote(self._uri_reference.fragment or "")

    @property
    def is_absolute_url(self) -> bool:
        """True when the URL has both a scheme and a host to connect to."""
        return bool(self._uri_reference.scheme and self._uri_reference.host)

    @property
    def is_relative_url(self) -> bool:
        """True unless the URL has both a scheme and a host."""
        return not (self._uri_reference.scheme and self._uri_reference.host)

    def copy_with(self, **kwargs: typing.Any) -> URL:
        """A copy with some components replaced; takes the same keywords as `URL()`.

        URL("https://www.example.com").copy_with(username="jo@gmail.com", password="a b")
        # URL('https://jo%40gmail.com:[secure]@www.example.com')
        """
        return URL(self, **kwargs)

    def copy_set_param(self, key: str, value: typing.Any = None) -> URL:
        return self.copy_with(params=self.params.set(key, value))

    def copy_add_param(self, key: str, value: typing.Any = None) -> URL:
        return self.copy_with(params=self.params.add(key, value))

    def copy_remove_param(self, key: str) -> URL:
        return self.copy_with(params=self.params.remove(key))

    def copy_merge_params(self, params: QueryParamTypes) -> URL:
        return self.copy_with(params=self.params.merge(params))

    def join(self, url: URL | str) -> URL:
        """Resolve `url` against this URL as the base (RFC 3986 section 5.2).

        URL("https://www.example.com/test").join("/new/path")
        # URL('https://www.example.com/new/path')
        """
        ref = URL(url)._uri_reference
        return URL._from_reference(resolve(self._uri_reference, ref))

    def __hash__(self) -> int:
        return hash(str(self))

    def __eq__(self, other: typing.Any) -> bool:
        if isinstance(other, URL):
            return str(self) == str(other)
        return isinstance(other, str) and str(self) == str(URL(other))

    def __str__(self) -> str:
        string = self._str
        if string is None:
            string = self._str = str(self._uri_reference)
        return string

    def __repr__(self) -> str:
        ref = self._uri_reference
        if ":" in ref.userinfo:
            # Never show a password in logs or tracebacks.
            ref = ref._replace(userinfo=ref.userinfo.split(":")[0] + ":[secure]")
        return f"{self.__class__.__name__}({str(ref)!r})"

    @property
    def raw(self) -> tuple[bytes, bytes, int | None, bytes]:
        """Deprecated: (raw_scheme, raw_host, port, raw_path)."""
        import collections
        import warnings

        warnings.warn("URL.raw is deprecated.", stacklevel=2)
        RawURL = collections.namedtuple("RawURL", ["raw_scheme", "raw_host", "port", "raw_path"])
        return RawURL(
            raw_scheme=self.raw_scheme,
            raw_host=self.raw_host,
            port=self.port,
            raw_path=self.raw_path,
        )


_IDNA_DECODED: dict[str, str] = {}


def _idna_decode(host: str) -> str:
    decoded = _IDNA_DECODED.get(host)
    if decoded is None:
        try:
            decoded = idna.decode(host)
        except idna.IDNAError:
            # Not valid punycode after all: show the host as it was written.
            decoded = host
        if len(_IDNA_DECODED) >= 1024:
            _IDNA_DECODED.clear()
        _IDNA_DECODED[host] = decoded
    return decoded


# Characters `quote_plus` never escapes: a string made only of these encodes to itself.
_FORM_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _form_quote(value: str) -> str:
    # application/x-www-form-urlencoded, as `urllib.parse.urlencode` does it ('+' for space,
    # everything else outside the safe set escaped, '/' included).
    if _FORM_SAFE.issuperset(value):
        return value
    return quote_plus(value, safe="")


class QueryParams(typing.Mapping[str, str]):
    """
    URL query parameters, as an immutable multi-dict.

        q = QueryParams("a=123&a=456&b=789")
        q["a"] == "123"; q.get_list("a") == ["123", "456"]; str(q) == "a=123&a=456&b=789"

    Built from a query string (str or bytes), a mapping (values may be lists or tuples), a
    list or tuple of (key, value) pairs, another QueryParams, or keyword arguments. Values go
    through `primitive_value_to_str`. `set`/`add`/`remove`/`merge` return new instances.
    """

    __slots__ = ("_dict",)

    _dict: dict[str, list[str]]

    def __init__(self, *args: QueryParamTypes | None, **kwargs: typing.Any) -> None:
        if len(args) >= 2:
            raise AssertionError("Too many arguments.")
        if args and kwargs:
            raise AssertionError("Cannot mix named and unnamed arguments.")

        value = args[0] if args else kwargs

        if isinstance(value, str):
            self._dict = _parse_query(value)
        elif type(value) is dict:  # the usual `params={...}`: skip the slower checks below
            self._dict = _from_mapping(value)
        elif value is None:
            self._dict = {}
        elif isinstance(value, bytes):
            self._dict = _parse_query(value.decode("ascii"))
        elif isinstance(value, QueryParams):
            self._dict = {k: list(v) for k, v in value._dict.items()}
        elif isinstance(value, (list, tuple)):
            items: dict[typing.Any, list[typing.Any]] = {}
            for item in value:
                items.setdefault(item[0], []).append(item[1])
            self._dict = _from_mapping(items)
        else:
            self._dict = _from_mapping(value)

    @classmethod
    def _from_dict(cls, values: dict[str, list[str]]) -> QueryParams:
        params = cls.__new__(cls)
        params._dict = values
        return params

    def keys(self) -> typing.KeysView[str]:
        """All keys: `list(QueryParams("a=1&a=2&b=3").keys()) == ["a", "b"]`."""
        return self._dict.keys()

    def values(self) -> typing.ValuesView[str]:
        """The first value of each key: `["1", "3"]` for "a=1&a=2&b=3"."""
        return {k: v[0] for k, v in self._dict.items()}.values()

    def items(self) -> typing.ItemsView[str, str]:
        """(key, first value) pairs: `[("a", "1"), ("b", "3")]` for "a=1&a=2&b=3"."""
        return {k: v[0] for k, v in self._dict.items()}.items()

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (key, value) pair, repeated keys included, in order."""
        return [(k, item) for k, v in self._dict.items() for item in v]

    def get(self, key: typing.Any, default: typing.Any = None) -> typing.Any:
        """The first value for `key`, or `default`."""
        if key in self._dict:
            return self._dict[str(key)][0]
        return default

    def get_list(self, key: str) -> list[str]:
        """All values for `key` (an empty list when absent)."""
        return list(self._dict.get(str(key), []))

    def set(self, key: str, value: typing.Any = None) -> QueryParams:
        """A copy with `key` set to the single `value`."""
        values = dict(self._dict)
        values[str(key)] = [primitive_value_to_str(value)]
        return QueryParams._from_dict(values)

    def add(self, key: str, value: typing.Any = None) -> QueryParams:
        """A copy with `value` appended to the values of `key`."""
        values = dict(self._dict)
        values[str(key)] = self.get_list(key) + [primitive_value_to_str(value)]
        return QueryParams._from_dict(values)

    def remove(self, key: str) -> QueryParams:
        """A copy without `key`."""
        values = dict(self._dict)
        values.pop(str(key), None)
        return QueryParams._from_dict(values)

    def merge(self, params: QueryParamTypes | None = None) -> QueryParams:
        """A copy updated with `params`: its keys replace ours, new keys are appended."""
        return QueryParams._from_dict({**self._dict, **QueryParams(params)._dict})

    def __getitem__(self, key: typing.Any) -> str:
        return self._dict[key][0]

    def __contains__(self, key: typing.Any) -> bool:
        return key in self._dict

    def __iter__(self) -> typing.Iterator[typing.Any]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __bool__(self) -> bool:
        return bool(self._dict)

    def __hash__(self) -> int:
        return hash(str(self))

    def __eq__(self, other: typing.Any) -> bool:
        if not isinstance(other, self.__class__):
            return False
        return sorted(self.multi_items()) == sorted(other.multi_items())

    def __str__(self) -> str:
        return "&".join(
            [f"{_form_quote(k)}={_form_quote(item)}" for k, v in self._dict.items() for item in v]
        )

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self)!r})"

    def update(self, params: QueryParamTypes | None = None) -> None:
        raise RuntimeError(
            "QueryParams are immutable since 0.18.0. "
            "Use `q = q.merge(...)` to create an updated copy."
        )

    def __setitem__(self, key: str, value: str) -> None:
        raise RuntimeError(
            "QueryParams are immutable since 0.18.0. "
            "Use `q = q.set(key, value)` to create an updated copy."
        )


def _from_mapping(mapping: typing.Mapping[typing.Any, typing.Any]) -> dict[str, list[str]]:
    """{key: value or list/tuple of values} -> {str key: [str values]}."""
    values: dict[str, list[str]] = {}
    for key, value in mapping.items():
        if isinstance(value, (list, tuple)):
            values[str(key)] = [
                item if type(item) is str else primitive_value_to_str(item) for item in value
            ]
        else:
            values[str(key)] = [value if type(value) is str else primitive_value_to_str(value)]
    return values


def _parse_query(query: str | None) -> dict[str, list[str]]:
    """Parse a query string like `urllib.parse.parse_qs(query, keep_blank_values=True)`."""
    values: dict[str, list[str]] = {}
    if query:
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in values:
                values[key].append(value)
            else:
                values[key] = [value]
    return values
