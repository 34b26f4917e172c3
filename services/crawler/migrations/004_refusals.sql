-- Why URLs were not fetched or not stored, counted per run for progress reports and listed
-- through the crawler's internal HTTP (ingest's GET /v1/runs/{id}/pages).
CREATE INDEX frontier_refused_idx ON frontier (run_id, reason) WHERE state IN ('failed', 'skipped');
CREATE INDEX frontier_run_id_idx ON frontier (run_id, id);
