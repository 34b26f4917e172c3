-- Every service keeps its own copy of the configuration of the runs it works on
-- (from JobCreated), since no service reads another's tables.
CREATE TABLE run_configs (
    run_id     uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL,
    job_id     uuid        NOT NULL,
    config     jsonb       NOT NULL,
    status     text        NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_configs_tenant_idx ON run_configs (tenant_id);
