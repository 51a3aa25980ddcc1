-- The part of MQTT topics a mapping's Kafka side does not see ('' = none):
-- keys drop it on the way to Kafka, and records get it back on the way to MQTT.
ALTER TABLE mappings ADD COLUMN mqtt_topic_prefix TEXT NOT NULL DEFAULT '';
