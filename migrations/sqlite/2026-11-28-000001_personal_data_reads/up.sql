-- Every showing of a case's personal data to someone beyond the case's own office and court
-- (an auditor, an office above the case's), written in the request that showed it. Like the
-- histories, the database refuses to change or remove a record.

CREATE TABLE personal_data_reads (
    id            TEXT PRIMARY KEY NOT NULL,
    case_id       TEXT NOT NULL REFERENCES cases (id),
    read_at       BIGINT NOT NULL,
    reader_sub    TEXT NOT NULL,
    reader_name   TEXT NOT NULL,
    reader_agency TEXT NOT NULL,
    -- the roles the reader's token carried, comma-separated
    reader_roles  TEXT NOT NULL,
    -- the route that answered, such as 'GET /api/v1/cases/{id}'
    route         TEXT NOT NULL
);
CREATE INDEX personal_data_reads_by_case ON personal_data_reads (case_id, id);

CREATE TRIGGER personal_data_reads_no_update BEFORE UPDATE ON personal_data_reads
BEGIN
    SELECT RAISE(ABORT, 'personal data reads are append-only');
END;
CREATE TRIGGER personal_data_reads_no_delete BEFORE DELETE ON personal_data_reads
BEGIN
    SELECT RAISE(ABORT, 'personal data reads are append-only');
END;
