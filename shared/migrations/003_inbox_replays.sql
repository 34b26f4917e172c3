-- Which replay of a dead-lettered event last ran (the dead letter's topic/partition@offset): a
-- replay redelivered after failing again is the same replay, and is not dead-lettered twice.
ALTER TABLE inbox ADD COLUMN replay_of text;
