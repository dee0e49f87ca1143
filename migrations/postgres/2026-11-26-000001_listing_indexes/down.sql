DROP INDEX webhook_deliveries_by_webhook_status;
DROP INDEX webhook_deliveries_by_webhook;
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, status);

DROP INDEX deadlines_by_due;
DROP INDEX deadlines_by_status_due;
CREATE INDEX deadlines_by_status_due ON deadlines (status, due_at);
