-- Lists page by keyset in the order they are read: deadlines soonest due first (with or
-- without a status), a webhook's deliveries newest first (with or without a status).
DROP INDEX deadlines_by_status_due;
CREATE INDEX deadlines_by_status_due ON deadlines (status, due_at, id);
CREATE INDEX deadlines_by_due ON deadlines (due_at, id);

DROP INDEX webhook_deliveries_by_webhook;
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_webhook_status ON webhook_deliveries (webhook_id, status, id);
