"""The five services as separate OS processes (`python -m services.<name>`), each replica on a
port of its own, to be killed with SIGKILL and started again."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.events import SERVICES
from tests.integration.extractor.processes import free_port
from tests.support import wait_until

MAX_EXITS = 20


@dataclass
class Member:
    name: str  # "crawler-2"
    service: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    exits: int = 0  # ended on their own (e.g. started while the broker was down)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Fleet:
    """Every service once, the crawler `crawler_replicas` times; output appended to `logs/`.

    Like an orchestrator's restart policy, a process that ends on its own is started again
    (`revive`), and counted."""

    def __init__(self, env: dict[str, str], logs: Path, *, crawler_replicas: int = 2) -> None:
        self.logs = logs
        self.members = [
            Member(f"{service}-{replica}", service, free_port())
            for service in SERVICES
            for replica in range(1, (crawler_replicas if service == "crawler" else 1) + 1)
        ]
        first = {member.service: member for member in reversed(self.members)}
        self.env = {
            **env,
            **{f"TRAWL_{service.upper()}_INTERNAL_URL": first[service].url for service in first},
        }
        self.api = first["ingest"].url
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, member: Member) -> None:
        # Each replica listens on the base port plus its service's index: the base is chosen so
        # that this lands on the member's own port.
        env = {**self.env, "TRAWL_HTTP_BASE_PORT": str(member.port - SERVICES.index(member.service))}
        with (self.logs / f"{member.name}.log").open("ab") as output:
            member.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{member.service}"], env=env, stdout=output, stderr=output
            )

    async def start_all(self) -> None:
        for member in self.members:
            self.start(member)
        for member in self.members:
            await self.wait_ready(member)

    async def wait_ready(self, member: Member, within: float = 180) -> None:
        async with httpx.AsyncClient(timeout=5) as client:

            async def ready() -> bool:
                self.revive()
                if member.exits > MAX_EXITS:
                    raise RuntimeError(f"{member.name} keeps exiting; see {self.logs}")
                try:
                    return (await client.get(f"{member.url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(ready, within=within, interval=0.25, what=f"{member.name} ready")

    def revive(self) -> None:
        """Start again every member whose process ended on its own."""
        for member in self.members:
            if member.process is not None and member.process.poll() is not None:
                member.exits += 1
                self.start(member)

    def kill(self, member: Member) -> None:
        """SIGKILL, and the member started again at once."""
        assert member.process is not None
        member.process.send_signal(signal.SIGKILL)
        member.process.wait()
        self.start(member)

    def stop_all(self) -> None:
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                member.process.send_signal(signal.SIGTERM)
        for member in self.members:
            if member.process is None:
                continue
            try:
                member.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                member.process.kill()
                member.process.wait()
