-- LLM queries configured on a run (seed 000 `queries`); tasks come with the LLM issue.
CREATE TABLE queries (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id        uuid        NOT NULL REFERENCES run_configs (run_id) ON DELETE CASCADE,
    tenant_id     uuid        NOT NULL,
    name          text        NOT NULL,
    prompt        text        NOT NULL,
    output_schema jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, name)
);
