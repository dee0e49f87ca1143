-- A move of the running instances of one version of a workflow to another: the state mapping
-- asked for, who asked, and how far it has gone. Each instance moved records an event of its
-- own; this row lets a run interrupted by a crash go on from where it stopped.
CREATE TABLE instance_migrations (
    id TEXT PRIMARY KEY NOT NULL,
    workflow_id TEXT NOT NULL,
    from_version INTEGER NOT NULL,
    to_version INTEGER NOT NULL,
    states TEXT NOT NULL,
    actor_sub TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_agency TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    last_instance TEXT,
    moved BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0
);

-- The running instances of one version, in id order: what a run walks, a batch at a time.
CREATE INDEX instances_running_by_version ON instances (workflow_id, workflow_version, id)
    WHERE closed_at IS NULL;
