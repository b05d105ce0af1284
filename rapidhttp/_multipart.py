"""
multipart/form-data request bodies (`files=`, with `data=` fields alongside).

Files are streamed in 64 KiB reads, never loaded whole; the body has a Content-Length
when every part's size is known up front (bytes, str, real or seekable files), and is sent
chunked otherwise.
"""

from __future__ import annotations

import io
import mimetypes
import os
import typing
from pathlib import Path

from ._content import SyncToAsyncIterator, peek_filelike_length
from ._types import (
    AsyncByteStream,
    FileContent,
    FileTypes,
    RequestData,
    RequestFiles,
    SyncByteStream,
)
from ._urls import primitive_value_to_str

__all__ = ["MultipartStream", "get_multipart_boundary_from_content_type"]

# Escaping of names and filenames inside Content-Disposition, as the HTML5 form
# submission algorithm does it: quote and backslash, and the C0 controls except ESC.
_FORM_PARAM_ESCAPES = {ord('"'): "%22", ord("\\"): "\\\\"}
_FORM_PARAM_ESCAPES.update({c: f"%{c:02X}" for c in range(0x20) if c != 0x1B})


def _format_form_param(name: str, value: str) -> bytes:
    return f'{name}="{value.translate(_FORM_PARAM_ESCAPES)}"'.encode()


def _guess_content_type(filename: str | None) -> str | None:
    """The media type for a filename (application/octet-stream when unknown), or None
    when there is no filename."""
    if filename:
        return mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return None


def get_multipart_boundary_from_content_type(content_type: bytes | None) -> bytes | None:
    """The `boundary` parameter of a `multipart/form-data` Content-Type, if any, so that
    a body encoded for a user-supplied Content-Type matches it."""
    if not content_type or not content_type.startswith(b"multipart/form-data"):
        return None
    # RFC 2046 section 5.1.1: `boundary=value` or `boundary="value"`.
    for section in content_type.split(b";")[1:]:
        section = section.strip()
        if section.lower().startswith(b"boundary="):
            return section[len(b"boundary=") :].strip(b'"')
    return None


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


class DataField:
    """A plain form field."""

    def __init__(self, name: str, value: str | bytes | int | float | None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Invalid type for name. Expected str, got {type(name)}: {name!r}")
        if value is not None and not isinstance(value, (str, bytes, int, float)):
            raise TypeError(
                f"Invalid type for value. Expected primitive type, got {type(value)}: {value!r}"
            )
        self.name = name
        self.value: str | bytes = (
            value if isinstance(value, bytes) else primitive_value_to_str(value)
        )
        self._headers = b"".join(
            [b"Content-Disposition: form-data; ", _format_form_param("name", name), b"\r\n\r\n"]
        )
        self._data = _to_bytes(self.value)

    def render_headers(self) -> bytes:
        return self._headers

    def render_data(self) -> bytes:
        return self._data

    def get_length(self) -> int:
        return len(self._headers) + len(self._data)

    def render(self) -> typing.Iterator[bytes]:
        yield self._headers
        yield self._data


class FileField:
    """A file field: `file`, `(filename, file)`, `(filename, file, content_type)` or
    `(filename, file, content_type, headers)`, where `file` is a binary file-like object,
    bytes or str."""

    CHUNK_SIZE = 64 * 1024

    def __init__(self, name: str, value: FileTypes) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Invalid type for name. Expected str, got {type(name)}: {name!r}")
        self.name = name

        fileobj: FileContent
        headers: dict[str, str] = {}
        content_type: str | None = None
        if isinstance(value, tuple):
            if len(value) == 2:
                filename, fileobj = value
            elif len(value) == 3:
                filename, fileobj, content_type = value
            else:
                filename, fileobj, content_type, file_headers = value  # type: ignore[misc]
                # A copy: the caller's dict is not ours to add Content-Type to.
                headers = dict(file_headers)
        else:
            filename = Path(str(getattr(value, "name", "upload"))).name
            fileobj = value

        if content_type is None:
            content_type = _guess_content_type(filename)
        # An explicit Content-Type among the part headers wins over the third element.
        has_content_type = any(key.lower() == "content-type" for key in headers)
        if content_type is not None and not has_content_type:
            headers["Content-Type"] = content_type

        if isinstance(fileobj, io.StringIO):
            raise TypeError("Multipart file uploads require 'io.BytesIO', not 'io.StringIO'.")
        if isinstance(fileobj, io.TextIOBase):
            raise TypeError("Multipart file uploads must be opened in binary mode, not text mode.")
        if not isinstance(fileobj, (str, bytes)) and not hasattr(fileobj, "read"):
            raise TypeError(
                "Multipart file uploads must be bytes, str or a binary file-like object, "
                f"not {type(fileobj)}."
            )

        self.filename = filename
        self.file = fileobj
        self.headers = headers
        self._headers: bytes | None = None

    def get_length(self) -> int | None:
        headers = self.render_headers()
        if isinstance(self.file, (str, bytes)):
            return len(headers) + len(_to_bytes(self.file))
        file_length = peek_filelike_length(self.file)
        if file_length is None:
            # Unknown without reading it all: the body will be sent chunked.
            return None
        return len(headers) + file_length

    def render_headers(self) -> bytes:
        if self._headers is None:
            parts = [b"Content-Disposition: form-data; ", _format_form_param("name", self.name)]
            if self.filename:
                parts.extend([b"; ", _format_form_param("filename", self.filename)])
            for header_name, header_value in self.headers.items():
                parts.extend([f"\r\n{header_name}: ".encode(), header_value.encode()])
            parts.append(b"\r\n\r\n")
            self._headers = b"".join(parts)
        return self._headers

    def render_data(self) -> typing.Iterator[bytes]:
        if isinstance(self.file, (str, bytes)):
            yield _to_bytes(self.file)
            return
        # Rewind, so that a body can be sent again (redirects, auth retries, reuse).
        if hasattr(self.file, "seek"):
            try:
                self.file.seek(0)
            except io.UnsupportedOperation:
                pass
        read = self.file.read
        chunk = read(self.CHUNK_SIZE)
        while chunk:
            yield _to_bytes(chunk)
            chunk = read(self.CHUNK_SIZE)

    def render(self) -> typing.Iterator[bytes]:
        yield self.render_headers()
        yield from self.render_data()


class MultipartStream(SyncByteStream, AsyncByteStream):
    """A multipart/form-data body, rendered part by part as it is sent; replayable."""

    def __init__(
        self,
        data: RequestData,
        files: RequestFiles,
        boundary: bytes | None = None,
    ) -> None:
        if boundary is None:
            boundary = os.urandom(16).hex().encode("ascii")
        self.boundary = boundary
        self.content_type = f"multipart/form-data; boundary={boundary.decode('ascii')}"
        self.fields = list(self._iter_fields(data, files))

    def _iter_fields(
        self, data: RequestData, files: RequestFiles
    ) -> typing.Iterator[FileField | DataField]:
        for name, value in data.items():
            if isinstance(value, (tuple, list)):
                for item in value:
                    yield DataField(name=name, value=item)
            else:
                yield DataField(name=name, value=value)

        file_items = files.items() if isinstance(files, typing.Mapping) else files
        for name, value in file_items:
            yield FileField(name=name, value=value)

    def iter_chunks(self) -> typing.Iterator[bytes]:
        for field in self.fields:
            yield b"--%s\r\n" % self.boundary
            yield from field.render()
            yield b"\r\n"
        yield b"--%s--\r\n" % self.boundary

    def get_content_length(self) -> int | None:
        """The length of the encoded body, or None if some file's size is unknown."""
        boundary_length = len(self.boundary)
        length = 0
        for field in self.fields:
            field_length = field.get_length()
            if field_length is None:
                return None
            # b"--{boundary}\r\n" + part + b"\r\n"
            length += 2 + boundary_length + 2 + field_length + 2
        # b"--{boundary}--\r\n"
        return length + 2 + boundary_length + 4

    def get_headers(self) -> dict[str, str]:
        content_length = self.get_content_length()
        if content_length is None:
            return {"Transfer-Encoding": "chunked", "Content-Type": self.content_type}
        return {"Content-Length": str(content_length), "Content-Type": self.content_type}

    def __iter__(self) -> typing.Iterator[bytes]:
        return self.iter_chunks()

    def __aiter__(self) -> typing.AsyncIterator[bytes]:
        # Files are read with blocking calls, as httpx does: async file objects are not
        # supported in `files=`.
        return SyncToAsyncIterator(self.iter_chunks())
