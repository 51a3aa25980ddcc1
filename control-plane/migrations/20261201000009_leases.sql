-- Leases that several control planes sharing the database take before work
-- only one may do at a time (a reconcile pass over an instance). A lease past
-- expires_at is free to take: its holder is presumed dead.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
