-- A user's on-demand tasks get a session of their own, next to the run's default session.
ALTER TABLE llm_sessions
    ADD COLUMN kind text NOT NULL DEFAULT 'run' CHECK (kind IN ('run', 'on_demand'));
DROP INDEX llm_sessions_run_idx;
CREATE UNIQUE INDEX llm_sessions_run_idx ON llm_sessions (run_id) WHERE kind = 'run';
