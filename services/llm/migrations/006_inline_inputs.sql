-- Tasks over inputs their request carries (a run's items, search hits) need nothing new; a
-- keyword job's expansions are a kind of their own.
ALTER TABLE llm_tasks DROP CONSTRAINT llm_tasks_kind_check;
ALTER TABLE llm_tasks ADD CONSTRAINT llm_tasks_kind_check
    CHECK (kind IN ('query', 'schema_extraction', 'on_demand', 'keyword_expansion'));
