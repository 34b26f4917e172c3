-- A run's rows are kept whatever order its events come in: an item or a document may be read
-- before the run's JobCreated (another topic), and upload runs have none. So rows no longer
-- hang off run_configs; a deleted run's rows are deleted with it, and none are added after.
ALTER TABLE export_items DROP CONSTRAINT export_items_run_id_fkey;
ALTER TABLE export_documents DROP CONSTRAINT export_documents_run_id_fkey;
ALTER TABLE export_images DROP CONSTRAINT export_images_run_id_fkey;
ALTER TABLE export_image_verdicts DROP CONSTRAINT export_image_verdicts_run_id_fkey;

-- LLM task outputs (LlmTaskCompleted): the output itself when the event carried it, else
-- read from S3 when exported. A retried task completes again in place.
CREATE TABLE export_llm_outputs (
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    task_id            uuid        NOT NULL,
    run_id             uuid        NOT NULL,
    tenant_id          uuid        NOT NULL,
    job_id             uuid,
    session_id         uuid,
    kind               text,
    query_name         text,
    model              text        NOT NULL,
    document_id        uuid,
    product_hash       text,
    s3_output_path     text        NOT NULL,
    output             jsonb,
    prompt_tokens      integer     NOT NULL DEFAULT 0,
    completion_tokens  integer     NOT NULL DEFAULT 0,
    cached             boolean     NOT NULL DEFAULT false,
    completed_at       timestamptz NOT NULL,
    PRIMARY KEY (run_id, task_id)
);
CREATE UNIQUE INDEX export_llm_outputs_run_seq_idx ON export_llm_outputs (run_id, seq);

-- What has arrived of each run, against what its completion said to expect: an automatic
-- export waits until its rows are all in (completion and rows come on different topics).
CREATE TABLE export_run_arrivals (
    run_id                   uuid PRIMARY KEY,
    tenant_id                uuid        NOT NULL,
    chunk_indexed            bigint      NOT NULL DEFAULT 0,
    completed_at             timestamptz,
    expected_chunk_indexed   bigint,
    expected_items           bigint,
    expected_images          bigint
);

-- Automatic exports wait for their run's rows before they are queued.
ALTER TABLE exports DROP CONSTRAINT exports_status_check;
ALTER TABLE exports ADD CONSTRAINT exports_status_check
    CHECK (status IN ('waiting', 'queued', 'running', 'completed', 'failed', 'expired', 'deleted'));
ALTER TABLE exports ADD COLUMN automatic boolean NOT NULL DEFAULT false,
                    ADD COLUMN note text;  -- e.g. an automatic export that stopped waiting for rows
CREATE INDEX exports_waiting_rows_idx ON exports (run_id) WHERE status = 'waiting';

-- An export of several files (split every N rows, or WebDataset shards): each file's name, key,
-- size and rows; s3_key and filename stay the first file's.
ALTER TABLE exports ADD COLUMN files jsonb NOT NULL DEFAULT '[]';

-- An export of a job covers the rows of every run of it the exporter knows (run_id is the
-- run it was asked from); products then are the latest of each across the runs.
ALTER TABLE exports ADD COLUMN scope text NOT NULL DEFAULT 'run' CHECK (scope IN ('run', 'job'));
