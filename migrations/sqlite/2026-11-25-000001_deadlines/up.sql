-- Deadlines as rows, the reminders they schedule, the inbox they fill, and the webhooks
-- that carry notifications to the agencies' own systems. The effects outbox of the first
-- migration is replaced by these.

DROP TABLE outbox;

CREATE TABLE deadlines (
    id                 TEXT PRIMARY KEY NOT NULL,
    instance_id        TEXT NOT NULL REFERENCES instances (id),
    workflow_id        TEXT NOT NULL,
    name               TEXT NOT NULL,
    -- what a reminder says it is about: the workflow's title and the deadline's name
    title              TEXT NOT NULL,
    responsible_agency TEXT NOT NULL,
    -- ',role,role,' of who acts for the responsible agency ('' for everyone there)
    responsible_roles  TEXT NOT NULL,
    escalate_agency    TEXT,
    escalate_roles     TEXT NOT NULL,
    legal_basis        TEXT NOT NULL,
    unit               TEXT NOT NULL,
    duration           INTEGER NOT NULL,
    starts_at          BIGINT NOT NULL,
    due_at             BIGINT NOT NULL,
    due_date           TEXT NOT NULL,
    calendar_complete  BOOLEAN NOT NULL,
    -- open, suspended, met or missed
    status             TEXT NOT NULL,
    opened_seq         BIGINT NOT NULL,
    opened_at          BIGINT NOT NULL,
    closed_seq         BIGINT,
    closed_at          BIGINT,
    suspended_at       BIGINT
);
CREATE INDEX deadlines_by_status_due ON deadlines (status, due_at);
CREATE INDEX deadlines_by_agency ON deadlines (responsible_agency, status, due_at);
CREATE INDEX deadlines_by_instance ON deadlines (instance_id, name);

CREATE TABLE reminders (
    id           TEXT PRIMARY KEY NOT NULL,
    deadline_id  TEXT NOT NULL REFERENCES deadlines (id),
    -- before (working_days_before set), due, or escalation
    kind         TEXT NOT NULL,
    working_days_before INTEGER,
    fire_at      BIGINT NOT NULL,
    -- pending, sent or cancelled
    status       TEXT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    sent_at      BIGINT
);
-- The sweep reads only what is due: the pending reminders by fire time, and nothing of
-- the sent and cancelled ones, which outnumber them as the years go by.
CREATE INDEX reminders_due ON reminders (fire_at, lease_until) WHERE status = 'pending';
CREATE INDEX reminders_by_deadline ON reminders (deadline_id);

CREATE TABLE notifications (
    id           TEXT PRIMARY KEY NOT NULL,
    agency_code  TEXT NOT NULL,
    -- ',role,role,' of the roles it is for; '' for everyone of the agency
    roles        TEXT NOT NULL,
    -- step, reminder, due or escalation
    kind         TEXT NOT NULL,
    instance_id  TEXT,
    deadline_id  TEXT,
    reminder_id  TEXT UNIQUE,
    subject      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT,
    read_by      TEXT
);
CREATE INDEX notifications_inbox ON notifications (agency_code, id);
CREATE INDEX notifications_unread ON notifications (agency_code, read_at, id);

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY NOT NULL,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhooks_by_agency ON webhooks (agency_code);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id),
    notification_id TEXT NOT NULL REFERENCES notifications (id),
    body            TEXT NOT NULL,
    -- pending, delivered or failed
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    delivered_at    BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, lease_until)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, status);

-- Holiday years an admin added or replaced through the API; they override the file.
CREATE TABLE calendar_years (
    year        INTEGER PRIMARY KEY NOT NULL,
    data        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
