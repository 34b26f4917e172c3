"""The pure parts of the local stack: pid files, ports, rendered configs. No real servers."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shlex
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from trawl.localstack import ComponentStatus, StackError, down, ports, process, redact_dsn, status, up
from trawl.localstack.kafka import (
    format_arguments,
    new_cluster_id,
    parse_java_major,
    render_server_properties,
)
from trawl.localstack.postgres import server_options
from trawl.localstack.process import (
    MAX_SOCKET_PATH,
    Fingerprint,
    LocalComponent,
    Log,
    ensure_ports_free,
    exclusive_lock,
    has_exited,
    port_in_use,
    read_pid,
    short_socket_dir,
    spawn_detached,
    tail,
    wait_until,
    write_pid,
)
from trawl.localstack.seaweed import PORTS, mini_arguments, render_s3_config, write_private

SLEEP_SECONDS = "37"


class Sleeper(LocalComponent):
    """A stand-in component whose "server" is `sleep`, to exercise the pid-file logic."""

    name = "sleeper"
    label = "Sleeper"
    external_env = "TRAWL_SLEEPER"
    stop_timeout = 5.0

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="sleep", args=(SLEEP_SECONDS,))

    def ports(self) -> dict[str, int]:
        return {"none": 0}

    def address(self) -> str:
        return "nowhere"

    def start(self, log: Log) -> None:
        write_pid(self.pid_file, spawn_detached(["sleep", SLEEP_SECONDS], self.log_path, cwd=self.dir))


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[Sleeper]:
    component = Sleeper(tmp_path)
    component.dir.mkdir()
    yield component
    proc = component.running()
    if proc is not None:
        component.stop(proc, lambda _: None)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


LISTEN_SCRIPT = """
import socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen()
time.sleep(60)
"""


class Listener(Sleeper):
    """A stand-in component that listens on a port, like a real server."""

    name = "listener"

    def __init__(self, home: Path, port: int) -> None:
        super().__init__(home)
        self.port = port

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program=Path(sys.executable).name, args=(LISTEN_SCRIPT, str(self.port)))

    def ports(self) -> dict[str, int]:
        return {"server": self.port}

    def start(self, log: Log) -> None:
        command = [sys.executable, "-c", LISTEN_SCRIPT, str(self.port)]
        write_pid(self.pid_file, spawn_detached(command, self.log_path, cwd=self.dir))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# --- pid files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [("1234\n", 1234), ("1234\n/data\n1700000000\n", 1234), ("", None), ("abc\n", None), ("0\n", None)],
)
def test_read_pid_parses_the_first_line(tmp_path: Path, content: str, expected: int | None) -> None:
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(content)
    assert read_pid(pid_file) == expected


def test_read_pid_of_missing_file_is_none(tmp_path: Path) -> None:
    assert read_pid(tmp_path / "missing.pid") is None


def test_read_pid_of_an_unreadable_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "binary.pid").write_bytes(b"\xff\xfe12\n")
    (tmp_path / "dir.pid").mkdir()
    assert read_pid(tmp_path / "binary.pid") is None
    assert read_pid(tmp_path / "dir.pid") is None


def test_a_live_process_of_ours_is_running_and_not_stale(sleeper: Sleeper) -> None:
    sleeper.start(lambda _: None)
    proc = sleeper.running()
    assert proc is not None
    assert proc.pid == read_pid(sleeper.pid_file)
    assert not sleeper.clear_stale()
    assert sleeper.pid_file.exists()


def test_pid_file_of_a_dead_process_is_stale(sleeper: Sleeper) -> None:
    write_pid(sleeper.pid_file, dead_pid())
    assert sleeper.running() is None
    assert sleeper.clear_stale()
    assert not sleeper.pid_file.exists()


def test_pid_reused_by_another_program_is_stale(sleeper: Sleeper) -> None:
    write_pid(sleeper.pid_file, os.getpid())  # alive, but this is pytest, not `sleep`
    assert sleeper.running() is None
    assert sleeper.clear_stale()


def test_no_pid_file_is_not_stale(sleeper: Sleeper) -> None:
    assert sleeper.running() is None
    assert not sleeper.clear_stale()


def test_stop_terminates_and_removes_the_pid_file(sleeper: Sleeper) -> None:
    sleeper.start(lambda _: None)
    proc = sleeper.running()
    assert proc is not None
    sleeper.stop(proc, lambda _: None)
    assert has_exited(proc)
    assert not sleeper.pid_file.exists()
    assert sleeper.running() is None


def test_a_process_that_survives_sigkill_keeps_its_pid_file(
    sleeper: Sleeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeper.start(lambda _: None)
    proc = sleeper.running()
    assert proc is not None
    monkeypatch.setattr(process, "signal_and_wait", lambda *_: False)  # as if no signal took effect
    with pytest.raises(StackError, match="still alive"):
        sleeper.stop(proc, lambda _: None)
    assert sleeper.pid_file.exists()


def test_wait_ready_returns_once_the_server_accepts_connections(tmp_path: Path) -> None:
    listener = Listener(tmp_path, free_port())
    listener.dir.mkdir()
    lines: list[str] = []
    command = [sys.executable, "-c", LISTEN_SCRIPT, str(listener.port)]
    try:
        listener.launch(command, lines.append)
        assert port_in_use(listener.port)
        assert lines == [f"waiting for {listener.label} on {listener.address()} …"]
    finally:
        proc = listener.running()
        if proc is not None:
            listener.stop(proc, lambda _: None)


def test_wait_ready_reports_a_server_that_exits_during_startup(sleeper: Sleeper) -> None:
    with pytest.raises(StackError, match="exited during startup"):
        sleeper.launch(["sh", "-c", "echo boom; exit 3"], lambda _: None)


def test_wait_ready_gives_up_on_a_server_that_never_listens(
    sleeper: Sleeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Sleeper, "ready_timeout", 0.5)
    monkeypatch.setattr(Sleeper, "ports", lambda _: {"server": free_port()})
    with pytest.raises(StackError, match=r"not ready .* left running"):
        sleeper.launch(["sleep", SLEEP_SECONDS], lambda _: None)


def test_a_killed_process_does_not_count_as_running(sleeper: Sleeper) -> None:
    sleeper.start(lambda _: None)
    proc = sleeper.running()
    assert proc is not None
    proc.kill()
    assert wait_until(lambda: sleeper.running() is None, timeout=5)


@pytest.mark.parametrize(
    ("cmdline", "matches"),
    [
        (["/usr/bin/java", "-cp", "x", "kafka.Kafka", "/h/server.properties"], True),
        (["java", "kafka.Kafka", "/other/server.properties"], False),
        (["/usr/bin/python", "kafka.Kafka", "/h/server.properties"], False),
        ([], False),
    ],
)
def test_fingerprint_needs_the_program_and_every_argument(cmdline: list[str], matches: bool) -> None:
    fingerprint = Fingerprint(program="java", args=("kafka.Kafka", "/h/server.properties"))
    assert fingerprint.matches(cmdline) is matches


# --- ports -------------------------------------------------------------------------------------


def test_port_in_use_sees_a_listener(listening_port: int) -> None:
    assert port_in_use(listening_port)


def test_port_in_use_is_false_once_the_listener_is_gone() -> None:
    assert not port_in_use(free_port())


def test_taken_port_raises_naming_the_port_and_component(listening_port: int) -> None:
    with pytest.raises(StackError) as error:
        ensure_ports_free("Kafka", {"broker": listening_port}, "set TRAWL_KAFKA_BOOTSTRAP")
    message = str(error.value)
    assert f"port {listening_port}" in message
    assert message.startswith("Kafka:")
    assert f"pid {os.getpid()}" in message  # we hold the socket, so we are the owner named


def test_free_ports_pass() -> None:
    ensure_ports_free("Kafka", {"broker": free_port()}, "hint")


def test_our_server_that_lost_its_pid_file_is_adopted_not_reported_as_foreign(tmp_path: Path) -> None:
    listener = Listener(tmp_path, free_port())
    listener.dir.mkdir()
    listener.start(lambda _: None)
    try:
        assert wait_until(lambda: port_in_use(listener.port), timeout=10)
        started = read_pid(listener.pid_file)
        listener.pid_file.unlink()
        adopted = listener.adopt_orphan()
        assert adopted is not None
        assert adopted.pid == started
        assert read_pid(listener.pid_file) == started
    finally:
        proc = listener.running()
        if proc is not None:
            listener.stop(proc, lambda _: None)


def test_a_foreign_listener_is_not_adopted(tmp_path: Path, listening_port: int) -> None:
    listener = Listener(tmp_path, listening_port)  # the port is held by pytest, not by our script
    assert listener.adopt_orphan() is None
    assert not listener.pid_file.exists()


# --- Kafka -------------------------------------------------------------------------------------


def test_a_cluster_id_starting_with_a_dash_stays_the_option_value() -> None:
    arguments = format_arguments("-AbCdEfGhIjKlMnOpQrStUv", Path("/k/server.properties"))
    assert "--cluster-id=-AbCdEfGhIjKlMnOpQrStUv" in arguments
    assert "-AbCdEfGhIjKlMnOpQrStUv" not in arguments


def test_cluster_id_is_base64url_of_16_bytes_without_padding() -> None:
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert "=" not in cluster_id
    assert set(cluster_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert new_cluster_id() != cluster_id


def test_server_properties_render_a_single_node_kraft_broker() -> None:
    rendered = render_server_properties(Path("/state/kafka/data"), 19092, 19093)
    properties = dict(line.split("=", 1) for line in rendered.splitlines())
    assert properties["process.roles"] == "broker,controller"
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert properties["log.dirs"] == "/state/kafka/data"
    assert properties["num.partitions"] == "6"
    assert properties["auto.create.topics.enable"] == "false"
    assert properties["offsets.topic.replication.factor"] == "1"
    assert rendered.endswith("\n")


def test_server_properties_escape_backslashes_in_paths() -> None:
    rendered = render_server_properties(Path("/state/a\\b"), 19092, 19093)
    assert "log.dirs=/state/a\\\\b\n" in rendered


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("command not found", None),
    ],
)
def test_java_major_version_is_parsed(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


# --- PostgreSQL --------------------------------------------------------------------------------


def test_server_options_survive_the_shell_pg_ctl_passes_them_through() -> None:
    options = server_options(15432, Path("/state dir/run"))
    assert shlex.split(options) == [
        "-h", "127.0.0.1", "-p", "15432", "-k", "/state dir/run", "-c", "max_connections=300",
    ]  # fmt: skip


# --- S3 ----------------------------------------------------------------------------------------


def test_s3_config_has_one_identity_with_our_keys() -> None:
    config = json.loads(render_s3_config("ak", "sk"))
    (identity,) = config["identities"]
    assert identity["credentials"] == [{"accessKey": "ak", "secretKey": "sk"}]
    assert {"Admin", "Read", "Write", "List"} <= set(identity["actions"])


def test_weed_arguments_pin_every_port_and_enforce_auth() -> None:
    arguments = mini_arguments(Path("/s/data"), Path("/s/s3.json"), Path("/s/run"), "bucket", PORTS)
    assert arguments[0] == "mini"
    assert "-dir=/s/data" in arguments
    assert "-s3.config=/s/s3.json" in arguments
    assert "-ip.bind=127.0.0.1" in arguments
    assert "-bucket=bucket" in arguments
    assert "-s3.port=18333" in arguments
    pinned = [int(arg.split("=")[1]) for arg in arguments if ".port" in arg and arg.split("=")[1] != "0"]
    assert sorted(pinned) == sorted(PORTS.values())
    assert len(set(PORTS.values())) == len(PORTS)


def test_s3_config_is_private_from_its_creation(tmp_path: Path) -> None:
    config = tmp_path / "s3.json"
    old_umask = os.umask(0)  # a permissive umask must not widen the mode
    try:
        write_private(config, "secret")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert config.read_text() == "secret"


# --- status and helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/trawl", "postgresql://app@db:5432/trawl"),
        ("postgresql://app@db/trawl", "postgresql://app@db/trawl"),
        ("postgresql://app@db/trawl?password=s3cret", "postgresql://app@db/trawl"),
        (
            "postgresql://app:pw@db/trawl?sslmode=require&password=s3cret&connect_timeout=5",
            "postgresql://app@db/trawl?sslmode=require&connect_timeout=5",
        ),
        ("postgresql:///trawl?host=/run/pg&password=s3cret", "postgresql:///trawl?host=/run/pg"),
    ],
)
def test_redact_dsn_drops_the_password(dsn: str, shown: str) -> None:
    assert redact_dsn(dsn) == shown


def test_status_reports_external_components_without_secrets(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        kafka_bootstrap="broker:9092",
        pg_dsn="postgresql://app:s3cret@db/trawl",
        s3_endpoint="https://s3.example.com",
    )
    assert status(settings) == [
        ComponentStatus("kafka", "external", "broker:9092", None, "TRAWL_KAFKA_BOOTSTRAP is set"),
        ComponentStatus("postgres", "external", "postgresql://app@db/trawl", None, "TRAWL_PG_DSN is set"),
        ComponentStatus("s3", "external", "https://s3.example.com", None, "TRAWL_S3_ENDPOINT is set"),
    ]


def test_up_and_down_leave_external_components_alone(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, kafka_bootstrap="broker:9092", pg_dsn="postgresql://db/x", s3_endpoint="http://s3"
    )
    lines: list[str] = []
    up(settings, lines.append)
    down(settings, lines.append)
    assert len(lines) == 6
    assert all("external" in line and "leaving it alone" in line for line in lines)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["localstack.lock"]


def test_status_of_a_fresh_home_is_all_stopped(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, kafka_bootstrap=None, pg_dsn=None, s3_endpoint=None)
    states = {component.name: component.state for component in status(settings)}
    assert states == {"kafka": "stopped", "postgres": "stopped", "s3": "stopped"}


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
    assert "no log" in tail(tmp_path / "missing.log")


def test_a_long_socket_dir_is_replaced_by_a_short_unique_one(tmp_path: Path) -> None:
    assert short_socket_dir(tmp_path / "run", "s.sock") == tmp_path / "run"
    deep = tmp_path / ("d" * MAX_SOCKET_PATH) / "run"
    short = short_socket_dir(deep, "s.sock")
    assert len(str(short / "s.sock")) <= MAX_SOCKET_PATH
    assert short != short_socket_dir(tmp_path / ("e" * MAX_SOCKET_PATH) / "run", "s.sock")


def test_a_taken_lock_is_announced_then_waited_for(tmp_path: Path) -> None:
    lock_path = tmp_path / "localstack.lock"
    lines: list[str] = []
    entered = threading.Event()

    def take_lock() -> None:
        with exclusive_lock(lock_path, lines.append):
            entered.set()

    with open(lock_path, "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        waiter = threading.Thread(target=take_lock)
        waiter.start()
        assert wait_until(lambda: bool(lines), timeout=5)
        assert not entered.is_set()
        fcntl.flock(holder, fcntl.LOCK_UN)
    waiter.join(timeout=5)
    assert entered.is_set()
    assert lines == [f"waiting for another trawl up/down (lock {lock_path}) …"]


def test_wait_until_gives_up_after_the_timeout() -> None:
    assert not wait_until(lambda: False, timeout=0.05, interval=0.01)
    assert wait_until(lambda: True, timeout=0)


def test_a_second_stack_under_a_port_offset_shares_no_port_and_its_services_find_it(tmp_path: Path) -> None:
    local = {"kafka_bootstrap": None, "pg_dsn": None, "s3_endpoint": None}
    first = Settings(home=tmp_path / "first", **local)
    second = Settings(home=tmp_path / "second", local_port_offset=7, **local)
    assert not set(ports(first)) & set(ports(second))
    assert len(set(ports(second))) == len(ports(second))
    assert second.kafka.endswith(f":{19092 + 7}")
    assert f":{15432 + 7}/" in second.postgres_dsn
    assert second.s3_url.endswith(f":{18333 + 7}")
    assert {component.address for component in status(second)} == {
        second.kafka,
        second.postgres_dsn,
        second.s3_url,
    }
