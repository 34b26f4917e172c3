-- The crawler's own counts, from its progress reports: pages fetched as it last reported them
-- (so progress keeps up with the crawl however far behind the PageFetched stream is), and
-- its URLs not fetched or not stored, by reason.
ALTER TABLE run_progress
    ADD COLUMN pages_reported bigint NOT NULL DEFAULT 0,
    ADD COLUMN refusals       jsonb  NOT NULL DEFAULT '{}'::jsonb;
