"""A single-node Apache Kafka (KRaft) broker run with the machine's Java and jars from Maven Central."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from shared.config import LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT, REPO_ROOT, Settings
from trawl.localstack.process import (
    LOCALHOST,
    Fingerprint,
    LocalComponent,
    Log,
    StackError,
    find_executable,
    probe_error,
    run_captured,
    run_logged,
)

PORT = LOCAL_KAFKA_PORT
CONTROLLER_PORT = LOCAL_KAFKA_CONTROLLER_PORT
POM = REPO_ROOT / "deploy" / "local" / "kafka" / "pom.xml"
MIN_JAVA = 17
JAVA_VERSION_TIMEOUT = 30.0
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


def format_arguments(cluster_id: str, server_properties: Path) -> list[str]:
    """The StorageTool arguments that format the log dir once, before the first start."""
    # The id is attached with "=": one in 64 starts with "-" and would otherwise read as an option.
    return ["kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(server_properties)]


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
    # In .properties files a backslash starts an escape, and the state dir (TRAWL_HOME) is the
    # user's choice: a POSIX path may contain one.
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
    result = run_captured(
        [str(java), "-version"], timeout=JAVA_VERSION_TIMEOUT, what=f"Kafka: running `{java} -version`"
    )
    major = parse_java_major(result.stderr + result.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "an unrecognised Java"
        raise StackError(f"Kafka 4 needs Java {MIN_JAVA}+, but {java} is {found}")
    return java


class Kafka(LocalComponent):
    name = "kafka"
    label = "Kafka"
    external_env = "TRAWL_KAFKA_BOOTSTRAP"

    def __init__(self, home: Path, settings: Settings) -> None:
        super().__init__(home)
        self.port = settings.local_port(PORT)
        self.controller_port = settings.local_port(CONTROLLER_PORT)

    @property
    def lib_dir(self) -> Path:
        return self.dir / "lib"

    @property
    def server_properties(self) -> Path:
        return self.dir / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.dir / "log4j2.properties"

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="java", args=(MAIN_CLASS, str(self.server_properties)))

    def ports(self) -> dict[str, int]:
        return {"broker": self.port, "controller": self.controller_port}

    def address(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def start(self, log: Log) -> None:
        java = find_java()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._resolve_jars(log)
        self._write_config()
        self._format_storage(java, log)
        self.launch(
            [str(java), *JVM_OPTIONS, *self._classpath_options(), MAIN_CLASS, str(self.server_properties)],
            log,
        )

    def ready_error(self) -> str | None:
        return probe_error(lambda: _describe_cluster(self.address()))

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
        command = [
            str(mvn), "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.lib_dir}", "-DincludeScope=runtime",
        ]  # fmt: skip
        run_logged(
            command,
            self.dir / "mvn.log",
            label=self.label,
            what="resolving the jars with Maven failed",
            timeout=900,
            cwd=self.dir,
        )
        marker.write_text(pom_digest + "\n")

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server_properties.write_text(
            render_server_properties(self.data_dir, self.port, self.controller_port)
        )
        self.log4j_config.write_text(LOG4J2_PROPERTIES)

    def _format_storage(self, java: Path, log: Log) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        log("formatting the Kafka log dir (first run only) …")
        command = [
            str(java),
            *self._classpath_options(),
            *format_arguments(new_cluster_id(), self.server_properties),
        ]
        run_logged(
            command,
            self.dir / "format.log",
            label=self.label,
            what="formatting the log dir failed",
            timeout=120,
            cwd=self.dir,
        )


async def _describe_cluster(bootstrap: str) -> None:
    # Imported here: aiokafka is only needed while waiting, and the CLI starts faster without it.
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    with _quiet("aiokafka"):
        try:
            await admin.start()
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
