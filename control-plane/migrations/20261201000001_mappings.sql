-- MQTT↔Kafka mappings of instances: MQTT topics matching mqtt_filter and the
-- Kafka topic kafka_topic are joined in direction ('mqtt_to_kafka',
-- 'kafka_to_mqtt' or 'both'). At most one mapping per (filter, topic) pair.
CREATE TABLE mappings (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    mqtt_filter TEXT NOT NULL,
    kafka_topic TEXT NOT NULL,
    direction   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (instance_id, mqtt_filter, kafka_topic)
);

-- Every instance starts with the default mapping, MQTT `#` <-> Kafka `mqtt`;
-- those created before this migration get it here. No portable SQL makes a
-- UUIDv7, so each takes its instance's id (a UUIDv7, unique in this table as
-- there is one such row per instance) and its creation time.
INSERT INTO mappings (id, instance_id, mqtt_filter, kafka_topic, direction, created_at)
SELECT id, id, '#', 'mqtt', 'both', created_at FROM instances;
