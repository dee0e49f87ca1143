-- Whether an instance is still running: when it reached a terminal state, and, on each row
-- that lets an agency see it, whether it is open, so that an agency's open instances are a
-- walk of one index however many it has closed.
ALTER TABLE instances ADD COLUMN closed_at BIGINT;
ALTER TABLE instance_agencies ADD COLUMN open BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX instance_agencies_open ON instance_agencies (agency_code, open, instance_id);

-- Work a migration leaves to the service, which knows the definitions (here: which instances
-- ended before this migration): done and removed in one transaction, tried again at every
-- start of the service until then.
CREATE TABLE pending_tasks (name TEXT PRIMARY KEY);
INSERT INTO pending_tasks (name) VALUES ('close_ended_instances');
