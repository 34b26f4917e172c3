"""Running a leased task: from the cache if the same call was made before, else within the
job's budget and the model's shared limits, one call per part of its input; then its output
to S3 and, in one unit of work, the task completed, its usage recorded and LlmTaskCompleted
published. A failure is recorded (failed_tasks, usage) and the task retried later or failed
for good (TaskFailed). A task whose lease ran out while it ran is someone else's to finish:
its result is dropped, so a crash costs at most the calls in flight."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from services.llm import metrics, store
from services.llm.client import ChatModel
from services.llm.domain import limits as model_limits
from services.llm.domain.failures import LlmError, failure_status, next_try_in
from services.llm.domain.prompts import (
    estimate_tokens,
    extraction_messages,
    merge_parts,
    query_messages,
    split_text,
)
from services.llm.domain.tasks import LeasedTask, cost_of
from shared import runs
from shared.config import Settings
from shared.db import Connection
from shared.events import LlmTaskCompleted, TaskFailed
from shared.s3 import ObjectStore, tenant_key
from shared.uow import Database

# Waits longer than this give the task back rather than hold a slot.
_MAX_INLINE_WAIT = 10.0
# Room left in the context for the instructions, the schema and the record so far.
_PROMPT_ALLOWANCE_TOKENS = 200
_MAX_EVENT_OUTPUT_BYTES = 64 * 1024


class Paused(Exception):
    """The model may not be called for `seconds` (rate limit, open breaker)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the model is paused for {seconds:.0f}s (rate limit or failing endpoint)")
        self.seconds = seconds


@dataclass(frozen=True)
class Runner:
    db: Database
    model: ChatModel
    objects: ObjectStore
    settings: Settings

    @property
    def limits(self) -> model_limits.ModelLimits:
        return model_limits.ModelLimits(
            self.settings.llm_requests_per_minute,
            self.settings.llm_tokens_per_minute,
            self.settings.llm_breaker_failures,
            self.settings.llm_breaker_cooldown_seconds,
        )

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return cost_of(
            prompt_tokens,
            completion_tokens,
            prompt_price=self.settings.llm_prompt_price_per_million,
            completion_price=self.settings.llm_completion_price_per_million,
        )


@dataclass
class _Answer:
    output: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cached_path: str | None = None
    provenance: dict[str, int] = field(default_factory=dict)


async def lease(runner: Runner, slots: int) -> list[LeasedTask]:
    async with runner.db.unit_of_work() as uow:
        return await store.lease_tasks(
            uow.conn,
            limit=slots,
            lease_id=uuid4(),
            lease_seconds=runner.settings.llm_lease_seconds,
            now=datetime.now(UTC),
        )


async def run_task(runner: Runner, task: LeasedTask) -> None:
    try:
        answer = await _answer(runner, task)
    except Paused as paused:
        async with runner.db.unit_of_work() as uow:
            at = datetime.now(UTC) + timedelta(seconds=paused.seconds)
            await store.give_back(uow.conn, task, at=at, reason=str(paused))
        return
    except LlmError as error:
        await _failed(runner, task, error)
        return
    await _completed(runner, task, answer)


async def _answer(runner: Runner, task: LeasedTask) -> _Answer:
    async with runner.db.connection() as conn:
        cached = await store.cached_output(conn, tenant_id=task.tenant_id, cache_key=task.cache_key)
    if cached is not None:
        stored = json.loads(await runner.objects.get(cached["s3_output_path"]))
        metrics.CACHE_HITS.inc()
        return _Answer(stored["output"], cached_path=cached["s3_output_path"])
    await _within_budget(runner, task)
    whole = "item" in task.input  # an input sent as it is, in one call
    if whole:
        conversations = [query_messages(task.prompt, task.output_schema, task.input["item"])]
    else:
        conversations = await _extraction_conversations(runner, task)
    answer = _Answer({})
    outputs: list[dict[str, Any]] = []
    for messages in conversations:
        # Reserved: the prompt and the most the answer may take; what is not used comes back.
        estimated = (
            sum(estimate_tokens(message["content"]) for message in messages) + runner.model.max_output_tokens
        )
        await _admitted(runner, estimated)
        started = time.monotonic()
        try:
            completion = await runner.model.answer(messages, task.output_schema)
        except LlmError as error:
            await _after_call(runner, estimated, error.prompt_tokens + error.completion_tokens, error)
            error.prompt_tokens += answer.prompt_tokens
            error.completion_tokens += answer.completion_tokens
            raise
        finally:
            metrics.CALL_SECONDS.labels(runner.model.model).observe(time.monotonic() - started)
        await _after_call(runner, estimated, completion.prompt_tokens + completion.completion_tokens, None)
        outputs.append(completion.output)
        answer.prompt_tokens += completion.prompt_tokens
        answer.completion_tokens += completion.completion_tokens
        answer.calls += completion.calls
    if whole:
        answer.output = outputs[0]
    else:
        answer.output, answer.provenance = merge_parts(outputs, task.input.get("partial", {}))
    return answer


async def _extraction_conversations(runner: Runner, task: LeasedTask) -> list[list[dict[str, str]]]:
    """One conversation per part of the text: a page longer than the context is split, never cut."""
    text = (await runner.objects.get(task.input["s3_key"])).decode("utf-8", "replace")
    partial: dict[str, Any] = task.input.get("partial", {})
    schema = task.output_schema or {}
    overhead = (
        estimate_tokens(json.dumps(schema) + json.dumps(partial) + task.prompt) + _PROMPT_ALLOWANCE_TOKENS
    )
    room = runner.settings.llm_context_tokens - runner.model.max_output_tokens - overhead
    if room < 100:
        raise LlmError(
            "context_length", "the schema and the record so far leave no room for the text", calls=0
        )
    parts = split_text(text, room)
    return [
        extraction_messages(schema, partial, part, part=index, parts=len(parts), prompt=task.prompt or None)
        for index, part in enumerate(parts, start=1)
    ]


async def _within_budget(runner: Runner, task: LeasedTask) -> None:
    if task.job_id is None:
        return
    async with runner.db.connection() as conn:
        config = await runs.run_config(conn, run_id=task.run_id, tenant_id=task.tenant_id)
        if config is None or (
            config.limits.llm_max_tokens is None and config.limits.llm_max_cost_usd is None
        ):
            return
        tokens, cost = await store.job_spend(conn, job_id=task.job_id)
    if config.limits.llm_max_tokens is not None and tokens >= config.limits.llm_max_tokens:
        raise LlmError(
            "budget", f"the job's LLM budget of {config.limits.llm_max_tokens} tokens is spent", calls=0
        )
    if config.limits.llm_max_cost_usd is not None and cost >= config.limits.llm_max_cost_usd:
        raise LlmError(
            "budget", f"the job's LLM budget of ${config.limits.llm_max_cost_usd} is spent", calls=0
        )


async def _admitted(runner: Runner, estimated: int) -> None:
    """Waits for the model's shared buckets to allow a call of about `estimated` tokens."""
    while True:
        now = time.time()
        async with runner.db.unit_of_work() as uow:
            state = await store.locked_model_state(uow.conn, model=runner.model.model)
            admission = model_limits.admit(
                state or model_limits.fresh(runner.limits, now),
                runner.limits,
                estimated_tokens=estimated,
                now=now,
            )
            await store.save_model_state(uow.conn, model=runner.model.model, state=admission.state)
        if admission.wait <= 0:
            return
        if admission.wait > _MAX_INLINE_WAIT:
            raise Paused(admission.wait)
        metrics.LIMITER_WAIT_SECONDS.inc(admission.wait)
        await asyncio.sleep(admission.wait)


async def _after_call(runner: Runner, estimated: int, used: int, error: LlmError | None) -> None:
    now = time.time()
    async with runner.db.unit_of_work() as uow:
        state = await store.locked_model_state(uow.conn, model=runner.model.model)
        if state is None:
            return
        state = model_limits.settle(state, runner.limits, estimated_tokens=estimated, used_tokens=used)
        if error is None:
            state = model_limits.after_success(state)
        else:
            state = model_limits.after_failure(
                state,
                runner.limits,
                now=now,
                retry_after=error.retry_after if error.error_class == "rate_limit" else None,
                endpoint_unwell=error.error_class in ("server", "timeout"),
            )
        await store.save_model_state(uow.conn, model=runner.model.model, state=state)


async def _completed(runner: Runner, task: LeasedTask, answer: _Answer) -> None:
    path = answer.cached_path or tenant_key(task.tenant_id, "llm", str(task.session_id), f"{task.id}.json")
    if answer.cached_path is None:
        document = {
            "task_id": str(task.id),
            "output": answer.output,
            "model": task.model,
            "usage": {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens},
            "prompt_hash": hashlib.sha256(task.prompt.encode()).hexdigest(),
            "provenance": answer.provenance,
        }
        await runner.objects.put(path, json.dumps(document, ensure_ascii=False).encode(), "application/json")
    cost = runner.cost(answer.prompt_tokens, answer.completion_tokens)
    now = datetime.now(UTC)
    async with runner.db.unit_of_work() as uow:
        finished = await store.complete_task(
            uow.conn,
            task,
            s3_output_path=path,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost=cost,
            cached=answer.cached_path is not None,
            now=now,
        )
        if not finished:
            return  # the lease ran out meanwhile: the task is another process's now
        if answer.calls:
            await _record_usage(
                uow.conn,
                task,
                answer.prompt_tokens,
                answer.completion_tokens,
                answer.calls,
                cost,
                "completed",
            )
        small = len(json.dumps(answer.output)) <= _MAX_EVENT_OUTPUT_BYTES
        await uow.outbox.publish(
            LlmTaskCompleted(
                tenant_id=task.tenant_id,
                job_id=task.job_id,
                run_id=task.run_id,
                task_id=task.id,
                session_id=task.session_id,
                model=task.model,
                s3_output_path=path,
                prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens,
                completed_at=now,
                request_id=task.request_id,
                kind=task.kind,
                document_id=task.document_id,
                product_hash=task.product_hash,
                query_name=task.query_name,
                cached=answer.cached_path is not None,
                output=answer.output if small else None,
            )
        )
    metrics.TASKS.labels(task.model, "completed").inc()
    metrics.TOKENS.labels(task.model, "prompt").inc(answer.prompt_tokens)
    metrics.TOKENS.labels(task.model, "completion").inc(answer.completion_tokens)


async def _failed(runner: Runner, task: LeasedTask, error: LlmError) -> None:
    delay = next_try_in(
        error,
        attempts=task.attempts,
        max_attempts=runner.settings.llm_max_attempts,
        base_seconds=runner.settings.llm_retry_seconds,
    )
    now = datetime.now(UTC)
    cost = runner.cost(error.prompt_tokens, error.completion_tokens)
    async with runner.db.unit_of_work() as uow:
        recorded = await store.fail_attempt(
            uow.conn,
            task,
            error_class=error.error_class,
            failure_status=failure_status(error.error_class),
            message=error.message[:2000],
            retry_at=None if delay is None else now + timedelta(seconds=delay),
            prompt_tokens=error.prompt_tokens,
            completion_tokens=error.completion_tokens,
            cost=cost,
        )
        if not recorded:
            return
        if error.calls:
            await _record_usage(
                uow.conn,
                task,
                error.prompt_tokens,
                error.completion_tokens,
                error.calls,
                cost,
                error.error_class,
            )
        if delay is None:
            await uow.outbox.publish(
                TaskFailed.now(
                    service="llm",
                    tenant_id=task.tenant_id,
                    task_kind=f"llm_{task.kind}",
                    error=f"{error.error_class}: {error.message}"[:2000],
                    attempts=task.attempts,
                    job_id=task.job_id,
                    run_id=task.run_id,
                    ids={
                        "task_id": str(task.id),
                        **({"request_id": str(task.request_id)} if task.request_id else {}),
                    },
                )
            )
    metrics.TASKS.labels(task.model, "failed" if delay is None else "retried").inc()


async def _record_usage(
    conn: Connection,
    task: LeasedTask,
    prompt_tokens: int,
    completion_tokens: int,
    calls: int,
    cost: float,
    outcome: str,
) -> None:
    await store.record_usage(
        conn,
        tenant_id=task.tenant_id,
        task_id=task.id,
        job_id=task.job_id,
        run_id=task.run_id,
        model=task.model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        calls=calls,
        cost=cost,
        outcome=outcome,
    )
