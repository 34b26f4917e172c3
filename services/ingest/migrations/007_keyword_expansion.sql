-- A keyword run's expansions as the crawler reports them (state, why, the phrases per keyword).
ALTER TABLE run_progress ADD COLUMN keyword_expansion jsonb;
