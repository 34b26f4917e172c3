-- The exporter's own copy of the ItemExtracted stream, the rows of future exports.
CREATE TABLE export_items (
    item_id       uuid PRIMARY KEY,
    run_id        uuid        NOT NULL REFERENCES run_configs (run_id) ON DELETE CASCADE,
    tenant_id     uuid        NOT NULL,
    kind          text        NOT NULL,
    data          jsonb       NOT NULL,
    content_hash  text        NOT NULL,
    confidence    real,
    source_url    text,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX export_items_run_idx ON export_items (run_id, received_at);
