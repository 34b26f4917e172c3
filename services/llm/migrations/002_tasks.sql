-- LLM tasks (seed 000): a run's queries become tasks over its products; sessions group tasks
-- for listing and bulk retry; every failure is a failed_tasks row; every attempt a usage row;
-- the model's request and token buckets are shared by all llm processes.

ALTER TABLE queries
    ADD COLUMN query_type text    NOT NULL DEFAULT 'product',
    ADD COLUMN is_active  boolean NOT NULL DEFAULT true;

CREATE TABLE llm_sessions (
    id         uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL,
    -- No reference to run_configs: a task may be asked for before this service has seen the
    -- run's JobCreated (another topic); RunDeleted removes a run's sessions and tasks.
    run_id     uuid        NOT NULL,
    job_id     uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A run's default session: one per run.
CREATE UNIQUE INDEX llm_sessions_run_idx ON llm_sessions (run_id);
CREATE INDEX llm_sessions_tenant_idx ON llm_sessions (tenant_id, created_at DESC);

CREATE TABLE llm_tasks (
    id                uuid PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    session_id        uuid        NOT NULL REFERENCES llm_sessions (id) ON DELETE CASCADE,
    job_id            uuid,
    run_id            uuid        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('query', 'schema_extraction', 'on_demand')),
    -- What makes a task the same task: (run, query, product) or the request's id.
    dedupe_key        text        NOT NULL,
    query_id          uuid,
    query_name        text,
    product_hash      text,
    product_name      text,
    document_id       uuid,
    request_id        uuid,
    prompt            text        NOT NULL,
    output_schema     jsonb,
    input             jsonb       NOT NULL,
    input_hash        text        NOT NULL,
    model             text        NOT NULL,
    status            text        NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'running', 'completed', 'failed', 'retrying')),
    waiting_reason    text,
    s3_output_path    text,
    error_class       text,
    error_message     text,
    prompt_tokens     integer     NOT NULL DEFAULT 0,
    completion_tokens integer     NOT NULL DEFAULT 0,
    cost              numeric(14, 6) NOT NULL DEFAULT 0,
    attempts          integer     NOT NULL DEFAULT 0,
    cache_key         text        NOT NULL,
    cached            boolean     NOT NULL DEFAULT false,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    lease_id          uuid,
    leased_until      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX llm_tasks_due_idx ON llm_tasks (next_attempt_at) WHERE status IN ('pending', 'retrying', 'running');
CREATE INDEX llm_tasks_session_idx ON llm_tasks (session_id, status, created_at);
CREATE INDEX llm_tasks_cache_idx ON llm_tasks (tenant_id, cache_key) WHERE status = 'completed';
CREATE INDEX llm_tasks_run_idx ON llm_tasks (run_id);

CREATE TABLE failed_tasks (
    id            bigserial PRIMARY KEY,
    task_id       uuid        NOT NULL REFERENCES llm_tasks (id) ON DELETE CASCADE,
    tenant_id     uuid        NOT NULL,
    session_id    uuid        NOT NULL,
    job_id        uuid,
    query_id      uuid,
    model         text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('failed', 'timeout', 'error')),
    error_class   text        NOT NULL CHECK (error_class IN
                  ('rate_limit', 'context_length', 'validation', 'refusal', 'server', 'timeout', 'budget', 'client')),
    error_message text        NOT NULL,
    retry_count   integer     NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failed_tasks_task_idx ON failed_tasks (task_id);

-- One row per call attempt (failed attempts and re-asks included): what was spent.
CREATE TABLE llm_usage (
    id                bigserial PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    task_id           uuid        NOT NULL REFERENCES llm_tasks (id) ON DELETE CASCADE,
    job_id            uuid,
    run_id            uuid        NOT NULL,
    model             text        NOT NULL,
    prompt_tokens     integer     NOT NULL,
    completion_tokens integer     NOT NULL,
    calls             integer     NOT NULL,
    cost              numeric(14, 6) NOT NULL,
    outcome           text        NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_usage_job_idx ON llm_usage (job_id);

-- Per model, shared by every llm process: request and token buckets, and the circuit breaker.
CREATE TABLE model_limits (
    model          text PRIMARY KEY,
    requests       double precision NOT NULL,
    tokens         double precision NOT NULL,
    refilled_at    timestamptz      NOT NULL,
    failures       integer          NOT NULL DEFAULT 0,
    paused_until   timestamptz
);
