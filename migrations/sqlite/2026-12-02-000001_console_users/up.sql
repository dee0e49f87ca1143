-- The people who sign in to the web console: each of one agency, with roles as the API's
-- tokens carry them, a password kept only as its argon2id hash, and the count of failed
-- sign-ins that locks the account for a while.
CREATE TABLE users (
    username        TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    agency_code     TEXT NOT NULL REFERENCES agencies (code),
    roles           TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX users_by_agency ON users (agency_code, username);

-- A signed-in session: the console's cookie names it, so signing out, disabling the user or
-- resetting the password ends it at once, whatever the cookie says.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (username),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT
);
CREATE INDEX sessions_by_user ON sessions (username, ended_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- What was done to each account and by whom: added, disabled, enabled, given a new password,
-- signed in, refused, locked. Append-only, for an inspection.
CREATE TABLE user_events (
    id       TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    action   TEXT NOT NULL,
    done_by  TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX user_events_by_user ON user_events (username, at);
CREATE INDEX user_events_by_time ON user_events (at);
CREATE TRIGGER user_events_no_update BEFORE UPDATE ON user_events
BEGIN
    SELECT RAISE(ABORT, 'user events are append-only');
END;
CREATE TRIGGER user_events_no_delete BEFORE DELETE ON user_events
BEGIN
    SELECT RAISE(ABORT, 'user events are append-only');
END;
