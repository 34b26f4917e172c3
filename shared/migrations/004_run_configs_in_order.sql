-- A run's configuration as JobCreated carried it: json keeps the order of an extractor schema's
-- properties (the columns of an export follow it), where jsonb would sort the keys.
ALTER TABLE run_configs ALTER COLUMN config TYPE json USING config::json;
