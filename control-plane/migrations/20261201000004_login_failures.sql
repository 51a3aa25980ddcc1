-- Failed logins, one row each, per account ('account:<email>') and per source
-- address ('address:<ip>'), so the limits count exactly the last window and
-- hold across every control plane that shares the database. A bucket over its
-- limit gets no more rows (the login is refused before the password is checked).
CREATE TABLE login_failures (
    bucket TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX login_failures_bucket_at ON login_failures (bucket, at);
CREATE INDEX login_failures_at ON login_failures (at);
