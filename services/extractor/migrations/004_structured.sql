-- Structured extraction (seeds 000, 001, 002): products with their identity and a price and
-- availability history, schema-defined records, the extractions made per document, and tags.

-- How many items a document yielded (its outcome event says so, for the run's count), and
-- where its main text is kept as Markdown (for exports and LLM tasks).
ALTER TABLE documents
    ADD COLUMN items_found     integer NOT NULL DEFAULT 0,
    ADD COLUMN items_extracted integer NOT NULL DEFAULT 0,
    ADD COLUMN markdown_key    text;

-- One row per product per tenant: its identity (strongest identifier present) and its latest
-- normalised fields; when it was first and last seen, by which job and run.
CREATE TABLE products (
    id               uuid PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    product_hash     text        NOT NULL,
    identity_basis   text        NOT NULL,  -- gtin | brand_mpn | brand_sku | url
    name             text,
    brand            text,
    brand_name       text,                  -- the job's brand (seed 000 brand jobs)
    product_data     jsonb       NOT NULL,
    confidence       real,
    first_scraped_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    first_job_id     uuid,
    first_run_id     uuid        NOT NULL,
    last_job_id      uuid,
    last_run_id      uuid        NOT NULL,
    CONSTRAINT products_identity UNIQUE (tenant_id, product_hash)
);
CREATE INDEX products_brand_idx ON products (tenant_id, lower(coalesce(brand_name, brand)));

-- One observation per product per run, whatever changed (`changed` says whether the price or
-- availability differs from the product's previous observation): a monitoring user asks both
-- "what did it cost on each run" and "when did it change".
CREATE TABLE product_observations (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    product_id    uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    job_id        uuid,
    run_id        uuid        NOT NULL,
    document_id   uuid        NOT NULL,
    item_id       uuid        NOT NULL UNIQUE,  -- the ItemExtracted's item id
    url           text,
    price         text,
    regular_price text,
    currency      text,
    availability  text,
    data          jsonb       NOT NULL,
    confidence    real,
    changed       boolean     NOT NULL,
    observed_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT observations_once_per_run UNIQUE (product_id, run_id)
);
CREATE INDEX product_observations_run_idx ON product_observations (tenant_id, run_id, id);

-- Schema-defined records (seed 001 results): one per page of a run whose job has a schema.
CREATE TABLE results (
    id               uuid PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    job_id           uuid,
    run_id           uuid        NOT NULL,
    document_id      uuid        NOT NULL,
    url              text,
    schema_id        uuid        NOT NULL,
    schema_version   text        NOT NULL,
    data             jsonb       NOT NULL,
    valid            boolean     NOT NULL,
    errors           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    kept             boolean     NOT NULL,  -- false: strict validation kept it out of the results
    content_hash     text        NOT NULL,
    confidence_score real,
    field_confidence jsonb       NOT NULL DEFAULT '{}'::jsonb,
    reused_from      uuid,                  -- an unchanged page's result of an earlier run
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT results_once_per_page UNIQUE (run_id, document_id)
);
CREATE INDEX results_run_idx ON results (tenant_id, run_id, created_at, id);
CREATE INDEX results_reuse_idx ON results (tenant_id, job_id, url, content_hash, schema_id, schema_version);

-- Per document, every extraction made (seed 002 content_extractions) and its tags.
CREATE TABLE content_extractions (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid        NOT NULL,
    run_id      uuid        NOT NULL,
    document_id uuid        NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('article_metadata', 'products', 'schema_record')),
    data        jsonb       NOT NULL,
    confidence  real,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_extractions_document_idx ON content_extractions (document_id);

CREATE TABLE tags (
    tenant_id   uuid NOT NULL,
    run_id      uuid NOT NULL,
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    name        text NOT NULL,
    value       text NOT NULL,
    source      text NOT NULL,
    PRIMARY KEY (document_id, name, value)
);
CREATE INDEX tags_lookup_idx ON tags (tenant_id, name, value);

-- Run deletion asks whether any document still points at an object.
CREATE INDEX documents_markdown_key_idx ON documents (markdown_key) WHERE markdown_key IS NOT NULL;
