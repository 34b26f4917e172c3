-- Projects (seed 004) get a status, the audit log the project a call concerned (the project's
-- activity feed), and validation jobs a read model fed by the crawler's ValidationProgressed.
ALTER TABLE projects
    ADD COLUMN status     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE audit_log ADD COLUMN project_id uuid;
CREATE INDEX audit_log_project_idx ON audit_log (tenant_id, project_id, at DESC) WHERE project_id IS NOT NULL;

CREATE TABLE validations (
    id            uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    run_id        uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    rules         jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'completed', 'failed')),
    total         integer     NOT NULL DEFAULT 0,
    validated     integer     NOT NULL DEFAULT 0,
    invalid       integer     NOT NULL DEFAULT 0,
    reasons       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error_message text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX validations_run_idx ON validations (tenant_id, run_id, created_at DESC);
