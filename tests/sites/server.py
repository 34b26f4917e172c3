"""What the local test websites share: an aiohttp server on an ephemeral port with an access log.

A site runs inside the test's event loop (`async with Site(...) as site:`) or, for tests that
must keep their own loop free, in a subprocess (`python -m tests.sites.<module> ...`), which
prints its base URL on the first line of stdout and appends each request to a JSON-lines
access log that `read_access_log` reads back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple, Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ARRIVED_KEY = web.RequestKey("arrived", float)


class AccessRecord(NamedTuple):
    time: float  # time.monotonic() when the request arrived
    method: str
    path: str  # path and query string, as requested
    client: str  # the client's address
    status: int
    headers: dict[str, str]  # request headers, names lower-cased


class LoggedSite:
    """An aiohttp application on (host, port or an ephemeral one) recording every request."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, access_log_file: Path | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.access_log: list[AccessRecord] = []
        self._access_log_file = access_log_file
        self._log_stream: IO[str] | None = None
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def reset_log(self) -> None:
        self.access_log.clear()

    def requests_for(self, path: str) -> list[AccessRecord]:
        return [record for record in self.access_log if record.path == path]

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(middlewares=[self._note_arrival], client_max_size=1024**2)
        app.on_response_prepare.append(self._log_response)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, backlog=1024).start()
        self.port = self._runner.addresses[0][1]
        if self._access_log_file is not None:
            self._log_stream = self._access_log_file.open("a", encoding="utf-8")

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._log_stream is not None:
            self._log_stream.close()
            self._log_stream = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @web.middleware
    async def _note_arrival(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request[ARRIVED_KEY] = time.monotonic()
        return await handler(request)

    async def _log_response(self, request: web.Request, response: web.StreamResponse) -> None:
        """Called as the response's headers go out, so a body the client abandons is logged too."""
        self._record(
            AccessRecord(
                request.get(ARRIVED_KEY, time.monotonic()),
                request.method,
                request.path_qs,
                request.remote or "",
                response.status,
                {name.lower(): value for name, value in request.headers.items()},
            )
        )

    def _record(self, record: AccessRecord) -> None:
        self.access_log.append(record)
        if self._log_stream is not None:
            self._log_stream.write(json.dumps(record._asdict()) + "\n")
            self._log_stream.flush()


def read_access_log(path: Path) -> list[AccessRecord]:
    """The access log a site running in a subprocess wrote (time is that process's monotonic
    clock, which on Linux is the same clock as the reader's)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [AccessRecord(**json.loads(line)) for line in lines if line.strip()]


def serve_args(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--access-log", type=Path, default=None, help="append requests here as JSON lines")
    return parser


async def serve_until_terminated(site: LoggedSite) -> None:
    """Serve `site` until SIGTERM or SIGINT, after printing its base URL (for a parent process)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with site:
        print(site.base_url, flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await stop.wait()


@contextlib.asynccontextmanager
async def site_process(module: str, *args: str, host: str, access_log: Path) -> AsyncIterator[str]:
    """Run `python -m module --host host --access-log access_log *args` and yield its base URL;
    the process is terminated on exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--host",
        host,
        "--access-log",
        str(access_log),
        *args,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        base_url = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode().strip()
        if not base_url:
            raise RuntimeError(f"{module} exited before serving (status {await process.wait()})")
        yield base_url
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
