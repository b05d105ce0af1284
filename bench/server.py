"""The server side: nginx on 127.0.0.1 with a generated config, certificate and files.

Everything it writes goes to bench/.work/. nginx runs in the foreground as our child process
and is stopped by its PID (`Nginx.stop`, called by run.py on every exit path).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SMALL_JSON = '{"id":12345,"name":"rapidhttp","tags":["fast","httpx-compatible"],"ok":true}'
UPLOAD_SIZE = 1 << 20
DOWNLOAD_SIZE = 100 << 20
LISTENERS = ("http", "https", "h2", "h2c")

CONFIG = """\
# One process, no master: it is our child, so its PID is all there is to stop.
daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    ssl_certificate {work}/server.pem;
    ssl_certificate_key {work}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bench:1m;
    http2_max_concurrent_streams 256;
    # DATA frames as large as each client accepts (its SETTINGS_MAX_FRAME_SIZE, 16 KiB unless
    # it asks for more): nginx's default slices every HTTP/2 body into 8 KiB frames whatever
    # the client accepts, which would make the HTTP/2 download measure that slicing.
    http2_chunk_size 1m;
    # The HTTP/2 listener answers HTTP/1.x over TLS with 505, so a client that silently falls
    # back to HTTP/1.1 there shows up as an error instead of as a fast HTTP/2 client.
    map "$server_port $server_protocol" $not_http2 {{
        default 0;
        "{h2} HTTP/1.1" 1;
        "{h2} HTTP/1.0" 1;
    }}
    server {{
        if ($not_http2) {{ return 505; }}
        listen 127.0.0.1:{http} backlog=4096;
        listen 127.0.0.1:{https} ssl backlog=4096;
        listen 127.0.0.1:{h2} ssl http2 backlog=4096;
        listen 127.0.0.1:{h2c} http2 backlog=4096;
        root {work}/files;
        location = /json {{ return 200 '{json}'; }}
        location = /1m {{ try_files /1m.bin =404; }}
        location = /100m {{ try_files /100m.bin =404; }}
        # 1.5 KiB at 1 KiB/s: a response that takes about 1 s, so 100 concurrent requests need 100
        # connections (the "hold 100 connections" scenario).
        location = /slow {{ limit_rate 1k; try_files /slow.bin =404; }}
        # The mirror reads the whole request body before the content phase; the static handler
        # then refuses the POST (405), which error_page turns into a small 200.
        location = /upload {{
            client_max_body_size 2m;
            client_body_buffer_size 2m;
            mirror /drain;
            mirror_request_body on;
            try_files /upload.json =404;
            error_page 405 =200 @uploaded;
        }}
        location = /drain {{ internal; return 204; }}
        location @uploaded {{ return 200 '{{"ok":true}}'; }}
    }}
}}
"""

# wrk sends this POST for the upload scenario.
WRK_UPLOAD_LUA = """\
wrk.method = "POST"
wrk.body = string.rep("x", {size})
wrk.headers["Content-Type"] = "application/octet-stream"
"""


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _make_certificates(work: Path) -> None:
    """A CA and a 127.0.0.1/localhost certificate signed by it (P-256: cheap handshakes)."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", f"{work}/ca.key", "-out", f"{work}/ca.pem",
             "-days", "3650", "-subj", "/CN=rapidhttp bench CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _openssl("req", *ec, "-keyout", f"{work}/server.key", "-out", f"{work}/server.csr",
             "-subj", "/CN=localhost")
    ext = work / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl("x509", "-req", "-in", f"{work}/server.csr", "-CA", f"{work}/ca.pem",
             "-CAkey", f"{work}/ca.key", "-CAcreateserial", "-days", "3650",
             "-out", f"{work}/server.pem", "-extfile", str(ext))


def _make_files(files: Path) -> None:
    files.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)  # incompressible, in case a layer tries
    (files / "1m.bin").write_bytes(block)
    (files / "slow.bin").write_bytes(block[:1536])
    (files / "upload.json").write_text("{}")
    with open(files / "100m.bin.tmp", "wb") as f:
        for _ in range(DOWNLOAD_SIZE // len(block)):
            f.write(block)
    os.replace(files / "100m.bin.tmp", files / "100m.bin")  # last: marks the set complete


def prepare(work: Path) -> None:
    """Create the certificate, the files and the wrk script once (idempotent)."""
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    if not (work / "server.pem").exists():
        _make_certificates(work)
    if not (work / "files" / "100m.bin").exists():
        _make_files(work / "files")
    (work / "upload.lua").write_text(WRK_UPLOAD_LUA.format(size=UPLOAD_SIZE))


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pin_to(cpu: int | None) -> Callable[[], None] | None:
    """A subprocess `preexec_fn` that pins the child to `cpu` (None: no pinning)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _nginx_binary() -> str:
    # Debian puts nginx in /usr/sbin, which a non-login root shell may not have on its PATH.
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        raise SystemExit("bench: nginx not found (bench/run installs it)")
    return found


@dataclass
class Nginx:
    work: Path
    cpu: int | None  # pin nginx to this CPU (None: let the kernel place it)
    process: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] | None = None

    def start(self) -> dict[str, int]:
        ports = dict(zip(LISTENERS, _free_ports(len(LISTENERS)), strict=True))
        conf = self.work / "nginx.conf"
        conf.write_text(CONFIG.format(work=self.work, json=SMALL_JSON, **ports))
        log = self.work / "error.log"  # -e: also for messages before the config is read
        self.process = subprocess.Popen(
            [_nginx_binary(), "-p", str(self.work), "-c", str(conf), "-e", str(log)],
            stdin=subprocess.DEVNULL,
            preexec_fn=pin_to(self.cpu),
        )
        self.ports = ports
        deadline = time.monotonic() + 10
        while not all(_accepts(p) for p in ports.values()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log.read_text(errors="replace")[-2000:]
                raise SystemExit(f"bench: nginx did not start:\n{tail}")
            time.sleep(0.05)
        return ports

    def stop(self) -> None:
        """Stop by PID: SIGTERM, SIGKILL after 5 s."""
        p, self.process = self.process, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False
