"""Pid files, port checks, detached spawning and waiting, shared by the local-stack components."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import psutil

Log = Callable[[str], None]

LOCALHOST = "127.0.0.1"
LOG_TAIL_LINES = 30
SPAWN_TIMEOUT = 30.0
KILL_TIMEOUT = 10.0
# Unix socket paths are limited to 107 bytes on Linux; keep well clear of it.
MAX_SOCKET_PATH = 100
_CMDLINE_SHOWN = 160


class StackError(RuntimeError):
    """The local stack could not be brought up or down."""


@dataclass(frozen=True)
class Fingerprint:
    """What a process we started looks like: its program name and arguments it must carry."""

    program: str
    args: tuple[str, ...]

    def matches(self, cmdline: Sequence[str]) -> bool:
        if not cmdline or Path(cmdline[0]).name != self.program:
            return False
        return all(arg in cmdline for arg in self.args)


# Starts "$@" in the background with output appended to the log in $1 and prints its pid. The
# shell exits at once, so the server is re-parented to init: it outlives us, and it never lingers
# as our zombie when it dies while we still run.
_DETACH_SCRIPT = 'log=$1; shift; exec "$@" </dev/null >>"$log" 2>&1 & echo $!'


def read_pid(pid_file: Path) -> int | None:
    """The pid on the first line of `pid_file`, or None when it is missing, unreadable or not a pid."""
    try:
        first_line = pid_file.read_text().split("\n", 1)[0].strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not first_line.isdigit() or int(first_line) <= 0:
        return None
    return int(first_line)


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(pid_file)


def alive(pid: int) -> psutil.Process | None:
    """The process `pid` if it exists and has not exited (a zombie has)."""
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return None
    return None if has_exited(proc) else proc


def cmdline_of(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def find_process(pid: int | None, fingerprint: Fingerprint) -> psutil.Process | None:
    """The live process `pid` if its command line is really one of ours."""
    if pid is None:
        return None
    proc = alive(pid)
    if proc is None or not fingerprint.matches(cmdline_of(proc)):
        return None
    return proc


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """Whether something listens on host:port (a listener on any address blocks ours too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR so that connections lingering in TIME_WAIT do not count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def accepts_connections(port: int, host: str = LOCALHOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on TCP `port`, when the OS lets us see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


def describe_port_owner(port: int) -> str:
    """A human description of the process listening on `port`, as far as we may know it."""
    pid = listening_pid(port)
    proc = alive(pid) if pid is not None else None
    if proc is None:
        return "another process"
    cmdline = " ".join(cmdline_of(proc))
    if len(cmdline) > _CMDLINE_SHOWN:
        cmdline = cmdline[: _CMDLINE_SHOWN - 1] + "…"
    return f"pid {proc.pid} ({cmdline or 'unknown command'})"


def ensure_ports_free(label: str, ports: Mapping[str, int], hint: str) -> None:
    """Raise StackError naming the first of `ports` (role -> port) that is already taken."""
    for role, port in ports.items():
        if port_in_use(port):
            raise StackError(
                f"{label}: port {port} ({role}) is already in use by {describe_port_owner(port)}, "
                f"which trawl did not start. Stop it, or {hint}."
            )


def short_socket_dir(preferred: Path, socket_name: str) -> Path:
    """`preferred`, unless the path of `socket_name` in it would be too long for a unix socket:
    then a directory in the temp dir, short and still unique to `preferred`."""
    if len(str(preferred / socket_name)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"trawl-{digest}"


def rotate_log(log_path: Path) -> None:
    """Keep the previous run's log as <name>.1 so a crash stays diagnosable after a restart."""
    if log_path.exists():
        log_path.replace(log_path.with_name(log_path.name + ".1"))


def run_captured(
    command: Sequence[str], *, timeout: float, what: str, cwd: Path | None = None, new_session: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `command` with its output captured as text; StackError if it outlives `timeout` seconds."""
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            start_new_session=new_session,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"{what}: no result after {timeout:.0f}s") from exc


def run_logged(
    command: Sequence[str],
    log_path: Path,
    *,
    label: str,
    what: str,
    timeout: float,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
) -> None:
    """Run `command` to completion with its output appended to `log_path`; on failure or timeout,
    StackError "`label`: `what` …" with the end of that log."""
    # A file, never a pipe: a server the command forks (pg_ctl start) would inherit the pipe and
    # keep it open, and reading it would then block forever.
    with open(log_path, "ab") as log_file:
        try:
            result = subprocess.run(
                command,
                cwd=cwd,
                env=env,
                user=user,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise failure(label, f"{what}: no result after {timeout:.0f}s", log_path) from exc
    if result.returncode != 0:
        raise failure(label, f"{what} (exit code {result.returncode})", log_path)


def spawn_detached(cmd: Sequence[str], log_path: Path, *, cwd: Path) -> int:
    """Start `cmd` in its own session with output to `log_path`, so it outlives the CLI; its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    result = run_captured(
        ["/bin/sh", "-c", _DETACH_SCRIPT, "sh", str(log_path), *cmd],
        timeout=SPAWN_TIMEOUT,
        what=f"could not start {cmd[0]}",
        cwd=cwd,
        new_session=True,
    )
    pid = result.stdout.strip()
    if result.returncode != 0 or not pid.isdigit():
        raise StackError(f"could not start {cmd[0]}: {result.stderr.strip() or 'no pid reported'}")
    return int(pid)


def probe_error(probe: Callable[[], Coroutine[Any, Any, object]]) -> str | None:
    """None when the coroutine `probe()` completes, else its failure as "Type: message"."""
    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure just means "not ready (yet)"; the caller reports it
        return f"{type(exc).__name__}: {exc}"
    return None


def has_exited(proc: psutil.Process) -> bool:
    # A zombie counts as exited: whoever reaps it (init, for our detached servers) may take a while.
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def signal_and_wait(proc: psutil.Process, sig: signal.Signals, timeout: float) -> bool:
    """Send `sig` to `proc`; whether it has exited within `timeout` seconds."""
    with contextlib.suppress(psutil.NoSuchProcess):
        proc.send_signal(sig)
    return wait_until(lambda: has_exited(proc), timeout, interval=0.05)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll `check` until it returns True or `timeout` seconds pass; whether it succeeded."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return f"(no log at {path})"


def failure(label: str, message: str, log_path: Path) -> StackError:
    """A StackError carrying the end of the component's log, which is where the cause usually is."""
    return StackError(f"{label}: {message}\n--- last lines of {log_path} ---\n{tail(log_path)}")


def find_executable(name: str, *fallbacks: Path) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((path for path in fallbacks if path.is_file() and os.access(path, os.X_OK)), None)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, log: Log) -> Iterator[None]:
    """Serialise `up`/`down` runs on one state dir, so two CLIs never start the same server twice."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another trawl up/down (lock {lock_path}) …")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LocalComponent(ABC):
    """One server of the local stack: a process we start detached and track through a pid file."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Environment variable that points trawl at an external server instead; for error hints.
    external_env: ClassVar[str]
    stop_timeout: ClassVar[float] = 30.0
    ready_timeout: ClassVar[float] = 60.0

    def __init__(self, home: Path) -> None:
        self.dir = home / self.name

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    @abstractmethod
    def fingerprint(self) -> Fingerprint: ...

    @abstractmethod
    def ports(self) -> dict[str, int]:
        """Every port the server listens on, by role; the first one is where clients connect."""

    @abstractmethod
    def address(self) -> str: ...

    @abstractmethod
    def start(self, log: Log) -> None:
        """Prepare, spawn and wait until the server serves requests; raise StackError otherwise."""

    def ready_error(self) -> str | None:
        """Why the server, already accepting connections, cannot serve requests yet; None once it can."""
        return None

    def running(self) -> psutil.Process | None:
        return find_process(read_pid(self.pid_file), self.fingerprint())

    def clear_stale(self) -> bool:
        """Remove a pid file that points at a dead process or at one that is not ours."""
        if not self.pid_file.exists() or self.running() is not None:
            return False
        self.pid_file.unlink(missing_ok=True)
        return True

    def adopt_orphan(self) -> psutil.Process | None:
        """Our own server, still listening though its pid file was lost: record it again."""
        pid = listening_pid(self.main_port())
        proc = find_process(pid, self.fingerprint())
        if proc is not None:
            write_pid(self.pid_file, proc.pid)
        return proc

    def ensure_ports_free(self) -> None:
        ensure_ports_free(self.label, self.ports(), f"set {self.external_env} to use an external server")

    def main_port(self) -> int:
        return next(iter(self.ports().values()))

    def launch(self, command: Sequence[str], log: Log) -> None:
        """Spawn `command` detached as this server, record its pid and wait until it is ready."""
        rotate_log(self.log_path)
        pid = spawn_detached(command, self.log_path, cwd=self.dir)
        write_pid(self.pid_file, pid)
        self.wait_ready(pid, log)

    def wait_ready(self, pid: int, log: Log) -> None:
        """Wait until the server `pid` accepts connections and `ready_error` is None; StackError if
        it exits first or is not ready within `ready_timeout` (it is then left running)."""
        log(f"waiting for {self.label} on {self.address()} …")
        deadline = time.monotonic() + self.ready_timeout
        why_not = f"port {self.main_port()} never accepted a connection"
        # Only a vanished pid means it exited: right after spawning, the pid may still be the
        # detaching shell, not yet exec'd into the server, so its command line is no proof.
        while alive(pid) is not None:
            if accepts_connections(self.main_port()):
                error = self.ready_error()
                if error is None:
                    return
                why_not = error
            if time.monotonic() >= deadline:
                message = (
                    f"not ready on {self.address()} within {self.ready_timeout:.0f}s ({why_not}); "
                    f"the server (pid {pid}) is left running"
                )
                raise failure(self.label, message, self.log_path)
            time.sleep(0.25)
        raise failure(self.label, f"the server (pid {pid}) exited during startup", self.log_path)

    def stop(self, proc: psutil.Process, log: Log) -> None:
        if not signal_and_wait(proc, signal.SIGTERM, self.stop_timeout):
            log(f"{self.label} did not stop within {self.stop_timeout:.0f}s of SIGTERM; killing it")
            self.signal_or_fail(proc, signal.SIGKILL, KILL_TIMEOUT)
        self.pid_file.unlink(missing_ok=True)

    def signal_or_fail(self, proc: psutil.Process, sig: signal.Signals, timeout: float) -> None:
        """Send `sig` to `proc`; StackError, with every file left in place, if it is still alive
        after `timeout` seconds."""
        if not signal_and_wait(proc, sig, timeout):
            raise StackError(
                f"{self.label}: pid {proc.pid} is still alive {timeout:.0f}s after {sig.name}; "
                f"its pid file {self.pid_file} is kept"
            )
