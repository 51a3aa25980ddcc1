-- Fleets: the broker fleets instances are placed on, several per region.
-- Fleets named in the configuration are declared again at every start;
-- platform operators register others through /v1/operator/fleets. A
-- `draining` fleet keeps its instances and takes no new ones.
CREATE TABLE fleets (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    region     TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    capacity   BIGINT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX fleets_region ON fleets (region, state);

-- The fleet an instance is placed on (NULL only for instances created before
-- fleets were rows; the control plane places those on their region's
-- configured fleet at start), and the quotas a platform operator set for it
-- over its plan's (JSON, NULL when none).
ALTER TABLE instances ADD COLUMN fleet_id TEXT REFERENCES fleets (id);
ALTER TABLE instances ADD COLUMN quota_overrides TEXT;
CREATE INDEX instances_fleet ON instances (fleet_id);

-- Platform operators run the service itself (fleets, quota overrides); they
-- are granted by `omnibus control-plane grant-operator`, never through the API
-- tenants use.
ALTER TABLE users ADD COLUMN platform_operator BIGINT NOT NULL DEFAULT 0;
