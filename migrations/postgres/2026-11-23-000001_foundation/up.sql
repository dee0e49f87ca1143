-- Times are microseconds since the Unix epoch (UTC) in BIGINT columns, identical on both
-- backends; JSON documents are TEXT; ids are UUID strings.

CREATE TABLE agencies (
    code        TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    parent_code TEXT REFERENCES agencies (code),
    created_at  BIGINT NOT NULL
);

CREATE TABLE instances (
    id               TEXT PRIMARY KEY NOT NULL,
    workflow_id      TEXT NOT NULL,
    workflow_version INTEGER NOT NULL,
    state            TEXT NOT NULL,
    version          BIGINT NOT NULL,
    parties          TEXT NOT NULL,
    data             TEXT NOT NULL,
    case_id          TEXT,
    reference_date   TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    last_hash        TEXT NOT NULL
);
CREATE INDEX instances_by_workflow_state ON instances (workflow_id, state, id);

-- Which agencies may see an instance: one row per distinct party agency.
CREATE TABLE instance_agencies (
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    instance_id TEXT NOT NULL REFERENCES instances (id),
    PRIMARY KEY (agency_code, instance_id)
);

CREATE TABLE events (
    instance_id  TEXT NOT NULL REFERENCES instances (id),
    seq          BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    actor_sub    TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    actor_agency TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    transition   TEXT NOT NULL,
    from_state   TEXT,
    to_state     TEXT NOT NULL,
    data         TEXT NOT NULL,
    comment      TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);

-- The history is append-only: changing or removing an event is refused by the database
-- itself (and, should someone remove these guards, detected by verification).
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Effects decided by the engine, written with the event, carried out after commit.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY NOT NULL,
    instance_id  TEXT NOT NULL REFERENCES instances (id),
    event_seq    BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (processed_at, created_at);

CREATE TABLE idempotency_keys (
    subject     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (subject, key)
);
