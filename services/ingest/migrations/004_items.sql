-- Items (products and schema records): found vs. kept (seed 001 items_found / items_extracted),
-- and how many the extractor announced in its outcome events, so a run completes only once
-- ingest has counted every ItemExtracted.
ALTER TABLE run_progress
    ADD COLUMN items_found     bigint NOT NULL DEFAULT 0,
    ADD COLUMN items_announced bigint NOT NULL DEFAULT 0;
