-- The public API's tables: tenants, users, keys, projects, schemas, schedules, uploads,
-- usage, rate limits and the audit log; runs become startable by hand, by schedule or by upload.

CREATE TABLE tenants (
    id                  uuid PRIMARY KEY,
    name                text        NOT NULL,
    quota_pages_monthly bigint      NOT NULL,
    max_active_runs     integer     NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id         uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email      text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email)
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL DEFAULT '',
    prefix       text        NOT NULL,
    key_hash     bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL DEFAULT '{}',
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at DESC);

CREATE TABLE rate_buckets (
    key_id      uuid PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    tenant_id   uuid             NOT NULL,
    tokens      double precision NOT NULL,
    refilled_at timestamptz      NOT NULL
);

CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_tenant_idx ON projects (tenant_id, created_at DESC);

CREATE TABLE extractor_schemas (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid        NOT NULL,
    name               text        NOT NULL,
    version            text        NOT NULL,
    definition         jsonb       NOT NULL,
    strict_validation  boolean     NOT NULL DEFAULT false,
    allow_extra_fields boolean     NOT NULL DEFAULT true,
    is_public          boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name, version)
);
CREATE INDEX extractor_schemas_public_idx ON extractor_schemas (is_public) WHERE is_public;

ALTER TABLE jobs
    ADD COLUMN project_id          uuid REFERENCES projects (id) ON DELETE SET NULL,
    ADD COLUMN extractor_schema_id uuid REFERENCES extractor_schemas (id) ON DELETE SET NULL,
    ADD COLUMN schedule_cron       text,
    ADD COLUMN schedule_timezone   text,
    ADD COLUMN next_fire_at        timestamptz,
    ADD COLUMN idempotency_key     text,
    ADD CONSTRAINT jobs_one_per_key UNIQUE (tenant_id, idempotency_key);
CREATE INDEX jobs_due_idx ON jobs (next_fire_at) WHERE next_fire_at IS NOT NULL;

-- Upload runs have no job; a scheduled run remembers the fire it belongs to (one run per fire).
ALTER TABLE runs
    ALTER COLUMN job_id DROP NOT NULL,
    ADD COLUMN kind          text NOT NULL DEFAULT 'crawl' CHECK (kind IN ('crawl', 'upload')),
    ADD COLUMN trigger       text NOT NULL DEFAULT 'api' CHECK (trigger IN ('api', 'kafka', 'schedule', 'upload')),
    ADD COLUMN scheduled_for timestamptz,
    ADD CONSTRAINT runs_one_per_fire UNIQUE (job_id, scheduled_for);

ALTER TABLE run_progress
    ADD COLUMN pages_failed       bigint NOT NULL DEFAULT 0,
    ADD COLUMN pages_total        bigint NOT NULL DEFAULT 0,
    ADD COLUMN pages_published    bigint,
    ADD COLUMN documents_expected bigint,
    ADD COLUMN extractor_outcomes bigint NOT NULL DEFAULT 0,
    ADD COLUMN tokens             bigint NOT NULL DEFAULT 0,
    ADD COLUMN crawler_status     text;

CREATE TABLE uploads (
    document_id  uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    run_id       uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    filename     text        NOT NULL,
    content_type text        NOT NULL,
    s3_key       text        NOT NULL,
    size         bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_run_idx ON uploads (run_id);

CREATE TABLE usage (
    tenant_id     uuid   NOT NULL,
    period        date   NOT NULL,
    pages_fetched bigint NOT NULL DEFAULT 0,
    tokens        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, period)
);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    resource    text        NOT NULL,
    status      integer     NOT NULL,
    request_id  text        NOT NULL,
    ip          text,
    user_agent  text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, at DESC);
