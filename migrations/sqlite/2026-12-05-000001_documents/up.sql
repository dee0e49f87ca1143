-- Documents uploaded to be handed over with a step: their bytes are kept content-addressed
-- (by SHA-256) in the documents store, this is what is known of each upload. A step that
-- names one takes it: the instance, event and field are set once, and never again.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    media_type  TEXT NOT NULL,
    name        TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    instance_id TEXT REFERENCES instances (id),
    seq         BIGINT,
    field       TEXT
);
-- The uploads no step has taken, oldest first, for their removal after a day.
CREATE INDEX documents_unused ON documents (uploaded_at) WHERE instance_id IS NULL;
-- Whether any upload still holds some bytes, before they are removed from the store.
CREATE INDEX documents_by_sha256 ON documents (sha256);
CREATE INDEX documents_by_instance ON documents (instance_id);
