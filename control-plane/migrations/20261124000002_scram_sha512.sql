-- The SCRAM-SHA-512 form of a credential's secret, for Kafka SASL/SCRAM-SHA-512.
-- NULL (all four) for credentials created before this migration: their password
-- is gone, so the form cannot be derived, and that mechanism is refused to them.
ALTER TABLE credentials ADD COLUMN scram_sha512_salt TEXT;
ALTER TABLE credentials ADD COLUMN scram_sha512_iterations BIGINT;
ALTER TABLE credentials ADD COLUMN scram_sha512_stored_key TEXT;
ALTER TABLE credentials ADD COLUMN scram_sha512_server_key TEXT;
