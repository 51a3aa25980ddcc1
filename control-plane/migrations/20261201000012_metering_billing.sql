-- Instances as billed: one row per stretch of an instance on one plan, kept
-- after the instance is gone. Opened when an instance is created or changes
-- plan; ended when it changes plan or is marked for deletion.
CREATE TABLE instance_periods (
    id              TEXT PRIMARY KEY,
    instance_id     TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    instance_name   TEXT NOT NULL,
    plan            TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    ended_at        BIGINT
);
CREATE INDEX instance_periods_organization ON instance_periods (organization_id, started_at);
CREATE INDEX instance_periods_instance ON instance_periods (instance_id, started_at);
INSERT INTO instance_periods (id, instance_id, organization_id, instance_name, plan, started_at, ended_at)
    SELECT id, id, organization_id, name, plan, created_at,
           CASE WHEN status = 'deleting' THEN updated_at ELSE NULL END
    FROM instances;

-- Usage records as the brokers sealed them, unique by (journal_id, seq): a
-- record read twice (a retry, two control planes) is stored once. The
-- organization and plan are the instance's when the record was stored (NULL
-- for a namespace no instance ever had: kept, never billed). invoice_id is set
-- when a finalized invoice bills the record; until then the next invoice does.
CREATE TABLE usage_records (
    journal_id           TEXT NOT NULL,
    seq                  BIGINT NOT NULL,
    broker_id            TEXT NOT NULL,
    instance_id          TEXT NOT NULL,
    organization_id      TEXT,
    plan                 TEXT,
    start_ms             BIGINT NOT NULL,
    end_ms               BIGINT NOT NULL,
    kafka_messages_in    BIGINT NOT NULL,
    kafka_bytes_in       BIGINT NOT NULL,
    kafka_messages_out   BIGINT NOT NULL,
    kafka_bytes_out      BIGINT NOT NULL,
    mqtt_messages_in     BIGINT NOT NULL,
    mqtt_bytes_in        BIGINT NOT NULL,
    mqtt_messages_out    BIGINT NOT NULL,
    mqtt_bytes_out       BIGINT NOT NULL,
    connection_seconds   BIGINT NOT NULL,
    storage_byte_seconds BIGINT NOT NULL,
    partition_seconds    BIGINT NOT NULL,
    ingested_at          BIGINT NOT NULL,
    invoice_id           TEXT,
    PRIMARY KEY (journal_id, seq)
);
CREATE INDEX usage_records_instance ON usage_records (instance_id, start_ms);
CREATE INDEX usage_records_organization ON usage_records (organization_id, start_ms);

-- The price book, versioned: a version takes effect at the start of a UTC
-- calendar month and is never changed, so an invoice always reads the prices
-- it was made with. `prices` is JSON (plans → base and per-unit prices in
-- millionths of the currency's minor unit, with free allowances).
CREATE TABLE price_books (
    version        BIGINT PRIMARY KEY,
    effective_from BIGINT NOT NULL UNIQUE,
    currency       TEXT NOT NULL,
    prices         TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- Finalized invoices, one per organization and calendar month, with their
-- lines (per instance, plan and dimension). Drafts are computed, not stored.
CREATE TABLE invoices (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations (id),
    period             TEXT NOT NULL,
    period_start       BIGINT NOT NULL,
    period_end         BIGINT NOT NULL,
    price_book_version BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    total              BIGINT NOT NULL,
    finalized_at       BIGINT NOT NULL,
    UNIQUE (organization_id, period)
);
CREATE TABLE invoice_lines (
    invoice_id    TEXT NOT NULL REFERENCES invoices (id),
    position      BIGINT NOT NULL,
    instance_id   TEXT NOT NULL,
    instance_name TEXT NOT NULL,
    plan          TEXT NOT NULL,
    dimension     TEXT NOT NULL,
    quantity      BIGINT NOT NULL,
    free_quantity BIGINT NOT NULL,
    unit          TEXT NOT NULL,
    unit_size     BIGINT NOT NULL,
    unit_price    BIGINT NOT NULL,
    amount        BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- Spend alerts: an organization's thresholds on a month's cost to date, and
-- the crossings recorded (once per alert and month).
CREATE TABLE spend_alerts (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    threshold       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (organization_id, threshold)
);
CREATE TABLE spend_alert_events (
    alert_id   TEXT NOT NULL REFERENCES spend_alerts (id) ON DELETE CASCADE,
    period     TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    crossed_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, period)
);
