"""Per-service HTTP server: liveness, readiness, Prometheus metrics, and any extra routes.

Runs uvicorn inside the service's own event loop as a task, so it shares the process's
lifecycle: the service starts it, and stops it on its way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence

import uvicorn
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

# Imported for its side effect: the trawl_ metric families are registered (and so listed
# on /metrics) from the start, before the first event moves them.
import shared.metrics  # noqa: F401
from shared.internal_api import INTERNAL_TOKEN_HEADER, token_matches

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]

DEFAULT_CHECK_TIMEOUT = 2.0
_STARTUP_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_MAX_ERROR_TEXT = 300


Endpoint = Callable[[Request], Awaitable[Response]]


def internal_route(path: str, endpoint: Endpoint, *, token: str, methods: Sequence[str]) -> Route:
    """A route of a service's internal HTTP: only callers holding the shared internal token
    (ingest, for the public API) get past a 401."""

    async def guarded(request: Request) -> Response:
        if not token_matches(request.headers.get(INTERNAL_TOKEN_HEADER, ""), token):
            return JSONResponse({"detail": "missing or wrong internal token"}, status_code=401)
        return await endpoint(request)

    return Route(path, guarded, methods=list(methods))


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: SIGINT/SIGTERM belong to the service."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return described[:_MAX_ERROR_TEXT]


class HealthServer:
    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        checks: Mapping[str, Check],
        routes: Sequence[BaseRoute] = (),
        *,
        notes: Callable[[], Mapping[str, str]] = dict,
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self._service = service
        self._host = host
        self._requested_port = port
        self._checks = dict(checks)
        self._notes = notes
        self._check_timeout = check_timeout
        self._registry = registry
        self._failing: set[str] = set()
        self._app = Starlette(routes=[*self._own_routes(), *routes])
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port actually bound (the ephemeral one when constructed with port 0)."""
        if self._server is None or not self._server.started:
            raise RuntimeError("HealthServer is not running")
        for server in self._server.servers:
            for sock in server.sockets:
                port: int = sock.getsockname()[1]
                return port
        raise RuntimeError("HealthServer has no listening socket")

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def _own_routes(self) -> list[BaseRoute]:
        return [
            Route("/healthz", self._healthz, methods=["GET"]),
            Route("/readyz", self._readyz, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
        ]

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("HealthServer already started")
        config = uvicorn.Config(
            self._app,
            host=self._host,
            port=self._requested_port,
            log_config=None,  # keep the process's logging setup; uvicorn.error propagates to root
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._task = asyncio.create_task(self._serve(server), name=f"{self._service}-http")
        try:
            await self._wait_started(server, self._task)
        except BaseException:
            await self.stop()
            raise
        log.info("%s http listening on %s", self._service, self.url)

    @staticmethod
    async def _serve(server: uvicorn.Server) -> None:
        try:
            await server.serve()
        except SystemExit as exc:
            # uvicorn exits the process when it cannot bind; a task must not do that.
            raise RuntimeError("HTTP server failed to start (see the uvicorn.error log)") from exc

    @staticmethod
    async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
        async with asyncio.timeout(_STARTUP_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()  # raises the startup failure
                    raise RuntimeError("HTTP server stopped during startup")
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._task = None
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            async with asyncio.timeout(_STOP_TIMEOUT):
                await asyncio.shield(task)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:
            log.warning("%s http server ended with an error", self._service, exc_info=True)

    # -- endpoints ------------------------------------------------------------------------

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def _readyz(self, request: Request) -> Response:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_check(name) for name in names))
        checks = dict(zip(names, results, strict=True))
        ready = all(result == "ok" for result in results)
        body: dict[str, object] = {"status": "ready" if ready else "unready", "checks": checks}
        if notes := self._notes():
            body["notes"] = dict(notes)  # what an operator should know, without being unready
        return JSONResponse(body, status_code=200 if ready else 503)

    async def _run_check(self, name: str) -> str:
        deadline = asyncio.timeout(self._check_timeout)
        try:
            async with deadline:
                await self._checks[name]()
        except TimeoutError as exc:
            # A check may raise TimeoutError of its own (a driver's); only ours is "timeout after".
            result = f"timeout after {self._check_timeout}s" if deadline.expired() else _error_text(exc)
        except Exception as exc:
            result = _error_text(exc)
        else:
            result = "ok"
        self._note_transition(name, result)
        return result

    def _note_transition(self, name: str, result: str) -> None:
        # Probes run every few seconds: log changes of state, not every failure.
        if result != "ok" and name not in self._failing:
            self._failing.add(name)
            log.warning("readiness check %s failing: %s", name, result, extra={"check": name})
        elif result == "ok" and name in self._failing:
            self._failing.discard(name)
            log.info("readiness check %s passing again", name, extra={"check": name})

    async def _metrics(self, request: Request) -> Response:
        # generate_latest writes the 0.0.4 text format; prometheus-client's CONTENT_TYPE_LATEST
        # now names 1.0.0, which would mislabel it.
        return Response(generate_latest(self._registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)
