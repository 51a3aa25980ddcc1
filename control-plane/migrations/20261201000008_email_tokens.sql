-- One-use tokens sent by email: `reset` sets a new password, `verify` proves
-- the user reads the address. Kept as SHA-256 digests; each expires.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
