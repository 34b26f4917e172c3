-- Leases, kinds and outcomes for the frontier; pages, hosts and images (issue 3).

ALTER TABLE crawl_runs
    ADD COLUMN pages_failed     integer     NOT NULL DEFAULT 0,
    ADD COLUMN pages_skipped    integer     NOT NULL DEFAULT 0,
    ADD COLUMN pages_unchanged  integer     NOT NULL DEFAULT 0,
    ADD COLUMN images_stored    integer     NOT NULL DEFAULT 0,
    ADD COLUMN bytes_fetched    bigint      NOT NULL DEFAULT 0,
    ADD COLUMN progress_sent_at timestamptz;

ALTER TABLE frontier
    ADD COLUMN kind         text NOT NULL DEFAULT 'page' CHECK (kind IN ('page', 'sitemap', 'image')),
    ADD COLUMN host         text NOT NULL DEFAULT '',
    ADD COLUMN page_number  integer,          -- url_pattern pagination: which {page} this is
    ADD COLUMN lease_owner  uuid,
    ADD COLUMN leased_until timestamptz,
    ADD COLUMN status_code  integer,
    ADD COLUMN reason       text,             -- why skipped or failed
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();
CREATE INDEX frontier_leased_idx ON frontier (leased_until) WHERE state = 'leased';
CREATE INDEX frontier_leased_run_idx ON frontier (run_id, kind) WHERE state = 'leased';
CREATE INDEX frontier_open_idx ON frontier (run_id) WHERE state IN ('queued', 'leased');

-- One row per stored fetch; the raw bytes are at s3_key (content-addressed, written first).
CREATE TABLE pages (
    id            bigserial PRIMARY KEY,
    run_id        uuid        NOT NULL REFERENCES crawl_runs (run_id) ON DELETE CASCADE,
    tenant_id     uuid        NOT NULL,
    job_id        uuid        NOT NULL,
    url           text        NOT NULL,
    final_url     text        NOT NULL,
    url_hash      text        NOT NULL,
    status        integer     NOT NULL,
    content_type  text        NOT NULL,
    content_hash  text        NOT NULL,
    s3_key        text        NOT NULL,
    bytes         bigint      NOT NULL,
    etag          text,
    last_modified text,
    unchanged     boolean     NOT NULL DEFAULT false,
    depth         integer     NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, url_hash)
);
-- Recrawls look up the job's previous fetch of a URL (validators, content hash).
CREATE INDEX pages_job_url_idx ON pages (tenant_id, job_id, url_hash, fetched_at DESC);
CREATE INDEX pages_s3_key_idx ON pages (s3_key);

-- Politeness shared by every crawler replica: the robots cache and the next free time slot.
CREATE TABLE hosts (
    host              text PRIMARY KEY,
    robots_status     integer,
    robots_body       bytea,
    robots_fetched_at timestamptz,
    delay_seconds     double precision NOT NULL DEFAULT 0,
    next_fetch_at     timestamptz      NOT NULL DEFAULT now()
);

CREATE TABLE images (
    id          bigserial PRIMARY KEY,
    run_id      uuid    NOT NULL REFERENCES crawl_runs (run_id) ON DELETE CASCADE,
    tenant_id   uuid    NOT NULL,
    url         text    NOT NULL,
    url_hash    text    NOT NULL,
    page_url    text,
    width       integer,
    height      integer,
    format      text,
    bytes       bigint  NOT NULL DEFAULT 0,
    s3_key      text,
    skipped     text,             -- reason when not kept (too_small, format_not_allowed, not_an_image)
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, url_hash)
);
