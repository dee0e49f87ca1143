-- An enforcement report as published for a reporting year: the figures of the scope (an
-- office with those under it, or the whole country when scope is empty) and of each office,
-- who published them and when. Later changes to the records no longer rewrite them: the report
-- shows them, and beside them the difference the records make today.
CREATE TABLE published_reports (
    year INTEGER NOT NULL,
    scope TEXT NOT NULL,
    report TEXT NOT NULL,
    published_by_sub TEXT NOT NULL,
    published_by_name TEXT NOT NULL,
    published_by_agency TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (year, scope)
);

-- The changes to cases recorded after a publication: the cases behind a difference.
CREATE INDEX case_events_by_time ON case_events (occurred_at);
