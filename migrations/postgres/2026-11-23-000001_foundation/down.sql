DROP TABLE idempotency_keys;
DROP TABLE outbox;
DROP TABLE events;
DROP FUNCTION events_append_only();
DROP TABLE instance_agencies;
DROP TABLE instances;
DROP TABLE agencies;
