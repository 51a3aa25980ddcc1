-- What was done through the API: every mutating call and every sign-in, with
-- who (`user:<id>`, `api_key:<id>` or `anonymous`), what (`METHOD /route`),
-- on what (the path, or the created resource), from where, under which request
-- id, and how it ended. organization_id is NULL for calls that named none (a
-- refused token); tenants see their organization's events only. Ids are
-- UUIDv7, so they sort by time.
CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    organization_id TEXT,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    source_address  TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    status          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX audit_events_organization ON audit_events (organization_id, id);
