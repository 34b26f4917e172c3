CREATE TABLE jobs (
    id          uuid PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    kind        text        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    config      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id, created_at DESC);

CREATE TABLE runs (
    id              uuid PRIMARY KEY,
    tenant_id       uuid        NOT NULL,
    job_id          uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    submission_id   uuid,
    idempotency_key text,
    status          text        NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX runs_tenant_idx ON runs (tenant_id, created_at DESC);
CREATE INDEX runs_job_idx ON runs (job_id);

-- Read model of the other services' events (progress of a run).
CREATE TABLE run_progress (
    run_id            uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    tenant_id         uuid        NOT NULL,
    pages_fetched     bigint      NOT NULL DEFAULT 0,
    documents_indexed bigint      NOT NULL DEFAULT 0,
    chunks_indexed    bigint      NOT NULL DEFAULT 0,
    items_extracted   bigint      NOT NULL DEFAULT 0,
    llm_tasks_done    bigint      NOT NULL DEFAULT 0,
    errors            bigint      NOT NULL DEFAULT 0,
    parts_completed   text[]      NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rejected_submissions (
    submission_id uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    reasons       text[]      NOT NULL,
    rejected_at   timestamptz NOT NULL DEFAULT now()
);
