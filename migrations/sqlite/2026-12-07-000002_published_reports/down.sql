DROP INDEX case_events_by_time;
DROP TABLE published_reports;
