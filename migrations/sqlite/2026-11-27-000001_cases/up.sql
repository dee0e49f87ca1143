-- Cases (việc thi hành án), the money they are owed and collected, the targets each office
-- is set, and the figures of the enforcement report kept up to date as cases change.
-- Money is an exact decimal string (VND) on both backends; dates are 'YYYY-MM-DD'.

CREATE TABLE cases (
    id              TEXT PRIMARY KEY NOT NULL,
    agency_code     TEXT NOT NULL REFERENCES agencies (code),
    number          TEXT NOT NULL,
    judgment_ref    TEXT NOT NULL,
    court_code      TEXT REFERENCES agencies (code),
    court_name      TEXT NOT NULL,
    category        TEXT NOT NULL,
    -- personal data (JSON): shown only to the case's office, its court and auditors
    obligor         TEXT NOT NULL,
    obligee         TEXT NOT NULL,
    amount_due      TEXT NOT NULL,
    collected       TEXT NOT NULL,
    received_on     TEXT NOT NULL,
    -- enforceable, not_yet_enforceable or unclassified
    classification  TEXT NOT NULL,
    -- open, suspended, completed, terminated or entrusted
    status          TEXT NOT NULL,
    closed_on       TEXT,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_hash       TEXT NOT NULL,
    UNIQUE (agency_code, number)
);
CREATE INDEX cases_by_received ON cases (agency_code, received_on);
CREATE INDEX cases_by_closed ON cases (agency_code, closed_on);
CREATE INDEX instances_by_case ON instances (case_id);

-- The history of a case, hash-chained like an instance's.
CREATE TABLE case_events (
    case_id      TEXT NOT NULL REFERENCES cases (id),
    seq          BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    actor_sub    TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    actor_agency TEXT NOT NULL,
    actor_role   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    data         TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- Money received for a case. A correction is a new entry with a negative amount that names
-- the entry it reverses; entries are never changed.
CREATE TABLE payments (
    id            TEXT PRIMARY KEY NOT NULL,
    case_id       TEXT NOT NULL REFERENCES cases (id),
    agency_code   TEXT NOT NULL,
    case_seq      BIGINT NOT NULL,
    amount        TEXT NOT NULL,
    paid_on       TEXT NOT NULL,
    method        TEXT NOT NULL,
    reverses      TEXT REFERENCES payments (id),
    instance_id   TEXT REFERENCES instances (id),
    instance_seq  BIGINT,
    note          TEXT,
    recorded_at   BIGINT NOT NULL,
    recorded_by   TEXT NOT NULL,
    UNIQUE (instance_id, instance_seq)
);
CREATE INDEX payments_by_case ON payments (case_id, paid_on);
CREATE INDEX payments_by_agency ON payments (agency_code, paid_on);
CREATE UNIQUE INDEX payments_reversed_once ON payments (reverses);

-- Targets (chỉ tiêu) as rates in percent, per office and reporting year.
CREATE TABLE targets (
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    year        INTEGER NOT NULL,
    cases_rate  TEXT NOT NULL,
    money_rate  TEXT NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      BIGINT NOT NULL,
    PRIMARY KEY (agency_code, year)
);

-- The enforcement figures by office, classification and period ('Y' a reporting year N,
-- 1 Oct N-1 to 30 Sep N; 'M' a month as YYYYMM; 'D' a day as YYYYMMDD): what was received,
-- closed and collected in it. Every change of a case moves its contribution here in the same transaction, so
-- a report reads a few rows per office instead of every case.
CREATE TABLE case_stats (
    agency_code      TEXT NOT NULL,
    classification   TEXT NOT NULL,
    period_kind      TEXT NOT NULL,
    period           INTEGER NOT NULL,
    received_cases   BIGINT NOT NULL,
    received_due     TEXT NOT NULL,
    closed_cases     BIGINT NOT NULL,
    completed_cases  BIGINT NOT NULL,
    terminated_cases BIGINT NOT NULL,
    entrusted_cases  BIGINT NOT NULL,
    closed_remaining TEXT NOT NULL,
    collected        TEXT NOT NULL,
    PRIMARY KEY (period_kind, period, agency_code, classification)
);

CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case events are append-only');
END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case events are append-only');
END;
CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only: record a reversing entry');
END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments are append-only: record a reversing entry');
END;
