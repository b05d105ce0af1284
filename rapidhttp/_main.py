"""The `rapidhttp` command: send one request from a terminal and show the response.

The output follows httpx's command line client line for line (its tests compare it exactly):
the head of every response as the engine receives it, so each redirect hop shows, then a blank
line and the body, highlighted by content type. `--verbose` adds the connection events and the
request heads. Both come from the request's `trace` extension, which rapidhttp's engine calls
with httpcore's event names. Rich picks the colours, and uses none when stdout is not a terminal.

click, rich and pygments form the `cli` extra: `rapidhttp/__init__.py` falls back to a `main`
that prints the install hint when importing this module raises ImportError. click is imported here
(`main` is a click command); rich and pygments cost ~40 ms to import, so they are only checked for
here (`find_spec`, which imports nothing) and imported by the functions that use them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import sys
import typing

import click

from .__version__ import __version__
from ._client import Client
from ._config import Proxy
from ._exceptions import InvalidURL, RequestError
from ._models import Request, Response
from ._status_codes import codes
from ._urls import URL

if typing.TYPE_CHECKING:  # pragma: no cover
    import rich.console

for _name in ("rich", "pygments"):
    if importlib.util.find_spec(_name) is None:
        raise ImportError(f"No module named {_name!r}", name=_name)
del _name

__all__ = ["main"]

THEME = "ansi_dark"
# The statuses the client follows (see `Client._send_handling_redirects`).
REDIRECT_STATUS_CODES = frozenset({301, 302, 303, 307, 308})
RawHeaders = typing.Sequence[tuple[bytes, bytes]]


# --------------------------------------------------------------------------- printing


def show(console: rich.console.Console, text: str, lexer: str) -> None:
    """Print `text` highlighted on a terminal, verbatim anywhere else.

    Piped output stays exactly what the server sent: no wrapping at the console width, no
    padding, no markup or emoji interpretation.
    """
    if console.is_terminal:
        import rich.syntax

        console.print(rich.syntax.Syntax(text, lexer, theme=THEME, word_wrap=True))
    else:
        console.out(text, highlight=False)


def format_head(first_line: str, headers: RawHeaders, lowercase: bool = False) -> str:
    # latin-1 maps every byte, so an odd header value is shown rather than crashing the output.
    lines = [first_line]
    for name, value in headers:
        text_name = name.decode("latin-1")
        lines.append(f"{text_name.lower() if lowercase else text_name}: {value.decode('latin-1')}")
    return "\n".join(lines)


def format_request_head(request: Request, http2: bool = False) -> str:
    target = request.url.raw_path.decode("ascii")
    version = "HTTP/2" if http2 else "HTTP/1.1"
    return format_head(f"{request.method} {target} {version}", request.headers.raw, http2)


def format_response_head(
    http_version: bytes, status: int, reason_phrase: bytes | None, headers: RawHeaders
) -> str:
    # HTTP/2 has no reason phrase: show the standard one, as httpx does.
    reason = (
        codes.get_reason_phrase(status)
        if reason_phrase is None
        else reason_phrase.decode("latin-1")
    )
    return format_head(f"{http_version.decode('ascii')} {status} {reason}", headers)


def lexer_for(response: Response) -> str:
    """The pygments lexer for the response's content type, or "" for a binary body."""
    content_type = response.headers.get("content-type")
    if content_type is None:
        return ""
    mime_type = content_type.partition(";")[0].strip().lower()
    import pygments.lexers
    import pygments.util

    try:
        return typing.cast(str, pygments.lexers.get_lexer_for_mimetype(mime_type).name)
    except pygments.util.ClassNotFound:
        # text/csv, text/markdown...: no dedicated lexer, but still text worth showing.
        return "text" if mime_type.startswith("text/") else ""


def print_body(console: rich.console.Console, response: Response) -> None:
    lexer = lexer_for(response)
    if not lexer:
        console.print(f"<{len(response.content)} bytes of binary data>", highlight=False)
        return
    text = response.text
    if lexer.lower().startswith("json"):
        try:
            text = json.dumps(response.json(), indent=4, ensure_ascii=False)
        except ValueError:  # labelled JSON but is not: show it as it came
            pass
    show(console, text, lexer)


def format_certificate(cert: dict[str, typing.Any]) -> str:
    """`SSLSocket.getpeercert()` as indented `*` lines (subject and issuer are nested RDNs)."""
    lines = []
    for key, value in cert.items():
        if not isinstance(value, (list, tuple)):
            lines.append(f"*   {key}: {value!r}")
            continue
        lines.append(f"*   {key}:")
        for item in value:
            if key in ("subject", "issuer"):
                lines.extend(f"*     {name}: {text!r}" for name, text in item)
            elif isinstance(item, tuple) and len(item) == 2:
                lines.append(f"*     {item[0]}: {item[1]!r}")
            else:
                lines.append(f"*     {item!r}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- trace extension


class Tracer:
    """The request's `trace` extension.

    It always prints the head of each response (so every redirect hop shows); with `verbose` it
    also prints connection events and request heads. The handler table is built once, holding
    only the events this run prints, so every other event costs one dict lookup.
    """

    def __init__(
        self, console: rich.console.Console, verbose: bool, follow_redirects: bool
    ) -> None:
        self.console = console
        self.request: Request | None = None
        handlers: dict[str, typing.Callable[[typing.Mapping[str, typing.Any]], None]] = {
            "http11.receive_response_headers.complete": self.http11_response_head,
            "http2.receive_response_headers.complete": self.http2_response_head,
        }
        if verbose:
            # A proxy connection traces as "proxy.*" / "socks.*" rather than "connection.*".
            for prefix in ("connection", "proxy", "socks"):
                handlers[f"{prefix}.connect_tcp.started"] = self.connecting
                handlers[f"{prefix}.connect_tcp.complete"] = self.connected
                handlers[f"{prefix}.start_tls.complete"] = self.tls_established
            handlers["http11.send_request_headers.started"] = self.http11_request_head
            handlers["http2.send_request_headers.started"] = self.http2_request_head
            if follow_redirects:
                # The redirect note needs the request the response answers.
                for version in ("http11", "http2"):
                    handlers[f"{version}.receive_response_headers.started"] = self.waiting
        self.handlers = handlers

    def __call__(self, name: str, info: typing.Mapping[str, typing.Any]) -> None:
        handler = self.handlers.get(name)
        if handler is not None:
            handler(info)

    def note(self, text: str) -> None:
        self.console.print(text, soft_wrap=True, markup=False, emoji=False)

    def connecting(self, info: typing.Mapping[str, typing.Any]) -> None:
        self.note(f"* Connecting to {info['host']!r}")

    def connected(self, info: typing.Mapping[str, typing.Any]) -> None:
        address = info["return_value"].get_extra_info("server_addr")
        self.note(f"* Connected to {address[0]!r} on port {address[1]}")

    def tls_established(self, info: typing.Mapping[str, typing.Any]) -> None:
        ssl_object = info["return_value"].get_extra_info("ssl_object")
        if ssl_object is None:  # pragma: no cover - every TLS stream exposes its SSL object
            return
        cipher = ssl_object.cipher()
        self.note(f"* SSL established using {ssl_object.version()!r} / {cipher[0]!r}")
        self.note(f"* Selected ALPN protocol: {ssl_object.selected_alpn_protocol()!r}")
        certificate = ssl_object.getpeercert()
        if certificate:  # empty when the certificate was not verified (--no-verify)
            self.note("* Server certificate:")
            self.note(format_certificate(certificate))

    def http11_request_head(self, info: typing.Mapping[str, typing.Any]) -> None:
        self.head(format_request_head(info["request"]))

    def http2_request_head(self, info: typing.Mapping[str, typing.Any]) -> None:
        self.head(format_request_head(info["request"], http2=True))

    def waiting(self, info: typing.Mapping[str, typing.Any]) -> None:
        self.request = info["request"]

    def http11_response_head(self, info: typing.Mapping[str, typing.Any]) -> None:
        http_version, status, reason_phrase, headers = info["return_value"]
        self.response_head(http_version, status, reason_phrase, headers)

    def http2_response_head(self, info: typing.Mapping[str, typing.Any]) -> None:
        status, headers = info["return_value"]
        self.response_head(b"HTTP/2", status, None, headers)

    def response_head(
        self, http_version: bytes, status: int, reason_phrase: bytes | None, headers: RawHeaders
    ) -> None:
        self.head(format_response_head(http_version, status, reason_phrase, headers))
        if self.request is not None and status in REDIRECT_STATUS_CODES:
            self.redirecting(self.request, headers)

    def redirecting(self, request: Request, headers: RawHeaders) -> None:
        location = next((value for name, value in headers if name.lower() == b"location"), None)
        if location is None:
            return
        try:
            target: URL | str = request.url.join(location.decode("latin-1"))
        except InvalidURL:
            target = location.decode("latin-1")  # the client reports the bad URL itself
        self.note(f"* Following redirect to '{target}'")

    def head(self, text: str) -> None:
        show(self.console, text, "http")
        self.console.print()


# --------------------------------------------------------------------------- --download


class Download:
    """The body saved to `path` through a hidden temporary file in the same directory, renamed
    over `path` only when complete: a failed or interrupted transfer never leaves a truncated
    file under the final name (and never clobbers an existing one)."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory, name = os.path.split(os.path.abspath(path))
        self.partial = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.part")
        try:
            # Opened before the request is sent, so an unwritable target fails fast. Mode "x"
            # creates the file with the usual umask-based permissions.
            self.file = open(self.partial, "xb")  # closed by `write` or `__exit__`
        except OSError as exc:
            raise click.FileError(path, hint=exc.strerror or str(exc)) from exc
        self.committed = False

    def write(self, response: Response, console: rich.console.Console) -> None:
        """Stream the body to disk chunk by chunk under a progress bar."""
        import rich.markup
        import rich.progress

        length = response.headers.get("content-length", "")
        # Without a Content-Length the bar pulses and shows the bytes received so far.
        total = int(length) if length.isdigit() else None
        with rich.progress.Progress(
            rich.progress.TextColumn("[progress.description]{task.description}"),
            rich.progress.BarColumn(bar_width=None),
            rich.progress.TaskProgressColumn(),
            rich.progress.DownloadColumn(),
            rich.progress.TransferSpeedColumn(),
            rich.progress.TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(
                f"Downloading [bold]{rich.markup.escape(self.path)}", total=total
            )
            write = self.file.write
            for chunk in response.iter_bytes():
                write(chunk)
                # Raw bytes, like Content-Length, even when the body is compressed.
                progress.update(task, completed=response.num_bytes_downloaded)
        self.file.close()
        os.replace(self.partial, self.path)
        self.committed = True

    def __enter__(self) -> Download:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self.committed:
            self.file.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.partial)


# --------------------------------------------------------------------------- options


def print_help(command: click.Command) -> None:
    """The help page, a rich table built from the command's own options."""
    import rich.console
    import rich.markup
    import rich.table

    console = rich.console.Console()
    console.print(f"[bold]rapidhttp[/bold] {__version__}", justify="center")
    console.print()
    console.print("A next generation HTTP client.", justify="center")
    console.print()
    console.print("Usage: [bold]rapidhttp[/bold] [cyan]<URL> [OPTIONS][/cyan]")
    console.print()
    table = rich.table.Table.grid(padding=(0, 1), pad_edge=True)
    table.add_column("Parameter", no_wrap=True, justify="left", style="bold")
    table.add_column("Description")
    for param in command.params:
        if isinstance(param, click.Option):
            names = ", ".join(sorted(param.opts, key=len))  # "-m, --method"
            if param.metavar:
                names += f" [cyan]{rich.markup.escape(param.metavar)}"
            table.add_row(names, rich.markup.escape(param.help or ""))
    console.print(table)


def handle_help(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    print_help(ctx.command)
    ctx.exit()


def validate_json(ctx: click.Context, param: click.Parameter, value: str | None) -> typing.Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"Not valid JSON ({exc})") from exc


def validate_auth(
    ctx: click.Context, param: click.Parameter, value: tuple[str | None, str | None]
) -> tuple[str, str] | None:
    username, password = value
    if username is None or password is None:
        return None
    if password == "-":
        password = click.prompt("Password", hide_input=True)
    return (username, password)


def validate_proxy(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # A bad proxy URL is a usage error, reported before anything is sent.
    if value is not None:
        try:
            Proxy(value)
        except (ValueError, InvalidURL) as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


PAIRS = "<NAME VALUE> ..."


@click.command(add_help_option=False)
@click.argument("url", type=str)
@click.option(
    "--method",
    "-m",
    "method",
    type=str,
    metavar="METHOD",
    help=(
        "Request method, such as GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD.\n"
        "[Default: GET, or POST if a request body is included]"
    ),
)
@click.option(
    "--params",
    "-p",
    "params",
    type=(str, str),
    multiple=True,
    metavar=PAIRS,
    help="Query parameters to include in the request URL.",
)
@click.option(
    "--content",
    "-c",
    "content",
    type=str,
    metavar="TEXT",
    help="Byte content to include in the request body.",
)
@click.option(
    "--data",
    "-d",
    "data",
    type=(str, str),
    multiple=True,
    metavar=PAIRS,
    help="Form data to include in the request body.",
)
@click.option(
    "--files",
    "-f",
    "files",
    type=(str, click.File(mode="rb")),
    multiple=True,
    metavar="<NAME FILENAME> ...",
    help="Form files to include in the request body.",
)
@click.option(
    "--json",
    "-j",
    "json_data",
    type=str,
    callback=validate_json,
    metavar="TEXT",
    help="JSON data to include in the request body.",
)
@click.option(
    "--headers",
    "-h",
    "headers",
    type=(str, str),
    multiple=True,
    metavar=PAIRS,
    help="Include additional HTTP headers in the request.",
)
@click.option(
    "--cookies",
    "cookies",
    type=(str, str),
    multiple=True,
    metavar=PAIRS,
    help="Cookies to include in the request.",
)
@click.option(
    "--auth",
    "auth",
    type=(str, str),
    default=(None, None),
    callback=validate_auth,
    metavar="<USER PASS>",
    help=(
        "Username and password to include in the request. Specify '-' for the password to"
        " use a password prompt. Note that using --verbose/-v will expose the Authorization"
        " header, including the password encoding in a trivially reversible format."
    ),
)
@click.option(
    "--proxy",
    "proxy",
    type=str,
    default=None,
    callback=validate_proxy,
    metavar="URL",
    help="Send the request via a proxy. Should be the URL giving the proxy address.",
)
@click.option(
    "--timeout",
    "timeout",
    type=float,
    default=5.0,
    metavar="FLOAT",
    help=(
        "Timeout value to use for network operations, such as establishing the connection,"
        " reading some data, etc... [Default: 5.0]"
    ),
)
@click.option(
    "--follow-redirects",
    "follow_redirects",
    is_flag=True,
    default=False,
    help="Automatically follow redirects.",
)
@click.option(
    "--no-verify",
    "verify",
    is_flag=True,
    # Explicit: click >= 8.2 no longer derives a flag's value as `not default`.
    flag_value=False,
    default=True,
    help="Disable SSL verification.",
)
@click.option(
    "--http2",
    "http2",
    is_flag=True,
    default=False,
    help="Send the request using HTTP/2, if the remote server supports it.",
)
@click.option(
    "--download",
    "download",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Save the response content as a file, rather than displaying it.",
)
@click.option(
    "--verbose",
    "-v",
    "verbose",
    is_flag=True,
    default=False,
    help="Verbose output. Show request as well as response.",
)
@click.option(
    "--help",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=handle_help,
    help="Show this message and exit.",
)
def main(
    url: str,
    method: str | None,
    params: tuple[tuple[str, str], ...],
    content: str | None,
    data: tuple[tuple[str, str], ...],
    files: tuple[tuple[str, typing.BinaryIO], ...],
    json_data: typing.Any,
    headers: tuple[tuple[str, str], ...],
    cookies: tuple[tuple[str, str], ...],
    auth: tuple[str, str] | None,
    proxy: str | None,
    timeout: float,
    follow_redirects: bool,
    verify: bool,
    http2: bool,
    download: str | None,
    verbose: bool,
) -> None:
    """
    An HTTP command line client.
    Sends a request and displays the response.
    """
    if not method:
        has_body = content is not None or data or files or json_data is not None
        method = "POST" if has_body else "GET"
    import rich.console
    import rich.markup

    console = rich.console.Console()
    tracer = Tracer(console, verbose=verbose, follow_redirects=follow_redirects)
    try:
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(Download(download)) if download is not None else None
            client = stack.enter_context(
                Client(
                    proxy=proxy,
                    timeout=timeout,
                    http2=http2,
                    verify=verify,
                    cookies=dict(cookies) if cookies else None,
                )
            )
            response = stack.enter_context(
                client.stream(
                    method,
                    url,
                    params=list(params) if params else None,
                    content=content,
                    data=dict(data) if data else None,
                    files=list(files) if files else None,
                    json=json_data,
                    headers=list(headers) if headers else None,
                    auth=auth,
                    follow_redirects=follow_redirects,
                    extensions={"trace": tracer},
                )
            )
            if sink is not None and response.is_success:
                console.print()
                sink.write(response, console)
            else:
                # An error page is shown, never saved under the name asked for.
                response.read()
                if response.content:
                    print_body(console, response)
                if sink is not None:
                    rich.console.Console(stderr=True).print(
                        f"Not saved to {download!r}: the response status is"
                        f" {response.status_code} {response.reason_phrase}.",
                        markup=False,
                        highlight=False,
                        soft_wrap=True,
                    )
    except (RequestError, InvalidURL, ImportError) as exc:
        # ImportError: --http2 without the `h2` package; the message says what to install.
        error = rich.console.Console(stderr=True)
        error.print(
            f"[red]{type(exc).__name__}[/red]: {rich.markup.escape(str(exc))}", soft_wrap=True
        )
        sys.exit(1)
    except OSError as exc:
        if download is None:
            raise
        raise click.FileError(download, hint=exc.strerror or str(exc)) from exc
    sys.exit(0 if response.is_success else 1)
