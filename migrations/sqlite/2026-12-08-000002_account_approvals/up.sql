-- A password someone else set (an admin, the command line) must be changed by its user at the
-- next sign-in, so that no one acts as another unseen.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;

-- What one admin asked and another must approve: making an admin or an auditor, giving an
-- admin a new password.
CREATE TABLE account_requests (
    id TEXT PRIMARY KEY NOT NULL,
    action TEXT NOT NULL,
    username TEXT NOT NULL,
    payload TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    outcome TEXT
);
-- At most one request pending for an account.
CREATE UNIQUE INDEX account_requests_pending ON account_requests (username) WHERE outcome IS NULL;
