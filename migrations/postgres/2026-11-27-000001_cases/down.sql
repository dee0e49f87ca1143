DROP TABLE case_stats;
DROP TABLE targets;
DROP TABLE payments;
DROP TABLE case_events;
DROP INDEX instances_by_case;
DROP TABLE cases;
