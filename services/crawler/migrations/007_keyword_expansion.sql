-- Keyword expansion: what became of a run's expansions (asked of the llm service, given by the
-- job, off, skipped, failed, timed out) and the phrases searched per keyword; each search made
-- for an expansion says which.
ALTER TABLE crawl_runs
    ADD COLUMN expansion_state        text CHECK (expansion_state IN
                                      ('requested', 'done', 'job', 'off', 'skipped', 'failed', 'timed_out')),
    ADD COLUMN expansion_note         text,
    ADD COLUMN expanded_keywords      jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN expansion_deadline     timestamptz;  -- a run waits for its expansions until then

ALTER TABLE keyword_searches ADD COLUMN expansion text;
