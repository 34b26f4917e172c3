"""What the chaos run does to the system while it works: SIGKILLs of service processes (each
started again at once), restarts of the broker, PostgreSQL and the S3 server, and poison events
planted on real topics; and the model endpoint that counts the calls in flight at each kill."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer

from shared.config import Settings
from shared.envelope import Envelope
from shared.events import ChunkIndexed, Event, ItemExtracted, PageFetched
from shared.topics import topic_for
from tests.chaos.fleet import Fleet
from tests.sites.openai_server import FakeOpenAI
from trawl import localstack
from trawl.registry import consumers_by_event_type

# An event type and a payload no consumer can take: undecodable, schema-invalid, JSON with NaN.
POISONS: tuple[tuple[type[Event], bytes], ...] = (
    (PageFetched, b"\xff\xfe{not json"),
    (ItemExtracted, b'{"run_id": "not-a-uuid"}'),
    (ChunkIndexed, b'{"tenant_id": NaN}'),
)
# A call answered this shortly before its llm process was killed may not be recorded yet.
ANSWER_RECORDING_SECONDS = 2.0


class CountingModel(FakeOpenAI):
    """The OpenAI-wire stand-in, knowing which calls are open and when each was answered."""

    def __init__(self, delay_seconds: float) -> None:
        super().__init__(delay_seconds=delay_seconds)
        self.open = 0
        self.answered_at: list[float] = []

    async def _completions(self, request: web.Request) -> web.Response:
        self.open += 1
        try:
            return await super()._completions(request)
        finally:
            self.open -= 1
            self.answered_at.append(time.monotonic())

    def in_flight(self) -> int:
        """Calls whose outcome a process killed now may lose: open, or answered just before."""
        since = time.monotonic() - ANSWER_RECORDING_SECONDS
        return self.open + sum(1 for at in self.answered_at if at >= since)


@dataclass(frozen=True)
class Planted:
    topic: str
    partition: int
    offset: int
    consumers: tuple[str, ...]  # the services that must each dead-letter it


@dataclass
class FaultLog:
    kills: list[str] = field(default_factory=list)
    restarts: dict[str, float] = field(default_factory=dict)  # piece: seconds from stop to ready
    planted: list[Planted] = field(default_factory=list)
    llm_in_flight_at_kills: int = 0


@dataclass(frozen=True)
class Fault:
    kind: str  # "kill", "kafka", "postgres", "s3", "poison"
    at: float  # the share of the run's work done when it strikes


def schedule(rng: random.Random, *, kills: int, restarts: list[str], poisons: int) -> list[Fault]:
    """The faults in a random order at random moments, spread between 3 % and 85 % of the work."""
    kinds = ["kill"] * kills + restarts + ["poison"] * poisons
    rng.shuffle(kinds)
    moments = sorted(rng.uniform(0.03, 0.85) for _ in kinds)
    return [Fault(kind, at) for kind, at in zip(kinds, moments, strict=True)]


class Chaos:
    def __init__(
        self, fleet: Fleet, stack: Settings, run_settings: Settings, model: CountingModel, rng: random.Random
    ) -> None:
        self.fleet = fleet
        self.stack = stack
        self.settings = run_settings
        self.model = model
        self.rng = rng
        self.log = FaultLog()
        self._poisons = list(POISONS)

    async def strike(self, fault: Fault) -> str:
        """Strike `fault`; says what was done."""
        if fault.kind == "kill":
            member = self.rng.choice(self.fleet.members)
            if member.service == "llm":
                self.log.llm_in_flight_at_kills += self.model.in_flight()
            self.fleet.kill(member)
            self.log.kills.append(member.name)
            return f"kill -9 {member.name}"
        if fault.kind == "poison":
            planted = await self._plant(*self._poisons.pop(0))
            self.log.planted.append(planted)
            return f"poison on {planted.topic}"
        began = time.monotonic()
        await asyncio.to_thread(localstack.down, self.stack, discard, only={fault.kind})
        await asyncio.to_thread(localstack.up, self.stack, discard, only={fault.kind})
        self.log.restarts[fault.kind] = time.monotonic() - began
        return f"restart {fault.kind} ({self.log.restarts[fault.kind]:.0f} s)"

    async def _plant(self, event_type: type[Event], payload: bytes) -> Planted:
        envelope = Envelope.new(source="chaos", type=event_type.type_name(), subject=None, tenant_id=None)
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka, acks="all")
        await producer.start()
        try:
            topic = topic_for(event_type, self.settings.topic_prefix)
            sent: Any = await producer.send_and_wait(topic, payload, headers=envelope.to_headers())
        finally:
            await producer.stop()
        consumers = tuple(sorted(consumers_by_event_type()[event_type.type_name()]))
        return Planted(topic, sent.partition, sent.offset, consumers)


def discard(line: str) -> None:
    """The local stack's progress lines are not part of the chaos run's output."""
