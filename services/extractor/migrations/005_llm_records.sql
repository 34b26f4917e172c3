-- A record the llm service completed (a job's options.llm_extraction) says so.
ALTER TABLE results
    ADD COLUMN source text NOT NULL DEFAULT 'rules' CHECK (source IN ('rules', 'llm'));
