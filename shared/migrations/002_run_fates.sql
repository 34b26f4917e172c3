-- A run's cancellation or deletion, kept even when it arrives before the run's JobCreated (they
-- travel on other topics) and after the run's rows are gone, so that a late or replayed
-- JobCreated starts nothing.
CREATE TABLE run_fates (
    run_id     uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL,
    fate       text        NOT NULL CHECK (fate IN ('cancelled', 'deleted')),
    decided_at timestamptz NOT NULL DEFAULT now()
);
