-- The exporter's read model, from events only, and the exports it makes from it.

-- Items: every field ItemExtracted carries; `seq` orders a run's rows for keyset pages.
ALTER TABLE export_items
    ADD COLUMN seq          bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN job_id       uuid,
    ADD COLUMN document_id  uuid,
    ADD COLUMN product_hash text,
    ADD COLUMN brand_name   text,
    ADD COLUMN changed      boolean,
    ADD COLUMN valid        boolean,
    ADD COLUMN kept         boolean NOT NULL DEFAULT true,
    ADD COLUMN errors       jsonb   NOT NULL DEFAULT '[]',
    -- as the event carries it: a real would export 0.9 as 0.8999999761581421
    ALTER COLUMN confidence TYPE double precision;
DROP INDEX export_items_run_idx;
CREATE UNIQUE INDEX export_items_run_seq_idx ON export_items (run_id, seq);
-- Products: the latest item of each product identity in a run.
CREATE INDEX export_items_products_idx
    ON export_items (run_id, (coalesce(product_hash, item_id::text)), seq DESC) WHERE kind = 'product';

-- Documents (ChunkIndexed): what a page or upload was, and where its Markdown is.
CREATE TABLE export_documents (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    document_id    uuid        NOT NULL,
    run_id         uuid        NOT NULL REFERENCES run_configs (run_id) ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL,
    job_id         uuid,
    url            text,
    title          text,
    document_type  text,
    metadata       jsonb       NOT NULL DEFAULT '{}',
    markdown_key   text,
    chunk_count    integer     NOT NULL,
    skipped        text,
    items_found    integer     NOT NULL DEFAULT 0,
    indexed_at     timestamptz NOT NULL,
    PRIMARY KEY (run_id, document_id)
);
CREATE UNIQUE INDEX export_documents_run_seq_idx ON export_documents (run_id, seq);

-- Images (ImageStored) and the verdicts of their validations (ImagesValidated), kept apart
-- because the two topics may deliver in either order; an export joins the latest verdict.
CREATE TABLE export_images (
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    image_key         text        NOT NULL,
    run_id            uuid        NOT NULL REFERENCES run_configs (run_id) ON DELETE CASCADE,
    tenant_id         uuid        NOT NULL,
    job_id            uuid,
    url               text        NOT NULL,
    page_url          text,
    alt_text          text,
    label             text,
    width             integer,
    height            integer,
    format            text,
    bytes             bigint      NOT NULL,
    sha256            text        NOT NULL,
    phash             text,
    exif_orientation  integer,
    decode_error      text,
    s3_key            text        NOT NULL,
    thumbnail_key     text,
    provenance        jsonb,
    stored_at         timestamptz NOT NULL,
    PRIMARY KEY (run_id, image_key)
);
CREATE UNIQUE INDEX export_images_run_seq_idx ON export_images (run_id, seq);

CREATE TABLE export_image_verdicts (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    run_id         uuid    NOT NULL REFERENCES run_configs (run_id) ON DELETE CASCADE,
    image_key      text    NOT NULL,
    validation_id  uuid    NOT NULL,
    valid          boolean NOT NULL,
    reasons        text[]  NOT NULL DEFAULT '{}',
    duplicate_of   text,
    PRIMARY KEY (run_id, image_key, validation_id)
);
CREATE INDEX export_image_verdicts_latest_idx ON export_image_verdicts (run_id, image_key, seq DESC);

-- Exports. No reference to run_configs: a deleted run's exports stay, marked deleted, until
-- the sweeper has removed their files.
CREATE TABLE exports (
    export_id         uuid PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    run_id            uuid        NOT NULL,
    job_id            uuid,
    dataset           text        NOT NULL,
    format            text        NOT NULL,
    options           jsonb       NOT NULL DEFAULT '{}',
    link_ttl_seconds  integer     NOT NULL,
    status            text        NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'completed', 'failed', 'expired', 'deleted')),
    rows_written      bigint      NOT NULL DEFAULT 0,
    rows_total        bigint,
    rows              bigint,
    file_size         bigint,
    s3_key            text,
    filename          text,
    attempts          integer     NOT NULL DEFAULT 0,
    lease_until       timestamptz,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    error_message     text,
    requested_at      timestamptz NOT NULL,
    started_at        timestamptz,
    completed_at      timestamptz,
    expires_at        timestamptz,
    deleted_at        timestamptz,
    file_deleted_at   timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exports_tenant_idx ON exports (tenant_id, requested_at DESC, export_id);
CREATE INDEX exports_waiting_idx ON exports (next_attempt_at) WHERE status IN ('queued', 'running');
CREATE INDEX exports_files_idx ON exports (expires_at)
    WHERE s3_key IS NOT NULL AND file_deleted_at IS NULL;
