-- Documents and their ordered chunks (seed 003), with full-text vectors kept by triggers.
-- Postgres is the source of truth; Qdrant holds one point per chunk (point id = chunk id),
-- written by the indexer for chunks whose indexed_at is still NULL.

CREATE TABLE documents (
    id            uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    job_id        uuid,
    run_id        uuid        NOT NULL,
    source_type   text        NOT NULL CHECK (source_type IN ('crawl', 'upload', 'api')),
    url           text,
    url_hash      text,
    title         text        NOT NULL DEFAULT '',
    document_type text        NOT NULL,
    content_hash  text        NOT NULL,
    s3_key        text        NOT NULL,
    status        text        NOT NULL
                  CHECK (status IN ('indexing', 'indexed', 'skipped', 'failed')),
    skipped       text        CHECK (skipped IN ('unchanged', 'no_text', 'not_text')),
    error_message text,
    chunk_count   integer     NOT NULL DEFAULT 0,
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    search_vector tsvector,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    indexed_at    timestamptz
);
CREATE INDEX documents_run_idx ON documents (tenant_id, run_id);
CREATE INDEX documents_job_url_idx ON documents (tenant_id, job_id, url_hash) WHERE url_hash IS NOT NULL;
CREATE INDEX documents_indexing_idx ON documents (created_at) WHERE status = 'indexing';
CREATE INDEX documents_s3_key_idx ON documents (s3_key);
CREATE INDEX documents_search_vector_idx ON documents USING gin (search_vector);

CREATE FUNCTION documents_search_vector_update() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.url, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.metadata::text, '')), 'C');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER documents_search_vector_trigger
    BEFORE INSERT OR UPDATE OF title, url, metadata ON documents
    FOR EACH ROW EXECUTE FUNCTION documents_search_vector_update();

CREATE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER documents_updated_at BEFORE UPDATE ON documents
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE chunks (
    id            uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL,
    run_id        uuid        NOT NULL,
    document_id   uuid        NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index   integer     NOT NULL CHECK (chunk_index >= 0),
    text          text        NOT NULL,
    token_count   integer     NOT NULL CHECK (token_count >= 0),
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    search_vector tsvector,
    created_at    timestamptz NOT NULL DEFAULT now(),
    indexed_at    timestamptz,
    CONSTRAINT chunks_document_chunk_unique UNIQUE (document_id, chunk_index)
);
CREATE INDEX chunks_tenant_run_idx ON chunks (tenant_id, run_id);
CREATE INDEX chunks_pending_idx ON chunks (created_at) WHERE indexed_at IS NULL;
CREATE INDEX chunks_search_vector_idx ON chunks USING gin (search_vector);

CREATE FUNCTION chunks_search_vector_update() RETURNS trigger AS $$
BEGIN
    NEW.search_vector := to_tsvector('english', coalesce(NEW.text, ''));
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER chunks_search_vector_trigger
    BEFORE INSERT OR UPDATE OF text ON chunks
    FOR EACH ROW EXECUTE FUNCTION chunks_search_vector_update();

-- Run deletions still to be driven through Qdrant and S3 (the rows go first, in the
-- handler's transaction's wake); kept afterwards as a tombstone so late pages of a
-- deleted run are not indexed again.
CREATE TABLE run_deletions (
    run_id       uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    state        text        NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'rows_deleted', 'points_deleted', 'done')),
    object_keys  text[]      NOT NULL DEFAULT '{}',
    requested_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX run_deletions_pending_idx ON run_deletions (requested_at) WHERE state <> 'done';
