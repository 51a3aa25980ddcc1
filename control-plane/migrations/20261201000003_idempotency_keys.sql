-- The first answer to each POST sent with an Idempotency-Key, so a retry gets
-- it again. Nothing here is readable without the key the client chose and the
-- server's secret: key_hash and request_hash are HMACs, and the answer (which
-- may hold a password or tokens shown once) is sealed with a key derived from
-- both. response is NULL while the first request is still running.
CREATE TABLE idempotency_keys (
    key_hash     TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    response     TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
