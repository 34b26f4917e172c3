"""A single-node Apache Kafka (KRaft) broker run with the machine's Java and jars from Maven Central."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from shared.config import LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT, REPO_ROOT
from shared.localstack.process import (
    LOCALHOST,
    Fingerprint,
    LocalComponent,
    Log,
    StackError,
    accepts_connections,
    failure,
    find_executable,
    rotate_log,
    spawn_detached,
    write_pid,
)

PORT = LOCAL_KAFKA_PORT
CONTROLLER_PORT = LOCAL_KAFKA_CONTROLLER_PORT
POM = REPO_ROOT / "deploy" / "local" / "kafka" / "pom.xml"
MIN_JAVA = 17
READY_TIMEOUT = 60.0
MAIN_CLASS = "kafka.Kafka"
JVM_OPTIONS = ("-Xms256m", "-Xmx768m", "-XX:+UseG1GC")

LOG4J2_PROPERTIES = """\
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = INFO
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding (22 characters)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


def render_server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{LOCALHOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOCALHOST}:{port},CONTROLLER://{LOCALHOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOCALHOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "6",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        # A single local node restarted after kill -9 waits this long for its old registration
        # to expire (default 9 s).
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "1000",
    }
    return "".join(f"{key}={_escape_property(value)}\n" for key, value in settings.items())


def _escape_property(value: str) -> str:
    # In .properties files a backslash starts an escape; Windows-style paths would need it doubled.
    return value.replace("\\", "\\\\")


def parse_java_major(version_output: str) -> int | None:
    """The major version from `java -version` output ("1.8.0_x" is 8, "17.0.15" is 17)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def find_java() -> Path:
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else find_executable("java")
    if java is None or not java.is_file():
        raise StackError(
            f"Kafka: no Java runtime found (looked at {'JAVA_HOME' if java_home else 'PATH'}); "
            f"install Java {MIN_JAVA}+ or set TRAWL_KAFKA_BOOTSTRAP to use an external broker"
        )
    result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    major = parse_java_major(result.stderr + result.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "an unrecognised Java"
        raise StackError(f"Kafka 4 needs Java {MIN_JAVA}+, but {java} is {found}")
    return java


class Kafka(LocalComponent):
    name = "kafka"
    label = "Kafka"
    external_env = "TRAWL_KAFKA_BOOTSTRAP"

    @property
    def lib_dir(self) -> Path:
        return self.dir / "lib"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def server_properties(self) -> Path:
        return self.dir / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.dir / "log4j2.properties"

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="java", args=(MAIN_CLASS, str(self.server_properties)))

    def ports(self) -> dict[str, int]:
        return {"broker": PORT, "controller": CONTROLLER_PORT}

    def address(self) -> str:
        return f"{LOCALHOST}:{PORT}"

    def start(self, log: Log) -> None:
        java = find_java()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._resolve_jars(log)
        self._write_config()
        self._format_storage(java, log)
        rotate_log(self.log_path)
        pid = spawn_detached(
            [str(java), *JVM_OPTIONS, *self._classpath_options(), MAIN_CLASS, str(self.server_properties)],
            self.log_path,
            cwd=self.dir,
        )
        write_pid(self.pid_file, pid)
        log(f"waiting for Kafka metadata on {self.address()} …")
        self._wait_ready(pid)

    def _classpath_options(self) -> list[str]:
        return ["-cp", f"{self.lib_dir}/*", f"-Dlog4j2.configurationFile={self.log4j_config}"]

    def _resolve_jars(self, log: Log) -> None:
        marker = self.lib_dir / ".resolved"
        pom_digest = hashlib.sha256(POM.read_bytes()).hexdigest()
        if marker.is_file() and marker.read_text().strip() == pom_digest:
            return
        mvn = find_executable("mvn")
        if mvn is None:
            raise StackError(
                "Kafka: Maven (`mvn`) is needed once to fetch the Kafka jars but is not on PATH; "
                "install it or set TRAWL_KAFKA_BOOTSTRAP to use an external broker"
            )
        log("resolving the Kafka jars with Maven (first run only) …")
        # A half-copied or outdated lib dir would put mixed jar versions on the classpath.
        shutil.rmtree(self.lib_dir, ignore_errors=True)
        mvn_log = self.dir / "mvn.log"
        command = [
            str(mvn), "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.lib_dir}", "-DincludeScope=runtime",
        ]  # fmt: skip
        self._run_logged(command, mvn_log, timeout=900, what="resolving the jars with Maven failed")
        marker.write_text(pom_digest + "\n")

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server_properties.write_text(render_server_properties(self.data_dir, PORT, CONTROLLER_PORT))
        self.log4j_config.write_text(LOG4J2_PROPERTIES)

    def _format_storage(self, java: Path, log: Log) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        log("formatting the Kafka log dir (first run only) …")
        command = [
            str(java), *self._classpath_options(), "kafka.tools.StorageTool", "format",
            "-t", new_cluster_id(), "-c", str(self.server_properties),
        ]  # fmt: skip
        self._run_logged(command, self.dir / "format.log", timeout=120, what="formatting the log dir failed")

    def _run_logged(self, command: list[str], log_path: Path, *, timeout: float, what: str) -> None:
        with open(log_path, "wb") as log_file:
            try:
                result = subprocess.run(
                    command,
                    cwd=self.dir,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise failure(self.label, f"{what}: no result after {timeout:.0f}s", log_path) from exc
        if result.returncode != 0:
            raise failure(self.label, f"{what} (exit code {result.returncode})", log_path)

    def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last_error = "the broker port never opened"
        while time.monotonic() < deadline:
            if self.running() is None:
                raise failure(self.label, f"the broker (pid {pid}) exited during startup", self.log_path)
            if accepts_connections(PORT):
                error = fetch_metadata_error(self.address())
                if error is None:
                    return
                last_error = error
            time.sleep(0.5)
        raise failure(
            self.label, f"no cluster metadata from {self.address()} within {READY_TIMEOUT:.0f}s "
            f"({last_error}); the broker (pid {pid}) is left running", self.log_path,
        )  # fmt: skip


def fetch_metadata_error(bootstrap: str) -> str | None:
    """None when the broker at `bootstrap` returns cluster metadata, else why it did not."""
    try:
        asyncio.run(_describe_cluster(bootstrap))
    except Exception as exc:  # any failure just means "not ready yet"
        return f"{type(exc).__name__}: {exc}"
    return None


async def _describe_cluster(bootstrap: str) -> None:
    # Imported here: aiokafka is only needed while waiting, and the CLI starts faster without it.
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    with _quiet("aiokafka"):
        await admin.start()
        try:
            cluster = await admin.describe_cluster()
        finally:
            await admin.close()
    if not cluster.get("brokers"):
        raise StackError("the cluster reports no brokers yet")


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's connection-refused errors, which are expected while the broker boots."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)
