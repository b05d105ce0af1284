"""multipart/form-data bodies (rapidhttp._multipart), through `Request(files=...)`."""

from __future__ import annotations

import io
import tempfile
import typing

import pytest

import rapidhttp
from rapidhttp._multipart import MultipartStream, get_multipart_boundary_from_content_type

URL = "https://www.example.com/"
BOUNDARY = {"Content-Type": "multipart/form-data; boundary=BOUNDARY"}


def multipart_request(**kwargs: typing.Any) -> rapidhttp.Request:
    request = rapidhttp.Request("POST", URL, headers=BOUNDARY, **kwargs)
    request.read()
    return request


def test_data_and_files() -> None:
    request = multipart_request(
        data={"a": "1", "b": b"C", "c": ["11", 22], "d": None, "e": True, "f": 1.5},
        files={"file": ("name.txt", io.BytesIO(b"<file content>"))},
    )
    assert request.content == (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="b"\r\n\r\nC\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="c"\r\n\r\n11\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="c"\r\n\r\n22\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="d"\r\n\r\n\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="e"\r\n\r\ntrue\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="f"\r\n\r\n1.5\r\n'
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"; filename="name.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n<file content>\r\n"
        b"--BOUNDARY--\r\n"
    )
    assert request.headers == {
        "Host": "www.example.com",
        "Content-Type": "multipart/form-data; boundary=BOUNDARY",
        "Content-Length": str(len(request.content)),
    }


def test_random_boundary() -> None:
    request = rapidhttp.Request("POST", URL, files={"f": b"x"})
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1]
    assert len(boundary) == 32 and int(boundary, 16) >= 0
    assert request.read().endswith(f"--{boundary}--\r\n".encode())
    other = rapidhttp.Request("POST", URL, files={"f": b"x"})
    assert other.headers["Content-Type"] != content_type


@pytest.mark.parametrize(
    "content_type, boundary",
    [
        (b"multipart/form-data; boundary=+++; charset=utf-8", b"+++"),
        (b"multipart/form-data; charset=utf-8; BOUNDARY=+++", b"+++"),
        (b'multipart/form-data; boundary="+++" ;', b"+++"),
        (b"multipart/form-data; charset=utf-8", None),
        (b"multipart/form-data", None),
        (b"text/plain; boundary=+++", None),
        (None, None),
    ],
)
def test_boundary_from_content_type(content_type: bytes | None, boundary: bytes | None) -> None:
    assert get_multipart_boundary_from_content_type(content_type) == boundary


def test_user_content_type_without_boundary_is_kept() -> None:
    headers = {"Content-Type": "multipart/form-data; charset=utf-8"}
    request = rapidhttp.Request("POST", URL, headers=headers, files={"f": b"x"})
    assert request.headers["Content-Type"] == "multipart/form-data; charset=utf-8"


@pytest.mark.parametrize(
    "filename, content_type",
    [
        ("a.json", "application/json"),
        ("a.txt", "text/plain"),
        ("noext", "application/octet-stream"),
    ],
)
def test_content_type_is_guessed(filename: str, content_type: str) -> None:
    request = multipart_request(files={"file": (filename, b"x")})
    assert f"Content-Type: {content_type}\r\n".encode() in request.content


def test_explicit_content_type_and_part_headers() -> None:
    file_headers = {"Expires": "0"}
    request = multipart_request(files={"file": ("a.txt", b"x", "text/csv", file_headers)})
    assert (
        b'filename="a.txt"\r\nExpires: 0\r\nContent-Type: text/csv\r\n\r\nx\r\n' in request.content
    )
    assert file_headers == {"Expires": "0"}  # the caller's dict is left alone
    # A Content-Type among the part headers wins over the third element.
    request = multipart_request(
        files={"file": ("a.txt", b"x", "text/csv", {"content-type": "image/png"})}
    )
    assert b"content-type: image/png\r\n\r\n" in request.content
    assert b"text/csv" not in request.content


def test_no_filename() -> None:
    request = multipart_request(files={"file": (None, io.BytesIO(b"data"))})
    assert request.content == (
        b'--BOUNDARY\r\nContent-Disposition: form-data; name="file"\r\n\r\n'
        b"data\r\n--BOUNDARY--\r\n"
    )


def test_bare_file_object_uses_its_name(tmp_path: typing.Any) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b"{}")
    with open(path, "rb") as f:
        request = multipart_request(files={"upload": f})
    assert b'name="upload"; filename="report.json"\r\nContent-Type: application/json' in (
        request.content
    )
    request = multipart_request(files={"upload": io.BytesIO(b"x")})
    assert b'filename="upload"\r\nContent-Type: application/octet-stream' in request.content


def test_list_of_files_with_repeated_names() -> None:
    request = multipart_request(files=[("f", ("1.txt", b"one")), ("f", ("2.txt", b"two"))])
    assert request.content.count(b'name="f"') == 2


def test_str_file_content_is_utf8() -> None:
    request = multipart_request(files={"f": ("a.txt", "é")})
    assert "\r\n\r\né\r\n".encode() in request.content


def test_large_file_is_streamed_in_chunks(tmp_path: typing.Any) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 200_000)
    with open(path, "rb") as f:
        request = rapidhttp.Request("POST", URL, headers=BOUNDARY, files={"f": f})
        assert request.headers["Content-Length"] == str(len(b"".join(request.stream)))  # type: ignore[arg-type]
        sizes = [len(chunk) for chunk in request.stream]  # type: ignore[union-attr]
    assert max(sizes) == 65536  # never the whole file at once


def test_unknown_size_is_sent_chunked() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self._parts = [b"Hello", b"World"]

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._parts.pop(0) if self._parts else b""

    request = multipart_request(files={"f": Unseekable()})
    assert "Content-Length" not in request.headers
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert b"\r\n\r\nHelloWorld\r\n" in request.content


def test_files_are_rewound_for_each_send() -> None:
    with tempfile.TemporaryFile() as upload:
        upload.write(b"Hello, world!")  # the position is now at the end
        for _ in range(2):
            request = rapidhttp.Request("POST", URL, files={"f": upload})
            assert b"\r\nHello, world!\r\n" in request.read()


@pytest.mark.anyio
async def test_async_iteration() -> None:
    stream = MultipartStream(data={"a": "1"}, files={"f": io.BytesIO(b"x")}, boundary=b"B")
    sync_body = b"".join(stream)
    async_body = b"".join([chunk async for chunk in stream])
    assert sync_body == async_body
    assert len(sync_body) == stream.get_content_length()


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("n\u00e4me", b'filename="n\xc3\xa4me"'),
        ('quote"back\\slash', b'filename="quote%22back\\\\slash"'),
        ("ctl\x1a\x1b\x1c\x00", b'filename="ctl%1A\x1b%1C%00"'),
    ],
)
def test_names_are_escaped_like_html5_forms(filename: str, expected: bytes) -> None:
    request = multipart_request(files={"upload": (filename, b"x")})
    assert expected in request.content


@pytest.mark.parametrize("key", [b"abc", 1, 2.3, None])
def test_invalid_field_name(key: typing.Any) -> None:
    with pytest.raises(TypeError) as exc_info:
        rapidhttp.Request("POST", URL, data={key: "abc"}, files={"f": b"x"})
    assert str(exc_info.value) == f"Invalid type for name. Expected str, got {type(key)}: {key!r}"


@pytest.mark.parametrize("value", [object(), {"key": "value"}, [["nested"]]])
def test_invalid_field_value(value: typing.Any) -> None:
    with pytest.raises(TypeError, match="Invalid type for value. Expected primitive type"):
        rapidhttp.Request("POST", URL, data={"text": value}, files={"f": b"x"})


def test_text_mode_files_are_rejected() -> None:
    with pytest.raises(TypeError) as exc_info:
        rapidhttp.Request("POST", URL, files={"f": ("a.txt", io.StringIO("x"))})  # type: ignore[dict-item]
    assert str(exc_info.value) == "Multipart file uploads require 'io.BytesIO', not 'io.StringIO'."
    with tempfile.TemporaryFile(mode="w") as upload:
        with pytest.raises(TypeError) as exc_info:
            rapidhttp.Request("POST", URL, files={"f": upload})  # type: ignore[dict-item]
    assert str(exc_info.value) == (
        "Multipart file uploads must be opened in binary mode, not text mode."
    )


def test_non_file_values_are_rejected() -> None:
    with pytest.raises(TypeError, match="must be bytes, str or a binary file-like object"):
        rapidhttp.Request("POST", URL, files={"f": 123})  # type: ignore[dict-item]


def test_invalid_file_field_name() -> None:
    with pytest.raises(TypeError, match="Invalid type for name. Expected str, got <class 'int'>"):
        rapidhttp.Request("POST", URL, files={1: b"x"})  # type: ignore[dict-item]


def test_upload_to_a_real_server(server: typing.Any) -> None:
    # Through the client and the network engine: the body arrives as encoded, with the
    # Content-Length it announced.
    with rapidhttp.Client() as client:
        response = client.post(
            server.url + "echo_body",
            data={"a": "1"},
            files={"f": ("a.bin", io.BytesIO(b"x" * 100_000))},
        )
    assert response.status_code == 200
    request = response.request
    boundary = request.headers["Content-Type"].split("boundary=")[1]
    assert response.content.startswith(f"--{boundary}\r\n".encode())
    assert response.content.endswith(f"--{boundary}--\r\n".encode())
    assert len(response.content) == int(request.headers["Content-Length"])
