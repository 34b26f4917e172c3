"""Kafka intake of JobSubmitted through the real ingest service: valid → run + JobCreated,
invalid or over quota → JobRejected with reasons, undecodable → DLQ; fuzzed submissions all
get an outcome and the consumer keeps going."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings

from shared.envelope import Envelope
from shared.events import JobConfig, JobCreated, JobRejected, JobSubmitted
from shared.producer import publish_direct
from shared.topics import dlq_topic, topic_for
from tests.integration.ingest.conftest import Api
from tests.support import consume_all, header, wait_until
from tests.unit.ingest.strategies import job_configs

pytestmark = pytest.mark.integration

GOOD = JobConfig(name="intake", seeds=["https://example.com/"]).model_dump(mode="json")


def unstorable_surrogates(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def _submission(tenant_id: UUID, config: dict[str, Any], **fields: Any) -> JobSubmitted:
    return JobSubmitted(tenant_id=tenant_id, submission_id=uuid4(), config=config, **fields)


async def test_submissions_become_runs_or_rejections_and_garbage_goes_to_the_dlq(api: Api) -> None:
    settings = api.runtime.settings
    broke = await api.tenant("broke", quota_pages_monthly=0)
    owner = await api.tenant("owner")
    owned_job = (await owner.client.post("/v1/jobs", json={"seeds": ["https://example.com/"]})).json()
    stranger = uuid4()
    good = _submission(stranger, GOOD, idempotency_key="k1")
    again = _submission(stranger, GOOD, idempotency_key="k1")  # same key: the same run
    invalid = _submission(stranger, {"seeds": ["ftp://nope"], "limits": {"max_pages": -1}})
    over_quota = _submission(broke.id, GOOD)
    foreign_job = _submission(stranger, GOOD, job_id=UUID(owned_job["id"]))
    await publish_direct(settings, [good, again, invalid, over_quota, foreign_job])

    topic = topic_for(JobSubmitted, settings.topic_prefix)
    wrong_types = [
        {"tenant_id": str(stranger), "submission_id": 5, "config": GOOD},
        {"tenant_id": str(stranger), "submission_id": str(uuid4()), "config": ["not", "a", "dict"]},
        {
            "tenant_id": str(stranger),
            "submission_id": str(uuid4()),
            "config": GOOD,
            "idempotency_key": "k" * 5000,
        },
    ]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"\xff not json")
        for payload in wrong_types:
            envelope = Envelope.new(
                source="test", type=JobSubmitted.type_name(), subject=None, tenant_id=stranger
            )
            await producer.send_and_wait(topic, json.dumps(payload).encode(), headers=envelope.to_headers())
    finally:
        await producer.stop()

    created = await consume_all(settings, [topic_for(JobCreated, settings.topic_prefix)], expected=1)
    # Submissions are keyed by their own id, so either of the two with key k1 may come first.
    assert [json.loads(record.value)["submission_id"] for record in created] in (
        [str(good.submission_id)],
        [str(again.submission_id)],
    )
    rejected = await consume_all(settings, [topic_for(JobRejected, settings.topic_prefix)], expected=3)
    reasons = {json.loads(r.value)["submission_id"]: json.loads(r.value)["reasons"] for r in rejected}
    assert any(reason.startswith("seeds.0") for reason in reasons[str(invalid.submission_id)])
    assert any(reason.startswith("limits.max_pages") for reason in reasons[str(invalid.submission_id)])
    assert any("quota" in reason for reason in reasons[str(over_quota.submission_id)])
    assert reasons[str(foreign_job.submission_id)] == [f"job_id: no job {owned_job['id']} for this tenant"]
    dead = await consume_all(settings, [dlq_topic(topic)], expected=4)
    assert sorted(str(header(record, "dlq_reason")) for record in dead) == ["schema"] * 3 + ["undecodable"]
    async with api.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM runs WHERE tenant_id = $1", stranger) == 1
        assert await conn.fetchval("SELECT count(*) FROM jobs WHERE tenant_id = $1", stranger) == 1


async def test_fuzzed_submissions_each_get_an_outcome_and_the_consumer_keeps_going(api: Api) -> None:
    configs: list[dict[str, Any]] = []

    @given(job_configs)
    @hypothesis_settings(
        max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def collect(config: dict[str, Any]) -> None:
        # Unpaired surrogates cannot be encoded as UTF-8 JSON at all, so no producer sends them
        # (the unit fuzz of the validation covers them); NUL characters and the rest can.
        assume(not unstorable_surrogates(config))
        configs.append(config)

    collect()
    tenant = uuid4()
    submissions = [_submission(tenant, config) for config in configs]
    last = _submission(tenant, GOOD)  # published after all the others: it must still be taken
    await publish_direct(api.runtime.settings, [*submissions, last])

    async def outcomes() -> int:
        async with api.pool.acquire() as conn:
            runs = await conn.fetchval("SELECT count(*) FROM runs WHERE tenant_id = $1", tenant)
            rejections = await conn.fetchval(
                "SELECT count(*) FROM rejected_submissions WHERE tenant_id = $1 AND cardinality(reasons) > 0",
                tenant,
            )
        return int(runs + rejections)

    total = len(submissions) + 1
    assert await wait_until(lambda: _reached(outcomes, total), within=120)
    async with api.pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1 FROM runs WHERE submission_id = $1", last.submission_id)


async def _reached(count: Any, total: int) -> bool:
    return bool(await count() >= total)
