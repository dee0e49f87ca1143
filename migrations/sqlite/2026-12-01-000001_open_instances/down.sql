DROP TABLE pending_tasks;
DROP INDEX instance_agencies_open;
ALTER TABLE instance_agencies DROP COLUMN open;
ALTER TABLE instances DROP COLUMN closed_at;
