-- Portable between SQLite and PostgreSQL: TEXT ids (UUIDv7), BIGINT unix
-- milliseconds for times, no engine-specific types.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);

-- Refresh tokens are stored as SHA-256 digests; a family is one login's chain
-- of rotations, revoked whole when a used token comes back.
CREATE TABLE refresh_tokens (
    token_hash      TEXT PRIMARY KEY,
    family_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE instances (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    plan            TEXT NOT NULL,
    region          TEXT NOT NULL,
    status          TEXT NOT NULL,
    status_reason   TEXT,
    endpoints       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);

-- A credential's secret is kept only in its SCRAM-SHA-256 salted form.
CREATE TABLE credentials (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    username    TEXT NOT NULL UNIQUE,
    scram_salt        TEXT NOT NULL,
    scram_iterations  BIGINT NOT NULL,
    scram_stored_key  TEXT NOT NULL,
    scram_server_key  TEXT NOT NULL,
    acl         TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX credentials_instance ON credentials (instance_id);
