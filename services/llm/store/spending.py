"""What calls cost (the usage ledger, a job's spend) and each model's shared limiter state."""

from __future__ import annotations

from uuid import UUID

from services.llm.domain.limits import ModelState
from shared.db import Connection


async def record_usage(
    conn: Connection,
    *,
    tenant_id: UUID,
    task_id: UUID,
    job_id: UUID | None,
    run_id: UUID,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    calls: int,
    cost: float,
    outcome: str,
) -> None:
    await conn.execute(
        """INSERT INTO llm_usage (tenant_id, task_id, job_id, run_id, model, prompt_tokens, completion_tokens,
                                  calls, cost, outcome)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        tenant_id,
        task_id,
        job_id,
        run_id,
        model,
        prompt_tokens,
        completion_tokens,
        calls,
        cost,
        outcome,
    )


async def job_spend(conn: Connection, *, job_id: UUID) -> tuple[int, float]:
    """Tokens and USD the job's tasks have spent, failed attempts included."""
    row = await conn.fetchrow(
        """SELECT COALESCE(sum(prompt_tokens + completion_tokens), 0) AS tokens,
                  COALESCE(sum(cost), 0) AS cost
             FROM llm_usage WHERE job_id = $1""",
        job_id,
    )
    assert row is not None  # an aggregate always answers one row
    return int(row["tokens"]), float(row["cost"])


async def locked_model_state(conn: Connection, *, model: str) -> ModelState | None:
    """The model's limiter state, locked until the transaction ends (None: never used)."""
    row = await conn.fetchrow(
        """SELECT requests, tokens, extract(epoch FROM refilled_at) AS refilled_at, failures,
                  extract(epoch FROM paused_until) AS paused_until
             FROM model_limits WHERE model = $1 FOR UPDATE""",
        model,
    )
    if row is None:
        return None
    paused = row["paused_until"]
    return ModelState(
        row["requests"],
        row["tokens"],
        float(row["refilled_at"]),
        row["failures"],
        float(paused) if paused else None,
    )


async def save_model_state(conn: Connection, *, model: str, state: ModelState) -> None:
    await conn.execute(
        """INSERT INTO model_limits (model, requests, tokens, refilled_at, failures, paused_until)
           VALUES ($1, $2, $3, to_timestamp($4), $5, to_timestamp($6))
           ON CONFLICT (model) DO UPDATE SET requests = EXCLUDED.requests, tokens = EXCLUDED.tokens,
               refilled_at = EXCLUDED.refilled_at, failures = EXCLUDED.failures,
               paused_until = EXCLUDED.paused_until""",
        model,
        state.requests,
        state.tokens,
        state.refilled_at,
        state.failures,
        state.paused_until,
    )
