-- The extractor's outcomes that were failures, so a run's completion can say how many
-- ChunkIndexed there were (the exporter waits for them before an automatic export).
ALTER TABLE run_progress ADD COLUMN extractor_failures bigint NOT NULL DEFAULT 0;
