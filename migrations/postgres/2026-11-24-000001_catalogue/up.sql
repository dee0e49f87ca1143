-- Joint steps under way (transition -> signatures so far), as JSON; cleared when the state
-- changes.
ALTER TABLE instances ADD COLUMN pending TEXT NOT NULL DEFAULT '{}';

-- A follow-up instance names the instance and event that started it.
ALTER TABLE instances ADD COLUMN started_by_instance TEXT REFERENCES instances (id);
ALTER TABLE instances ADD COLUMN started_by_seq BIGINT;
CREATE INDEX instances_by_parent ON instances (started_by_instance);
