-- A page is stored once per run under the URL it was finally fetched as: /docs redirecting to
-- /docs/, or a page whose rel=canonical names one fetched with the same bytes, is a duplicate.
ALTER TABLE pages ADD COLUMN final_url_hash text, ADD COLUMN canonical_hash text;
CREATE UNIQUE INDEX pages_final_url_idx ON pages (run_id, final_url_hash);
