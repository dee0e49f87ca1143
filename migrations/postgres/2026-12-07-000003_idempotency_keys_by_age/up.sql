-- Remembered answers are removed once their retention has passed: found by age.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
