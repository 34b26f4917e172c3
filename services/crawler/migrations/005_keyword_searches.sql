-- Keyword jobs: the searches a run makes (each keyword, each page of results), the provider's
-- answers cached for a day, its monthly usage, its pace and circuit breaker; and where each URL
-- of the frontier came from (the keyword, provider, rank and engine of the result that seeded it).
CREATE TABLE keyword_searches (
    id              bigserial PRIMARY KEY,
    run_id          uuid        NOT NULL REFERENCES crawl_runs (run_id) ON DELETE CASCADE,
    tenant_id       uuid        NOT NULL,
    keyword         text        NOT NULL,
    query           text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('web', 'images')),
    page            integer     NOT NULL,
    request         jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'leased', 'done', 'zero_results', 'failed')),
    lease_owner     uuid,
    leased_until    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    provider        text,
    results         integer     NOT NULL DEFAULT 0,
    from_cache      boolean     NOT NULL DEFAULT false,
    diagnostics     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, query, kind, page)
);
CREATE INDEX keyword_searches_due_idx ON keyword_searches (next_attempt_at) WHERE state = 'pending';
CREATE INDEX keyword_searches_open_idx ON keyword_searches (run_id) WHERE state IN ('pending', 'leased');

CREATE TABLE search_cache (
    provider   text        NOT NULL,
    cache_key  text        NOT NULL,
    answer     jsonb       NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (provider, cache_key)
);

CREATE TABLE search_usage (
    provider text    NOT NULL,
    month    date    NOT NULL,
    requests integer NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, month)
);

CREATE TABLE search_providers (
    provider        text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,  -- in a row; the breaker opens at a threshold
    open_until      timestamptz,
    next_request_at timestamptz NOT NULL DEFAULT now()  -- the provider's request rate, over all workers
);

ALTER TABLE frontier ADD COLUMN provenance jsonb;
