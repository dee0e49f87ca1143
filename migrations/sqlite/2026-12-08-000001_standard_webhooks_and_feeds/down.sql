DROP TABLE calendar_feeds;
ALTER TABLE webhook_deliveries DROP COLUMN redelivered_by;
ALTER TABLE webhook_deliveries DROP COLUMN redelivered_at;
ALTER TABLE webhooks DROP COLUMN previous_secret_until;
ALTER TABLE webhooks DROP COLUMN previous_secret;
