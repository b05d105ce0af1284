"""
The HTTP models: `Headers`, `Cookies`, `Request` and `Response`.

Everything here is lazy: a response's text, encoding, decoder, cookies and links are worked
out when first asked for, so a response nobody inspects costs next to nothing. Header names
and values are validated once, when they enter a `Headers`; headers parsed off the wire are
already valid and enter through the cheap `Headers._from_raw`.
"""

from __future__ import annotations

import codecs
import datetime
import json as jsonlib
import re
import time
import typing
from collections.abc import Mapping
from http.cookiejar import Cookie, CookieJar
from urllib.parse import unquote, urlsplit

from ._content import (
    _EMPTY_STREAM,
    ByteStream,
    SyncToAsyncIterator,
    UnattachedStream,
    encode_request,
    encode_response,
)
from ._decoders import (
    ByteChunker,
    ContentDecoder,
    IdentityDecoder,
    LineDecoder,
    TextChunker,
    TextDecoder,
    content_decoder,
)
from ._exceptions import (
    CookieConflict,
    HTTPStatusError,
    LocalProtocolError,
    RequestError,
    RequestNotRead,
    ResponseNotRead,
    StreamClosed,
    StreamConsumed,
)
from ._multipart import get_multipart_boundary_from_content_type
from ._status_codes import codes
from ._types import (
    AsyncByteStream,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    ResponseContent,
    ResponseExtensions,
    SyncByteStream,
)
from ._urls import URL

__all__ = ["Cookies", "Headers", "Request", "Response"]


# --------------------------------------------------------------------------- Headers

SENSITIVE_HEADERS = {"authorization", "proxy-authorization"}

# RFC 9110 field names are tokens. Field values may hold any octet but the controls (HTAB
# aside): a CR, LF or NUL would let a value end the header early and inject another one.
# h11 applies the same rules when it sends; we apply them on entry, once.
_is_token = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+").fullmatch
_find_control = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]").search


def _name_bytes(name: typing.Any, encoding: str) -> bytes:
    if isinstance(name, str):
        name = name.encode(encoding)
    elif not isinstance(name, bytes):
        raise TypeError(f"Header name must be str or bytes, not {type(name)}")
    # The message is h11's, which httpx raises for the same header (when sending it).
    if _is_token(name) is None:
        raise LocalProtocolError(f"Illegal header name {name!r}")
    return name


def _value_bytes(value: typing.Any, encoding: str) -> bytes:
    if isinstance(value, str):
        # Printable text has no control characters: skip the scan (ASCII-compatible
        # encodings only, where that carries over to the bytes).
        if value.isprintable() and encoding in _ASCII_COMPATIBLE:
            return value.encode(encoding)
        value = value.encode(encoding)
    elif not isinstance(value, bytes):
        raise TypeError(f"Header value must be str or bytes, not {type(value)}")
    if _find_control(value) is not None:
        raise LocalProtocolError(f"Illegal header value {value!r}")
    return value


_ASCII_COMPATIBLE = frozenset(("ascii", "utf-8"))

# Header names repeat across requests: remember the ones already validated (only for
# ASCII-compatible encodings, under which a valid name, being ASCII, encodes the same).
_VALID_NAMES: dict[str | bytes, bytes] = {}
_VALID_NAMES_MAX = 512


def _header_bytes(name: typing.Any, value: typing.Any, encoding: str) -> tuple[bytes, bytes]:
    """A validated (name, value) pair as bytes; str is encoded with `encoding`."""
    try:
        name_bytes = _VALID_NAMES[name]
    except (KeyError, TypeError):
        name_bytes = _name_bytes(name, encoding)
        if encoding in _ASCII_COMPATIBLE and len(_VALID_NAMES) < _VALID_NAMES_MAX:
            _VALID_NAMES[name] = name_bytes
    else:
        if encoding not in _ASCII_COMPATIBLE:
            name_bytes = _name_bytes(name, encoding)
    return name_bytes, _value_bytes(value, encoding)


# Lookup keys repeat ("content-type", "location", ...): keep their lowercased bytes.
_LOOKUP_KEYS: dict[str, bytes] = {}
_LOOKUP_KEYS_MAX = 512


def _obfuscate_sensitive_headers(
    items: typing.Iterable[tuple[str, str]],
) -> typing.Iterator[tuple[str, str]]:
    for key, value in items:
        yield key, "[secure]" if key.lower() in SENSITIVE_HEADERS else value


class Headers(typing.MutableMapping[str, str]):
    """HTTP headers, as a case-insensitive multi-dict.

    Keeps the raw bytes in their original case and order (`raw`); string access decodes
    with `encoding` (ascii, else utf-8, else iso-8859-1, unless set). Names and values are
    validated on entry: a name must be an RFC 9110 token and a value must not hold control
    characters (CR, LF, NUL, ...), else `LocalProtocolError` (the error httpx raises for
    such headers when sending). A name or value that is not str/bytes is a `TypeError`.
    """

    def __init__(self, headers: HeaderTypes | None = None, encoding: str | None = None) -> None:
        # `_raw` holds (name, value) in original case; `_lower` the lowercased names, in
        # step with `_raw`, or None until first needed.
        self._raw: list[tuple[bytes, bytes]]
        self._lower: list[bytes] | None
        if headers is None:
            self._raw = []
            self._lower = []
        elif isinstance(headers, Headers):
            self._raw = list(headers._raw)
            self._lower = None if headers._lower is None else list(headers._lower)
        else:
            # (`dict` first: a plain isinstance check is cheaper than the ABC one.)
            items = headers.items() if isinstance(headers, (dict, Mapping)) else headers
            str_encoding = encoding or "ascii"
            self._raw = [_header_bytes(k, v, str_encoding) for k, v in items]
            # Computed now, so that the copies the client makes of these inherit them.
            self._lower = [name.lower() for name, _ in self._raw]
        self._encoding = encoding

    @classmethod
    def _from_raw(cls, raw: list[tuple[bytes, bytes]]) -> Headers:
        """Headers from already-validated (name, value) byte pairs, e.g. a parsed response
        head. No validation and no copy: the list is taken over and must not be reused."""
        headers = cls.__new__(cls)
        headers._raw = raw
        headers._lower = None
        headers._encoding = None
        return headers

    def _lower_keys(self) -> list[bytes]:
        lower = self._lower
        if lower is None:
            lower = self._lower = [name.lower() for name, _ in self._raw]
        return lower

    def _lookup_key(self, key: str) -> bytes | None:
        """The lowercased bytes to look `key` up with, or None for a key that cannot name
        any header (not str/bytes, or not encodable)."""
        try:
            return _LOOKUP_KEYS[key]
        except KeyError:
            pass
        except TypeError:  # unhashable
            return None
        if isinstance(key, bytes):
            return key.lower()
        if not isinstance(key, str):
            return None
        try:
            lookup = key.lower().encode("ascii")
        except UnicodeEncodeError:
            try:
                return key.lower().encode(self.encoding)
            except UnicodeEncodeError:
                return None
        if len(_LOOKUP_KEYS) < _LOOKUP_KEYS_MAX:
            _LOOKUP_KEYS[key] = lookup
        return lookup

    def _str(self, value: bytes) -> str:
        # ASCII decodes the same under every encoding we detect, so the detection scan is
        # only needed when a non-ASCII value is actually read.
        if self._encoding is None and value.isascii():
            return value.decode("ascii")
        return value.decode(self.encoding)

    @property
    def encoding(self) -> str:
        """The encoding of the raw bytes: "ascii" if they all are, else "utf-8" if they all
        decode as such, else "iso-8859-1" (which decodes anything). May be set."""
        if self._encoding is None:
            for encoding in ("ascii", "utf-8"):
                try:
                    for name, value in self._raw:
                        name.decode(encoding)
                        value.decode(encoding)
                except UnicodeDecodeError:
                    continue
                self._encoding = encoding
                break
            else:
                self._encoding = "iso-8859-1"
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The headers as (name, value) byte pairs, in original case and order."""
        return list(self._raw)

    def keys(self) -> typing.KeysView[str]:
        return {self._str(key): None for key in self._lower_keys()}.keys()

    def values(self) -> typing.ValuesView[str]:
        return self._joined().values()

    def items(self) -> typing.ItemsView[str, str]:
        """(name, value) pairs, lowercased names, the values of repeated names joined
        with ", "."""
        return self._joined().items()

    def _joined(self) -> dict[str, str]:
        joined: dict[str, str] = {}
        for key, (_, value) in zip(self._lower_keys(), self._raw, strict=True):
            str_key = self._str(key)
            str_value = self._str(value)
            if str_key in joined:
                joined[str_key] += f", {str_value}"
            else:
                joined[str_key] = str_value
        return joined

    def multi_items(self) -> list[tuple[str, str]]:
        """(name, value) pairs, lowercased names, repeated names kept apart."""
        return [
            (self._str(key), self._str(value))
            for key, (_, value) in zip(self._lower_keys(), self._raw, strict=True)
        ]

    def _get(self, key: str) -> str | None:
        lookup = self._lookup_key(key)
        lower = self._lower_keys()
        count = 0 if lookup is None else lower.count(lookup)
        if count == 1:
            return self._str(self._raw[lower.index(lookup)][1])  # type: ignore[arg-type]
        if count == 0:
            return None
        # RFC 9110 section 5.3: repeated fields combine into one comma-separated value.
        return ", ".join(
            [
                self._str(value)
                for k, (_, value) in zip(lower, self._raw, strict=True)
                if k == lookup
            ]
        )

    def get(self, key: str, default: typing.Any = None) -> typing.Any:
        """The value of a header (repeated ones joined with ", "), or `default`."""
        value = self._get(key)
        return default if value is None else value

    def get_list(self, key: str, split_commas: bool = False) -> list[str]:
        """Every value of a header; with `split_commas=True`, comma-separated values are
        split into items too."""
        lookup = self._lookup_key(key)
        if lookup not in self._lower_keys():
            return []
        values = [
            self._str(value)
            for k, (_, value) in zip(self._lower_keys(), self._raw, strict=True)
            if k == lookup
        ]
        if not split_commas:
            return values
        return [item.strip() for value in values for item in value.split(",")]

    def update(self, headers: HeaderTypes | None = None) -> None:  # type: ignore[override]
        if headers is None:
            return
        other = headers if isinstance(headers, Headers) else Headers(headers)
        # Taken before `self` changes: `headers` may be `self`.
        other_raw = other._raw
        other_lower = other._lower_keys()
        replaced = set(other_lower)
        lower = self._lower_keys()
        if not replaced.isdisjoint(lower):
            keep = [i for i, key in enumerate(lower) if key not in replaced]
            self._raw = [self._raw[i] for i in keep]
            lower = self._lower = [lower[i] for i in keep]
        self._raw.extend(other_raw)
        lower.extend(other_lower)

    def copy(self) -> Headers:
        return Headers(self, encoding=self.encoding)

    def __getitem__(self, key: str) -> str:
        """The value of a header; repeated headers are joined with ", "."""
        value = self._get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        """Set a header, replacing every existing one of that name, in the position of
        the first."""
        encoding = self._encoding or "utf-8"
        item = _header_bytes(key, value, encoding)
        lookup = item[0].lower()
        lower = self._lower_keys()
        count = lower.count(lookup)
        if count == 0:
            self._raw.append(item)
            lower.append(lookup)
            return
        index = lower.index(lookup)
        self._raw[index] = item
        lower[index] = lookup
        if count > 1:
            keep = [i for i, k in enumerate(lower) if k != lookup or i == index]
            self._raw = [self._raw[i] for i in keep]
            self._lower = [lower[i] for i in keep]

    def __delitem__(self, key: str) -> None:
        """Remove every header of that name; KeyError if there is none."""
        lookup = self._lookup_key(key)
        lower = self._lower_keys()
        if lookup not in lower:
            raise KeyError(key)
        keep = [i for i, k in enumerate(lower) if k != lookup]
        self._raw = [self._raw[i] for i in keep]
        self._lower = [lower[i] for i in keep]

    def __contains__(self, key: typing.Any) -> bool:
        return self._lookup_key(key) in self._lower_keys()

    def __iter__(self) -> typing.Iterator[typing.Any]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._raw)

    def __eq__(self, other: typing.Any) -> bool:
        if not isinstance(other, Headers):
            try:
                other = Headers(other)
            except (TypeError, ValueError, LocalProtocolError):
                return False
        self_items = sorted(
            zip(self._lower_keys(), (value for _, value in self._raw), strict=True)
        )
        other_items = sorted(
            zip(other._lower_keys(), (value for _, value in other._raw), strict=True)
        )
        return self_items == other_items

    def __repr__(self) -> str:
        class_name = self.__class__.__name__
        encoding_str = ""
        if self.encoding != "ascii":
            encoding_str = f", encoding={self.encoding!r}"
        as_list = list(_obfuscate_sensitive_headers(self.multi_items()))
        as_dict = dict(as_list)
        if len(as_dict) == len(as_list):
            return f"{class_name}({as_dict!r}{encoding_str})"
        return f"{class_name}({as_list!r}{encoding_str})"

    def _add_defaults(self, defaults: dict[str, str]) -> None:
        """Add the headers an encoded body implies, unless already set. They are ours
        (ASCII, valid), so they skip validation."""
        lower = self._lower_keys()
        for key, value in defaults.items():
            lookup = key.lower().encode("ascii")
            if lookup in lower:
                continue
            # An explicit Content-Length wins over chunked framing.
            if lookup == b"transfer-encoding" and b"content-length" in lower:
                continue
            self._raw.append((key.encode("ascii"), value.encode("ascii")))
            lower.append(lookup)


# --------------------------------------------------------------------------- Request


class Request:
    _content: bytes  # Set once the body has been read.

    def __init__(
        self,
        method: str | bytes,
        url: URL | str,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: typing.Any | None = None,
        stream: SyncByteStream | AsyncByteStream | None = None,
        extensions: RequestExtensions | None = None,
    ) -> None:
        self._init(
            method, url, params, headers, cookies, content, data, files, json, stream, extensions
        )

    def _init(
        self,
        method: str | bytes,
        url: URL | str,
        params: QueryParamTypes | None,
        headers: HeaderTypes | None,
        cookies: CookieTypes | None,
        content: RequestContent | None,
        data: RequestData | None,
        files: RequestFiles | None,
        json: typing.Any | None,
        stream: SyncByteStream | AsyncByteStream | None,
        extensions: RequestExtensions | None,
    ) -> None:
        """`__init__`, with positional arguments: the client builds every request through
        `Request.__new__` and this, because CPython 3.11 packs the keyword arguments of a class
        call into a dict (about 0.3 us per request)."""
        self.method = (
            method.decode("ascii").upper() if isinstance(method, bytes) else method.upper()
        )
        if params is not None:
            self.url = URL(url, params=params)
        else:
            # A URL is immutable: share it rather than parse it again.
            self.url = url if isinstance(url, URL) else URL(url)
        if type(headers) is Headers:
            # `Headers(headers)` without the constructor's type dispatch (and, inline, without
            # a call): the client passes its merged headers so, for every request.
            copied = self.headers = Headers.__new__(Headers)
            copied._raw = headers._raw.copy()
            lower = headers._lower
            copied._lower = None if lower is None else lower.copy()
            copied._encoding = None
        else:
            self.headers = Headers(headers)
        self.extensions = {} if extensions is None else dict(extensions)

        if cookies:
            Cookies(cookies).set_cookie_header(self)

        if stream is not None:
            # `stream=` (used when copying requests, and on the server side of a
            # transport) means the caller owns the framing: no automatic headers at all.
            self.stream = stream
        elif content is None and data is None and files is None and json is None:
            # No body (most requests): what encode_request would say, without the call.
            self._prepare(None)
            self.stream = _EMPTY_STREAM
            self._content = b""
        else:
            boundary = None
            if files:
                content_type: str | None = self.headers.get("content-type")
                if content_type:
                    boundary = get_multipart_boundary_from_content_type(
                        content_type.encode(self.headers.encoding)
                    )
            default_headers, stream = encode_request(
                content=content, data=data, files=files, json=json, boundary=boundary
            )
            self._prepare(default_headers)
            self.stream = stream
            # Bodies held in memory are loaded now; streaming ones when read.
            if isinstance(stream, ByteStream):
                self._content = stream._stream

    def _prepare(self, default_headers: dict[str, str] | None) -> None:
        headers = self.headers
        if default_headers:
            headers._add_defaults(default_headers)
        # (The lowercased names are usually there already, copied from the client's.)
        lower = headers._lower or headers._lower_keys()
        # The automatic headers go first, Host then Content-Length: inserted at the front in
        # reverse order, straight into the lists (the headers are fresh and ours).
        if (
            self.method in ("POST", "PUT", "PATCH")
            and b"content-length" not in lower
            and b"transfer-encoding" not in lower
        ):
            # A body-carrying method without a body still states its (zero) length.
            headers._raw.insert(0, (b"Content-Length", b"0"))
            lower.insert(0, b"content-length")
        url = self.url
        if b"host" not in lower and url._uri_reference.host:
            # (`url._netloc`: the `netloc` property's cache, read without the property call.)
            headers._raw.insert(0, (b"Host", url._netloc or url.netloc))
            lower.insert(0, b"host")

    @property
    def content(self) -> bytes:
        try:
            return self._content
        except AttributeError:
            raise RequestNotRead() from None

    def read(self) -> bytes:
        """Read and return the request body (a streaming body is kept, so it can be sent
        again)."""
        try:
            return self._content
        except AttributeError:
            pass
        if not isinstance(self.stream, typing.Iterable):
            raise RuntimeError(
                "Attempted to read an async request body synchronously: "
                "use `await request.aread()`."
            )
        self._content = b"".join(self.stream)
        if not isinstance(self.stream, ByteStream):
            # Replace a one-shot stream with its bytes so it can be replayed.
            self.stream = ByteStream(self._content)
        return self._content

    async def aread(self) -> bytes:
        """Read and return the request body (the async twin of `read`)."""
        try:
            return self._content
        except AttributeError:
            pass
        if not isinstance(self.stream, typing.AsyncIterable):
            raise RuntimeError(
                "Attempted to read a sync request body asynchronously: use `request.read()`."
            )
        self._content = b"".join([part async for part in self.stream])
        if not isinstance(self.stream, ByteStream):
            self.stream = ByteStream(self._content)
        return self._content

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__}({self.method!r}, {str(self.url)!r})>"

    def __getstate__(self) -> dict[str, typing.Any]:
        return {
            name: value
            for name, value in self.__dict__.items()
            if name not in ("extensions", "stream")
        }

    def __setstate__(self, state: dict[str, typing.Any]) -> None:
        self.__dict__.update(state)
        self.extensions = {}
        self.stream = UnattachedStream()


# --------------------------------------------------------------------------- Response


def _is_known_encoding(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def _parse_content_type_charset(content_type: str) -> str | None:
    """The lowercased `charset` parameter of a Content-Type value, or None; parsed as
    `email.message.Message.get_content_charset` does it, at a fraction of the cost."""
    params = _split_quoted_params(content_type) if '"' in content_type else content_type.split(";")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip()
            if len(value) > 1:  # unquoted as email.utils.unquote does
                if value[0] == value[-1] == '"':
                    value = value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
                elif value[0] == "<" and value[-1] == ">":
                    value = value[1:-1]
            # A charset name is ASCII; anything else is no charset at all.
            return value.lower() if value.isascii() else None
    return None


def _split_quoted_params(value: str) -> list[str]:
    """Split at the ";" that are not inside a quoted string (as email.message does)."""
    params = []
    while True:
        end = value.find(";")
        while end > 0 and (value.count('"', 0, end) - value.count('\\"', 0, end)) % 2:
            end = value.find(";", end + 1)
        if end < 0:
            params.append(value)
            return params
        params.append(value[:end])
        value = value[end + 1 :]


def _parse_header_links(value: str) -> list[dict[str, str]]:
    """Parse a Link header (RFC 8288): `<url>; rel=next; type="text/html", <url2>` into
    [{"url": "url", "rel": "next", "type": "text/html"}, {"url": "url2"}]."""
    links: list[dict[str, str]] = []
    strip = " '\""
    value = value.strip(strip)
    if not value:
        return links
    for entry in re.split(", *<", value):
        url, _, params = entry.partition(";")
        link = {"url": url.strip("<> '\"")}
        for param in params.split(";"):
            key, sep, param_value = param.partition("=")
            if not sep or "=" in param_value:
                break
            link[key.strip(strip)] = param_value.strip(strip)
        links.append(link)
    return links


def _content_chunks(content: bytes, chunk_size: int | None) -> list[bytes]:
    """An already-read body in pieces of `chunk_size` (whole when None)."""
    size = max(len(content) if chunk_size is None else chunk_size, 1)
    return [content[i : i + size] for i in range(0, len(content), size)]


class _Rechunker:
    """Decode, then cut into fixed-size pieces: the stage shared by the sync and async
    iterators over bytes (content decoder + ByteChunker) and over text (TextDecoder +
    TextChunker)."""

    __slots__ = ("_decoder", "_chunker")

    def __init__(self, decoder: typing.Any, chunker: typing.Any) -> None:
        self._decoder = decoder
        self._chunker = chunker

    def feed(self, data: typing.Any) -> list[typing.Any]:
        return self._chunker.decode(self._decoder.decode(data))  # type: ignore[no-any-return]

    def finish(self) -> list[typing.Any]:
        return self._chunker.decode(self._decoder.flush()) + self._chunker.flush()  # type: ignore[no-any-return]


class _BodyReader:
    """Reads a whole body: counts the raw bytes, decodes them, joins the result. What
    `read` and `aread` share; each keeps only its loop over the stream."""

    __slots__ = ("_response", "_decoder", "_parts")

    def __init__(self, response: Response) -> None:
        self._response = response
        decoder = response._get_content_decoder()
        # Unencoded bodies (the usual case) skip the decoder calls.
        self._decoder = None if type(decoder) is IdentityDecoder else decoder
        self._parts: list[bytes] = []

    def feed(self, raw: bytes) -> None:
        self._response._num_bytes_downloaded += len(raw)
        decoder = self._decoder
        self._parts.append(raw if decoder is None else decoder.decode(raw))

    def finish(self) -> bytes:
        parts = self._parts
        if self._decoder is not None:
            parts.append(self._decoder.flush())
        elif len(parts) == 1 and type(parts[0]) is bytes:
            return parts[0]  # no copy
        return b"".join(parts)


_Stage = tuple[
    typing.Any,  # the source: an iterator (sync) or async iterator (async)
    typing.Callable[[typing.Any], list[typing.Any]],  # feed: one source item -> output items
    typing.Callable[[], list[typing.Any]],  # finish: the last output items
    typing.Callable[[], typing.Any] | None,  # on_end: `close`/`aclose`, or None
]


_END = object()  # The end of a stage's source.


class _BodyIterator:
    """The state shared by the sync and async body iterators: a stage (source, feed,
    finish, on_end) set up on first use, as a generator would be; the output items
    waiting to be handed out (in reverse, to pop from the end); and, once the source is
    exhausted, the `on_end` still to run after the last of them."""

    __slots__ = ("_response", "_start", "_stage", "_pending", "_done", "_end")

    def __init__(self, response: Response, start: typing.Callable[[], _Stage]) -> None:
        self._response = response
        self._start = start
        self._stage: _Stage | None = None
        self._pending: list[typing.Any] = []
        self._done = False
        self._end: typing.Callable[[], typing.Any] | None = None

    def _stage_or_start(self) -> _Stage:
        if self._stage is None:
            self._stage = self._start()
        return self._stage

    def _feed(self, item: typing.Any, stage: _Stage) -> None:
        if item is _END:
            self._done = True
            self._end = stage[3]
            items = stage[2]()
        else:
            items = stage[1](item)
        items.reverse()
        self._pending = items

    def _take_end(self) -> typing.Callable[[], typing.Any] | None:
        end, self._end = self._end, None
        return end

    def _fail(self, exc: BaseException) -> None:
        # Like a generator, an iterator that raised is finished.
        self._done = True
        if isinstance(exc, RequestError):
            self._response._attach_request(exc)


class _SyncBodyIterator(_BodyIterator):
    """`Response.iter_*`: an iterator over one stage of the body."""

    __slots__ = ()

    def __iter__(self) -> _SyncBodyIterator:
        return self

    def __next__(self) -> typing.Any:
        try:
            while not self._pending:
                if self._done:
                    end = self._take_end()
                    if end is not None:
                        end()
                    raise StopIteration
                stage = self._stage_or_start()
                self._feed(next(stage[0], _END), stage)
        except BaseException as exc:
            self._fail(exc)
            raise
        return self._pending.pop()

    def close(self) -> None:
        """Stop early (as `generator.close()`), closing the source if it can be."""
        self._done = True
        self._pending = []
        close = getattr(self._stage[0] if self._stage else None, "close", None)
        if close is not None:
            close()


class _AsyncBodyIterator(_BodyIterator):
    """`Response.aiter_*`: an async iterator over one stage of the body. Not an async
    generator: one left unexhausted (a consumer that breaks out early) has nothing for
    the event loop to finalize, where trio warns about unexhausted async generators."""

    __slots__ = ()

    def __aiter__(self) -> _AsyncBodyIterator:
        return self

    async def __anext__(self) -> typing.Any:
        try:
            while not self._pending:
                if self._done:
                    end = self._take_end()
                    if end is not None:
                        await end()
                    raise StopAsyncIteration
                stage = self._stage_or_start()
                self._feed(await anext(stage[0], _END), stage)
        except BaseException as exc:
            self._fail(exc)
            raise
        return self._pending.pop()

    async def aclose(self) -> None:
        """Stop early (for `contextlib.aclosing`), closing the source if it can be."""
        self._done = True
        self._pending = []
        aclose = getattr(self._stage[0] if self._stage else None, "aclose", None)
        if aclose is not None:
            await aclose()


def _no_items() -> list[typing.Any]:
    return []


def _one_item(item: typing.Any) -> list[typing.Any]:
    return [item]


# A `ByteStream` that keeps the inherited `close` (a no-op) has nothing to release; one that
# keeps `ByteStream.aclose` closes asynchronously with its `close` (see `_body_in_memory`).
_NOTHING_TO_CLOSE = SyncByteStream.close
_CLOSES_IN_SYNC = ByteStream.aclose
# httpx's messages, grammar included.
_SYNC_ITERATOR_ERROR = "Attempted to call a sync iterator on an async stream."
_ASYNC_ITERATOR_ERROR = "Attempted to call an async iterator on an sync stream."

_REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))

_STATUS_ERROR_TYPES = {
    1: "Informational response",
    3: "Redirect response",
    4: "Client error",
    5: "Server error",
}


class Response:
    # When a client sent the request (`time.perf_counter()`), and when the response was closed:
    # `elapsed` is made from the two when first read. `_started` stays None for responses made
    # outside a client, which have no elapsed time.
    _started: float | None = None
    _closed_at: float
    # Set when first needed.
    _content: bytes
    _text: str
    _encoding: str | None
    _decoder: ContentDecoder
    _cookies: Cookies
    _elapsed: datetime.timedelta

    def __init__(
        self,
        status_code: int,
        *,
        headers: HeaderTypes | None = None,
        content: ResponseContent | None = None,
        text: str | None = None,
        html: str | None = None,
        json: typing.Any = None,
        stream: SyncByteStream | AsyncByteStream | None = None,
        request: Request | None = None,
        extensions: ResponseExtensions | None = None,
        history: list[Response] | None = None,
        default_encoding: str | typing.Callable[[bytes], str] = "utf-8",
    ) -> None:
        self.status_code = status_code
        self.headers = Headers(headers)
        self._request: Request | None = request
        # Set by the client when a redirect is received but not followed.
        self.next_request: Request | None = None
        self.extensions = {} if extensions is None else dict(extensions)
        self.history = [] if history is None else list(history)
        self.is_closed = False
        self.is_stream_consumed = False
        self.default_encoding = default_encoding

        if stream is None:
            default_headers, stream = encode_response(content, text, html, json)
            self.headers._add_defaults(default_headers)
            self.stream = stream
            if isinstance(stream, ByteStream):
                # Bodies held in memory are loaded (and decoded) now.
                self.read()
        else:
            # `stream=` (what transports pass) means no automatic content headers.
            self.stream = stream

        self._num_bytes_downloaded = 0

    @classmethod
    def _from_transport(
        cls,
        status_code: int,
        headers: Headers,
        stream: SyncByteStream | AsyncByteStream,
        extensions: dict[str, typing.Any],
    ) -> Response:
        """A response as a network transport makes it: what `__init__` does for
        `Response(status_code, headers=..., stream=..., extensions=...)`, minus the copies,
        the validation and the checks, since `headers` and `extensions` are fresh and ours
        (taken over, not copied). Runs once per response on the hot path."""
        response = cls.__new__(cls)
        response.status_code = status_code
        response.headers = headers
        response._request = None
        response.next_request = None
        response.extensions = extensions
        response.history = []
        response.is_closed = False
        response.is_stream_consumed = False
        response.default_encoding = "utf-8"
        response.stream = stream
        response._num_bytes_downloaded = 0
        return response

    @property
    def elapsed(self) -> datetime.timedelta:
        """The time from sending the request to the end of the response; available once
        the response has been read or closed."""
        try:
            return self._elapsed
        except AttributeError:
            pass
        # Closing only notes the time (a plain attribute store on the hot path); most callers
        # never look at `elapsed`.
        started = self._started
        closed_at: float | None = getattr(self, "_closed_at", None)
        if started is None or closed_at is None:
            raise RuntimeError(
                "'.elapsed' may only be accessed after the response has been read or closed."
            )
        self._elapsed = datetime.timedelta(seconds=closed_at - started)
        return self._elapsed

    @elapsed.setter
    def elapsed(self, elapsed: datetime.timedelta) -> None:
        self._elapsed = elapsed

    @property
    def request(self) -> Request:
        """The request this response answers."""
        if self._request is None:
            raise RuntimeError("The request instance has not been set on this response.")
        return self._request

    @request.setter
    def request(self, value: Request) -> None:
        self._request = value

    @property
    def http_version(self) -> str:
        try:
            http_version: bytes = self.extensions["http_version"]
        except KeyError:
            return "HTTP/1.1"
        return http_version.decode("ascii", errors="ignore")

    @property
    def reason_phrase(self) -> str:
        try:
            reason_phrase: bytes = self.extensions["reason_phrase"]
        except KeyError:
            return codes.get_reason_phrase(self.status_code)
        return reason_phrase.decode("ascii", errors="ignore")

    @property
    def url(self) -> URL:
        """The URL of the request this response answers."""
        return self.request.url

    @property
    def content(self) -> bytes:
        try:
            return self._content
        except AttributeError:
            raise ResponseNotRead() from None

    @property
    def text(self) -> str:
        try:
            return self._text
        except AttributeError:
            pass
        content = self.content
        # Undecodable bytes become U+FFFD rather than an error, as when streaming text.
        self._text = content.decode(self.encoding or "utf-8", "replace") if content else ""
        return self._text

    @property
    def encoding(self) -> str | None:
        """The encoding used to decode the body into text. In order of priority: set
        explicitly (`response.encoding = ...`), the Content-Type charset if Python knows
        it, then `default_encoding` (a name, or a callable given the body: for charset
        autodetection), else "utf-8"."""
        try:
            return self._encoding
        except AttributeError:
            pass
        encoding = self.charset_encoding
        if encoding is None or not _is_known_encoding(encoding):
            if isinstance(self.default_encoding, str):
                encoding = self.default_encoding
            elif hasattr(self, "_content"):
                encoding = self.default_encoding(self._content)
        self._encoding = encoding or "utf-8"
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        """Set the encoding used for `text`; not allowed once `text` has been accessed."""
        if hasattr(self, "_text"):
            raise ValueError("Setting encoding after `text` has been accessed is not allowed.")
        self._encoding = value

    @property
    def charset_encoding(self) -> str | None:
        """The charset of the Content-Type header, if any."""
        content_type = self.headers.get("Content-Type")
        if content_type is None:
            return None
        return _parse_content_type_charset(content_type)

    def _get_content_decoder(self) -> ContentDecoder:
        """The decoder for this response's Content-Encoding (made once)."""
        # `getattr` with a default, not try/except: a raised AttributeError costs ~10x more,
        # and on the hot path the attribute is always missing at first.
        decoder: ContentDecoder | None = getattr(self, "_decoder", None)
        if decoder is None:
            headers = self.headers
            # Most responses have no Content-Encoding: one list lookup says so.
            if b"content-encoding" in headers._lower_keys():
                codings = headers.get_list("content-encoding", split_commas=True)
            else:
                codings = []
            decoder = self._decoder = content_decoder(codings)
        return decoder

    @property
    def is_informational(self) -> bool:
        """True for 1xx status codes."""
        return 100 <= self.status_code <= 199

    @property
    def is_success(self) -> bool:
        """True for 2xx status codes."""
        return 200 <= self.status_code <= 299

    @property
    def is_redirect(self) -> bool:
        """True for 3xx status codes. Not every 3xx is a redirection: see
        `has_redirect_location`."""
        return 300 <= self.status_code <= 399

    @property
    def is_client_error(self) -> bool:
        """True for 4xx status codes."""
        return 400 <= self.status_code <= 499

    @property
    def is_server_error(self) -> bool:
        """True for 5xx status codes."""
        return 500 <= self.status_code <= 599

    @property
    def is_error(self) -> bool:
        """True for 4xx and 5xx status codes."""
        return 400 <= self.status_code <= 599

    @property
    def has_redirect_location(self) -> bool:
        """True for a redirection the client can follow: 301, 302, 303, 307 or 308 with a
        Location header."""
        return self.status_code in _REDIRECT_STATUSES and "Location" in self.headers

    def raise_for_status(self) -> Response:
        """Raise `HTTPStatusError` unless the status is 2xx; return the response."""
        request = self._request
        if request is None:
            raise RuntimeError(
                "Cannot call `raise_for_status` as the request "
                "instance has not been set on this response."
            )
        if self.is_success:
            return self

        error_type = _STATUS_ERROR_TYPES.get(self.status_code // 100, "Invalid status code")
        message = f"{error_type} '{self.status_code} {self.reason_phrase}' for url '{self.url}'\n"
        if self.has_redirect_location:
            message += f"Redirect location: '{self.headers['location']}'\n"
        message += (
            "For more information check: "
            f"https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{self.status_code}"
        )
        raise HTTPStatusError(message, request=request, response=self)

    def json(self, **kwargs: typing.Any) -> typing.Any:
        # json.loads detects UTF-8/16/32 (and a BOM) from the bytes themselves.
        return jsonlib.loads(self.content, **kwargs)

    @property
    def cookies(self) -> Cookies:
        try:
            return self._cookies
        except AttributeError:
            pass
        self._cookies = Cookies()
        self._cookies.extract_cookies(self)
        return self._cookies

    @property
    def links(self) -> dict[str | None, dict[str, str]]:
        """The parsed Link header, keyed by `rel` (or by URL when there is none)."""
        header = self.headers.get("link")
        if header is None:
            return {}
        return {(link.get("rel") or link.get("url")): link for link in _parse_header_links(header)}

    @property
    def num_bytes_downloaded(self) -> int:
        return self._num_bytes_downloaded

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason_phrase}]>"

    def __getstate__(self) -> dict[str, typing.Any]:
        return {
            name: value
            for name, value in self.__dict__.items()
            if name not in ("extensions", "stream", "is_closed", "_decoder")
        }

    def __setstate__(self, state: dict[str, typing.Any]) -> None:
        self.__dict__.update(state)
        self.is_closed = True
        self.extensions = {}
        self.stream = UnattachedStream()

    # Streaming. Each iterator is a chain of stages: raw (the transport's stream) ->
    # bytes (content decoding) -> text -> lines. A stage is set up by one `_*_stage`
    # method shared by the sync and async iterators; only `read`/`aread` and
    # `close`/`aclose` have their own (short) sync and async bodies.

    def _attach_request(self, exc: RequestError) -> None:
        if self._request is not None:
            exc.request = self._request

    def _raw_stage(self, chunk_size: int | None, is_async: bool) -> _Stage:
        if is_async:
            self._start_raw(AsyncByteStream, _ASYNC_ITERATOR_ERROR)
            source = self.stream.__aiter__()  # type: ignore[union-attr]
            on_end: typing.Callable[[], typing.Any] = self.aclose
        else:
            self._start_raw(SyncByteStream, _SYNC_ITERATOR_ERROR)
            source = iter(self.stream)  # type: ignore[arg-type]
            on_end = self.close
        chunker = ByteChunker(chunk_size)

        def feed(raw: bytes) -> list[bytes]:
            self._num_bytes_downloaded += len(raw)
            return chunker.decode(raw)

        return source, feed, chunker.flush, on_end

    def _bytes_stage(self, chunk_size: int | None, is_async: bool) -> _Stage:
        if hasattr(self, "_content"):
            chunks = iter(_content_chunks(self._content, chunk_size))
            return (
                (SyncToAsyncIterator(chunks) if is_async else chunks),
                _one_item,
                _no_items,
                None,
            )
        rechunker = _Rechunker(self._get_content_decoder(), ByteChunker(chunk_size))
        raw = self.aiter_raw() if is_async else self.iter_raw()
        return raw, rechunker.feed, rechunker.finish, None

    def _text_stage(self, chunk_size: int | None, is_async: bool) -> _Stage:
        rechunker = _Rechunker(TextDecoder(self.encoding or "utf-8"), TextChunker(chunk_size))
        byte_chunks = self.aiter_bytes() if is_async else self.iter_bytes()
        return byte_chunks, rechunker.feed, rechunker.finish, None

    def _lines_stage(self, is_async: bool) -> _Stage:
        decoder = LineDecoder()
        text = self.aiter_text() if is_async else self.iter_text()
        return text, decoder.decode, decoder.flush, None

    def _start_raw(self, stream_type: type, message: str) -> None:
        if self.is_stream_consumed:
            raise StreamConsumed()
        if self.is_closed:
            raise StreamClosed()
        if not isinstance(self.stream, stream_type):
            raise RuntimeError(message)
        self.is_stream_consumed = True
        self._num_bytes_downloaded = 0

    def read(self) -> bytes:
        """Read and return the whole (decoded) body."""
        content: bytes | None = getattr(self, "_content", None)  # (see _get_content_decoder)
        if content is not None:
            return content
        # What `b"".join(self.iter_bytes())` gives, without the layers of iterators.
        self._start_raw(SyncByteStream, _SYNC_ITERATOR_ERROR)
        content = self._body_in_memory()
        if content is not None:
            if not self.is_closed:
                self.close()
            self._content = content
            return content
        reader = _BodyReader(self)
        try:
            for raw_bytes in self.stream:  # type: ignore[union-attr]
                reader.feed(raw_bytes)
            self.close()
            self._content = reader.finish()
        except RequestError as exc:
            self._attach_request(exc)
            raise
        return self._content

    def _body_in_memory(self) -> bytes | None:
        """The whole body, when the stream holds it in memory (a `ByteStream`: what network
        transports return for a body that came with its head) and it needs no decoding: then
        `read` and `aread` take it as it is, without iterating the stream. If the stream has
        nothing to release, the response is closed here too."""
        stream = self.stream
        if not isinstance(stream, ByteStream):
            return None
        headers = self.headers
        # (The lowercased names are usually there already: the client's cookie check made them.)
        if b"content-encoding" in (headers._lower or headers._lower_keys()):
            return None
        content = stream._stream
        self._num_bytes_downloaded = len(content)
        cls = type(stream)
        if cls.close is _NOTHING_TO_CLOSE and cls.aclose is _CLOSES_IN_SYNC:
            # A stream with nothing to release (the usual `CompleteStream`): the response is
            # closed here, without the `close`/`aclose` calls (and, async, their coroutines).
            self.is_closed = True
            self._closed_at = time.perf_counter()
        return content

    def iter_bytes(self, chunk_size: int | None = None) -> typing.Iterator[bytes]:
        """The decoded body (gzip, deflate, br, zstd), in chunks of `chunk_size` bytes
        (as they arrive when None)."""
        return _SyncBodyIterator(self, lambda: self._bytes_stage(chunk_size, False))

    def iter_text(self, chunk_size: int | None = None) -> typing.Iterator[str]:
        """The body decoded into text with `encoding`, in chunks of `chunk_size`
        characters (as they arrive when None)."""
        return _SyncBodyIterator(self, lambda: self._text_stage(chunk_size, False))

    def iter_lines(self) -> typing.Iterator[str]:
        """The body as text lines, without line endings (as `str.splitlines`)."""
        return _SyncBodyIterator(self, lambda: self._lines_stage(False))

    def iter_raw(self, chunk_size: int | None = None) -> typing.Iterator[bytes]:
        """The body as received (not decoded), in chunks of `chunk_size` bytes. The
        response is closed once the body has been read to the end."""
        return _SyncBodyIterator(self, lambda: self._raw_stage(chunk_size, False))

    def close(self) -> None:
        """Close the response and release its connection. Done automatically once the
        body has been read to the end."""
        if not isinstance(self.stream, SyncByteStream):
            raise RuntimeError("Attempted to call an sync close on an async stream.")
        if not self.is_closed:
            self.is_closed = True
            self._closed_at = time.perf_counter()
            try:
                self.stream.close()
            except RequestError as exc:
                self._attach_request(exc)
                raise

    async def aread(self) -> bytes:
        """The async twin of `read`."""
        content: bytes | None = getattr(self, "_content", None)  # (see _get_content_decoder)
        if content is not None:
            return content
        self._start_raw(AsyncByteStream, _ASYNC_ITERATOR_ERROR)
        content = self._body_in_memory()
        if content is not None:
            if not self.is_closed:
                # (`_start_raw` checked that the stream is an AsyncByteStream.)
                if type(self.stream).aclose is _CLOSES_IN_SYNC:  # type: ignore[union-attr]
                    self.close()  # all that `aclose` would do, without its coroutines
                else:
                    await self.aclose()
            self._content = content
            return content
        reader = _BodyReader(self)
        try:
            async for raw_bytes in self.stream:  # type: ignore[union-attr]
                reader.feed(raw_bytes)
            await self.aclose()
            self._content = reader.finish()
        except RequestError as exc:
            self._attach_request(exc)
            raise
        return self._content

    def aiter_bytes(self, chunk_size: int | None = None) -> typing.AsyncIterator[bytes]:
        """The async twin of `iter_bytes`."""
        return _AsyncBodyIterator(self, lambda: self._bytes_stage(chunk_size, True))

    def aiter_text(self, chunk_size: int | None = None) -> typing.AsyncIterator[str]:
        """The async twin of `iter_text`."""
        return _AsyncBodyIterator(self, lambda: self._text_stage(chunk_size, True))

    def aiter_lines(self) -> typing.AsyncIterator[str]:
        """The async twin of `iter_lines`."""
        return _AsyncBodyIterator(self, lambda: self._lines_stage(True))

    def aiter_raw(self, chunk_size: int | None = None) -> typing.AsyncIterator[bytes]:
        """The async twin of `iter_raw`."""
        return _AsyncBodyIterator(self, lambda: self._raw_stage(chunk_size, True))

    async def aclose(self) -> None:
        """The async twin of `close`."""
        if not isinstance(self.stream, AsyncByteStream):
            raise RuntimeError("Attempted to call an async close on an sync stream.")
        if not self.is_closed:
            self.is_closed = True
            self._closed_at = time.perf_counter()
            try:
                await self.stream.aclose()
            except RequestError as exc:
                self._attach_request(exc)
                raise


# --------------------------------------------------------------------------- Cookies


class Cookies(typing.MutableMapping[str, str]):
    """HTTP cookies, as a mutable mapping of name -> value over an
    `http.cookiejar.CookieJar` (`jar`), which applies the domain, path, expiry and
    security rules."""

    def __init__(self, cookies: CookieTypes | None = None) -> None:
        if cookies is None or isinstance(cookies, (Mapping, list, tuple)):
            self.jar = CookieJar()
            if isinstance(cookies, Cookies):
                for cookie in cookies.jar:
                    self.jar.set_cookie(cookie)
            elif isinstance(cookies, Mapping):
                for key, value in cookies.items():
                    self.set(key, value)
            elif cookies is not None:
                for key, value in cookies:
                    self.set(key, value)
        else:
            # A CookieJar is used as is (shared), so that e.g. a FileCookieJar keeps
            # saving what the client receives.
            self.jar = cookies

    def extract_cookies(self, response: Response) -> None:
        """Store the cookies the response sets (Set-Cookie headers)."""
        headers = response.headers
        if (
            "set-cookie" not in headers
            and "set-cookie2" not in headers
            and type(self.jar).extract_cookies is CookieJar.extract_cookies
        ):
            return  # The common case, and the jar would find nothing to do.
        self.jar.extract_cookies(
            _CookieCompatResponse(response),  # type: ignore[arg-type]
            _CookieCompatRequest(response.request),  # type: ignore[arg-type]
        )

    def set_cookie_header(self, request: Request) -> None:
        """Set the Cookie header the jar has for this request, unless it already has one."""
        if (
            not getattr(self.jar, "_cookies", True)
            and type(self.jar).add_cookie_header is CookieJar.add_cookie_header
        ):
            return  # An empty stock jar adds nothing.
        self.jar.add_cookie_header(_CookieCompatRequest(request))  # type: ignore[arg-type]

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Set a cookie, optionally for a domain and path."""
        cookie = Cookie(
            version=0,
            name=name,
            value=value,
            port=None,
            port_specified=False,
            domain=domain,
            domain_specified=bool(domain),
            domain_initial_dot=domain.startswith("."),
            path=path,
            path_specified=bool(path),
            secure=False,
            expires=None,
            discard=True,
            comment=None,
            comment_url=None,
            rest={"HttpOnly": None},  # type: ignore[dict-item]
            rfc2109=False,
        )
        self.jar.set_cookie(cookie)

    def get(  # type: ignore[override]
        self,
        name: str,
        default: str | None = None,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """The value of a cookie, optionally narrowed to a domain and path;
        `CookieConflict` if several cookies match."""
        value = None
        for cookie in self.jar:
            if (
                cookie.name == name
                and (domain is None or cookie.domain == domain)
                and (path is None or cookie.path == path)
            ):
                if value is not None:
                    raise CookieConflict(f"Multiple cookies exist with name={name}")
                value = cookie.value
        return default if value is None else value

    def delete(self, name: str, domain: str | None = None, path: str | None = None) -> None:
        """Delete the cookies of that name, optionally only for a domain and path."""
        if domain is not None and path is not None:
            return self.jar.clear(domain, path, name)
        remove = [
            cookie
            for cookie in self.jar
            if cookie.name == name
            and (domain is None or cookie.domain == domain)
            and (path is None or cookie.path == path)
        ]
        for cookie in remove:
            self.jar.clear(cookie.domain, cookie.path, cookie.name)

    def clear(self, domain: str | None = None, path: str | None = None) -> None:
        """Delete all cookies, or those of a domain, or of a domain and path."""
        args = []
        if domain is not None:
            args.append(domain)
        if path is not None:
            assert domain is not None
            args.append(path)
        self.jar.clear(*args)

    def update(self, cookies: CookieTypes | None = None) -> None:  # type: ignore[override]
        cookies = Cookies(cookies)
        for cookie in cookies.jar:
            self.jar.set_cookie(cookie)

    def __setitem__(self, name: str, value: str) -> None:
        return self.set(name, value)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __delitem__(self, name: str) -> None:
        return self.delete(name)

    def __len__(self) -> int:
        return len(self.jar)

    def __iter__(self) -> typing.Iterator[str]:
        return (cookie.name for cookie in self.jar)

    def __bool__(self) -> bool:
        for _ in self.jar:
            return True
        return False

    def __repr__(self) -> str:
        cookies_repr = ", ".join(
            f"<Cookie {cookie.name}={cookie.value} for {cookie.domain} />" for cookie in self.jar
        )
        return f"<Cookies[{cookies_repr}]>"


_PORT_SUFFIX = re.compile(r":\d+$", re.ASCII)


class _CookieCompatRequest:
    """What `http.cookiejar` needs of a `urllib.request.Request`, over a `Request`. A
    Cookie header the jar adds goes straight into the request's headers."""

    unverifiable = False

    def __init__(self, request: Request) -> None:
        self.request = request
        self._full_url = str(request.url)
        parts = urlsplit(self._full_url)
        self.type = parts.scheme
        self.host = unquote(parts.netloc)

    @property
    def origin_req_host(self) -> str:
        # The host without its port, lowercased (what urllib computes). Only consulted for
        # unverifiable (third-party) requests, so computed on demand.
        return _PORT_SUFFIX.sub("", self.host, count=1).lower()

    def get_full_url(self) -> str:
        return self._full_url

    def has_header(self, name: str) -> bool:
        return name in self.request.headers

    def get_header(self, name: str, default: str | None = None) -> str | None:
        return self.request.headers.get(name, default)

    def add_unredirected_header(self, key: str, value: str) -> None:
        self.request.headers[key] = value


class _CookieCompatResponse:
    """What `http.cookiejar` needs of a urllib response: `info().get_all(name)`."""

    def __init__(self, response: Response) -> None:
        self.response = response

    def info(self) -> _CookieCompatResponse:
        return self

    def get_all(self, name: str, default: list[str]) -> list[str]:
        return self.response.headers.get_list(name) or default
