-- Standard Webhooks: after a rotation the previous secret still signs until its overlap ends.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_until BIGINT;
-- A delivery an admin sent again: who and when.
ALTER TABLE webhook_deliveries ADD COLUMN redelivered_at BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN redelivered_by TEXT;

-- A user's calendar feed: a URL holding a random secret (only its SHA-256 kept here) that
-- serves the coercion calendar as that user sees it, to calendar programs that send no header.
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    sub TEXT NOT NULL,
    name TEXT NOT NULL,
    agency_code TEXT NOT NULL,
    roles TEXT NOT NULL,
    feed_agency TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
-- At most one live feed a user.
CREATE UNIQUE INDEX calendar_feeds_live ON calendar_feeds (agency_code, sub) WHERE revoked_at IS NULL;
