CREATE TABLE crawl_runs (
    run_id        uuid PRIMARY KEY REFERENCES run_configs (run_id) ON DELETE CASCADE,
    tenant_id     uuid        NOT NULL,
    job_id        uuid        NOT NULL,
    status        text        NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    max_pages     integer     NOT NULL,
    max_depth     integer     NOT NULL,
    pages_crawled integer     NOT NULL DEFAULT 0,
    pages_total   integer     NOT NULL DEFAULT 0,
    current_depth integer     NOT NULL DEFAULT 0,
    error_count   integer     NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

CREATE TABLE frontier (
    id              bigserial PRIMARY KEY,
    run_id          uuid        NOT NULL REFERENCES crawl_runs (run_id) ON DELETE CASCADE,
    tenant_id       uuid        NOT NULL,
    url             text        NOT NULL,
    url_hash        text        NOT NULL,
    depth           integer     NOT NULL,
    state           text        NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'leased', 'fetched', 'skipped', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    discovered_from text,
    UNIQUE (run_id, url_hash)
);
CREATE INDEX frontier_ready_idx ON frontier (run_id, next_attempt_at) WHERE state = 'queued';
