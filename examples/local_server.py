"""
A tiny httpbin-like HTTP/1.1 server for the examples, built on the standard library only.

    with serve() as base_url:        # e.g. "http://127.0.0.1:41234"
        rapidhttp.get(base_url + "/json")

It listens on 127.0.0.1, on a free port chosen by the OS, in a background thread, and stops
when the `with` block ends. Routes:

    /                       "Hello, world!"
    /json                   a small JSON document
    /anything[/...]         echoes method, url, args, headers, data, form, files, json (any method)
    /status/{code}          an empty response with that status
    /redirect/{n}           redirects n times, then lands on /anything
    /basic-auth/{u}/{p}     200 with credentials u:p, else 401
    /cookies/set?k=v        sets cookies, redirects to /cookies
    /cookies                echoes the cookies it received
    /bytes/{n}              n bytes with a Content-Length
    /stream/{n}             n JSON lines, chunked, one chunk each
    /sse/{n}                n server-sent events, chunked, a short pause between them
    /delay/{seconds}        waits, then answers
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import http.server
import json
import sys
import threading
import time
import typing
from urllib.parse import parse_qs, urlsplit

__all__ = ["serve"]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    disable_nagle_algorithm = True  # no 40 ms stalls between a response's head and body
    wbufsize = 65536  # one write per response (flushed after each request, or per chunk)

    def log_message(self, format: str, *args: typing.Any) -> None:
        pass  # keep the examples' output clean

    def do_GET(self) -> None:
        self._route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    # ------------------------------------------------------------------ helpers

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "text/plain",
        headers: typing.Sequence[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data: typing.Any) -> None:
        self._send(status, json.dumps(data, indent=2).encode(), "application/json")

    def _send_chunks(self, chunks: typing.Iterable[bytes], content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return body
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _echo(self, query: str) -> dict[str, typing.Any]:
        body = self._read_body()
        content_type = self.headers.get("Content-Type", "")
        form: dict[str, str] = {}
        files: dict[str, str] = {}
        data = body.decode("utf-8", "replace")
        document = None
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = {k: v[-1] for k, v in parse_qs(data).items()}
            data = ""
        elif content_type.startswith("multipart/form-data"):
            head = f"Content-Type: {content_type}\r\n\r\n".encode()
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                value = part.get_payload(decode=True).decode("utf-8", "replace")
                (files if part.get_filename() else form)[name] = value
            data = ""
        elif content_type.startswith("application/json") and body:
            document = json.loads(body)
        return {
            "method": self.command,
            "url": f"http://{self.headers['Host']}{self.path}",
            "args": {k: v if len(v) > 1 else v[0] for k, v in parse_qs(query).items()},
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "data": data,
            "form": form,
            "files": files,
            "json": document,
        }

    # ------------------------------------------------------------------ routes

    def _route(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        route, args = parts[0], parts[1:]
        if url.path == "/":
            self._send(200, b"Hello, world!")
        elif route == "json":
            self._send_json(200, {"message": "Hello, world!", "fast": True, "answer": 42})
        elif route == "anything":
            self._send_json(200, self._echo(url.query))
        elif route == "status":
            self._send(int(args[0]))
        elif route == "redirect":
            remaining = int(args[0]) - 1
            target = f"/redirect/{remaining}" if remaining > 0 else "/anything"
            self._send(302, headers=[("Location", target)])
        elif route == "basic-auth":
            expected = base64.b64encode(f"{args[0]}:{args[1]}".encode()).decode()
            if self.headers.get("Authorization") == f"Basic {expected}":
                self._send_json(200, {"authenticated": True, "user": args[0]})
            else:
                self._send(401, headers=[("WWW-Authenticate", 'Basic realm="examples"')])
        elif route == "cookies" and args == ["set"]:
            query = parse_qs(url.query).items()
            cookies = [("Set-Cookie", f"{k}={v[0]}; Path=/") for k, v in query]
            self._send(302, headers=[*cookies, ("Location", "/cookies")])
        elif route == "cookies":
            pairs = (c.strip().partition("=") for c in self.headers.get("Cookie", "").split(";"))
            self._send_json(200, {"cookies": {k: v for k, _, v in pairs if k}})
        elif route == "bytes":
            size = int(args[0])
            self._send(200, bytes(i % 256 for i in range(size)), "application/octet-stream")
        elif route == "stream":
            lines = (json.dumps({"id": i}).encode() + b"\n" for i in range(int(args[0])))
            self._send_chunks(lines, "application/x-ndjson")
        elif route == "sse":
            self._send_chunks(self._events(int(args[0])), "text/event-stream")
        elif route == "delay":
            time.sleep(float(args[0]))
            self._send(200, b"Sorry for the wait.")
        else:
            self._send(404, b"Not Found")

    @staticmethod
    def _events(count: int) -> typing.Iterator[bytes]:
        for i in range(1, count + 1):
            yield f"event: tick\ndata: {i}\n\n".encode()
            time.sleep(0.05)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not keep the process alive
    request_queue_size = 128  # room for many concurrent connects (the default is 5)

    def handle_error(self, request: typing.Any, client_address: typing.Any) -> None:
        # A client that gave up (a timeout example) is not a server error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve() -> typing.Iterator[str]:
    """Run the server for the duration of the block; yields its base URL (no trailing '/')."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
