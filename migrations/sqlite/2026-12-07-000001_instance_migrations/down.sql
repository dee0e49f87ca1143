DROP INDEX instances_running_by_version;
DROP TABLE instance_migrations;
