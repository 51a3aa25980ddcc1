-- The failed-login records become the events of every rate limit kept in the
-- database (failed logins, mail requests), each kept until its own window
-- has passed: the bucket names the limit ('account:<email>',
-- 'reset-address:<ip>', ...). Rows from before have expires_at 0 and go with
-- the next cleanup.
ALTER TABLE login_failures RENAME TO rate_limit_events;
ALTER TABLE rate_limit_events ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX rate_limit_events_expires ON rate_limit_events (expires_at);
