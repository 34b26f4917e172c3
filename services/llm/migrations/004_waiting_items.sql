-- Products announced for a run whose JobCreated this service has not seen yet (another topic,
-- consumed at its own pace): kept until the run's queries are known, then planned.
CREATE TABLE waiting_items (
    item_id    uuid PRIMARY KEY,
    run_id     uuid        NOT NULL,
    tenant_id  uuid        NOT NULL,
    event      json        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX waiting_items_run_idx ON waiting_items (run_id);
