-- A deleted run's stored outputs go with it, unless a task of another run (answered from the
-- cache) points at the same object: found by its path.
CREATE INDEX llm_tasks_output_idx ON llm_tasks (tenant_id, s3_output_path) WHERE s3_output_path IS NOT NULL;
