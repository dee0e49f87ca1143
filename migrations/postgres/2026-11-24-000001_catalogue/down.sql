DROP INDEX instances_by_parent;
ALTER TABLE instances DROP COLUMN started_by_seq;
ALTER TABLE instances DROP COLUMN started_by_instance;
ALTER TABLE instances DROP COLUMN pending;
