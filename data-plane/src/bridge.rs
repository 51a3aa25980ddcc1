//! MQTT and Kafka on one instance: the instance's mappings carry messages
//! between the two protocols, through the same partition logs.
//!
//! - MQTT → Kafka ([`ToKafka`]): a message published with MQTT whose topic a
//!   mapping's filter matches is appended to the mapping's Kafka topic as one
//!   record — key: the MQTT topic, without the mapping's topic prefix when it
//!   starts with it; value: the payload; headers: `mqtt.qos`,
//!   when set `mqtt.retain`, then its MQTT 5 properties (`mqtt.content_type`,
//!   `mqtt.response_topic`, `mqtt.correlation_data`, and each user property
//!   under its own name) — in the partition Kafka's own partitioner
//!   picks for that key, so each MQTT topic stays in order. A mapping's Kafka
//!   topic is created (3 partitions) when the mapping is applied
//!   ([`ensure_topics`]) or, if deleted since, when next needed. A QoS 1 or
//!   2 publisher is acknowledged once the record is as durable as the plan
//!   says; QoS 0 never waits for the disk. Records are batched per partition
//!   (`appender`), so the log is not written one message at a time.
//! - Kafka → MQTT ([`ToMqtt`]): a record a Kafka client produces to a mapped
//!   topic is published with MQTT, at QoS 1, to the mapping's topic prefix
//!   followed by its key (a keyless record: to the prefix without a trailing
//!   `/`, when there is a prefix), when that is a valid topic name the
//!   mapping's filter matches; its headers
//!   become the message's properties the same way back (other headers are
//!   user properties, when their values are UTF-8). What the
//!   bridge itself wrote to Kafka is never sent back to MQTT, so mappings in
//!   both directions make no loop.
//!
//! Owns the record form and the rules above; routing inside MQTT is the hub's,
//! topics and logs are the catalog's, mappings are tenancy's.

mod appender;
mod partitioner;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::catalog::{Catalog, CatalogError, Topic, TopicConfig};
use crate::mqtt::codec::QoS;
use crate::mqtt::hub::Hub;
use crate::mqtt::message::{Message, Properties};
use crate::mqtt::topic;
use crate::tenancy::{Mapping, Tenancy};
use appender::{Appender, Pending};

/// Partitions of a Kafka topic the bridge creates for a mapping.
const MAPPED_TOPIC_PARTITIONS: i32 = 3;
/// Kafka batches waiting for MQTT delivery, per namespace, before producers wait.
const TO_MQTT_BACKLOG: usize = 1024;

/// Why a record did not reach its Kafka topic.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BridgeError {
    #[error("cannot create Kafka topic {topic:?} for a mapping: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("cannot append to Kafka topic {topic:?}: {reason}")]
    Append { topic: String, reason: String },
}

/// A wait for records the bridge appended; resolves once they are durable.
pub type Written = oneshot::Receiver<Result<(), BridgeError>>;

/// One partition of one namespace's topic.
type PartitionKey = (Arc<str>, uuid::Uuid, usize);
/// Produced batches of a Kafka topic (by name), on their way to MQTT.
type ToMqttQueue = mpsc::Sender<(String, Bytes)>;

/// Creates the Kafka topic of every mapping in `mappings` that has none yet
/// in `namespace`. Blocking.
pub fn ensure_topics(catalog: &Catalog, namespace: &str, mappings: &[Mapping]) -> Result<(), CatalogError> {
    for mapping in mappings {
        create_if_missing(catalog, namespace, &mapping.kafka_topic)?;
    }
    Ok(())
}

fn create_if_missing(catalog: &Catalog, namespace: &str, name: &str) -> Result<Arc<Topic>, CatalogError> {
    if let Some(topic) = catalog.topic(namespace, name) {
        return Ok(topic);
    }
    match catalog.create_topic(namespace, name, MAPPED_TOPIC_PARTITIONS, TopicConfig::default()) {
        Err(CatalogError::AlreadyExists) => catalog.topic(namespace, name).ok_or(CatalogError::NotFound),
        Ok(topic) => {
            info!(namespace, topic = name, "created the Kafka topic of an MQTT mapping");
            Ok(topic)
        }
        Err(e) => Err(e),
    }
}

/// MQTT → Kafka.
pub struct ToKafka {
    tenancy: Arc<Tenancy>,
    catalog: Arc<Catalog>,
    appenders: Mutex<HashMap<PartitionKey, Appender>>,
}

impl ToKafka {
    pub fn new(tenancy: Arc<Tenancy>, catalog: Arc<Catalog>) -> ToKafka {
        ToKafka { tenancy, catalog, appenders: Mutex::default() }
    }

    /// Appends `message` (published with MQTT in `namespace`) to the Kafka
    /// topic of every mapping that takes it; one wait per record, for those
    /// whose publisher waits (`wait`).
    pub async fn write(&self, namespace: &Arc<str>, message: &Message, wait: bool) -> Vec<Written> {
        let mappings = self.tenancy.mappings(namespace);
        let mut written = Vec::new();
        for mapping in mappings.iter().filter(|m| m.to_kafka() && topic::matches(&m.mqtt_filter, &message.topic)) {
            let topic = match self.topic(namespace, &mapping.kafka_topic).await {
                Ok(topic) => topic,
                Err(error) => {
                    warn!(%error, namespace = %namespace, "an MQTT message did not reach its mapped Kafka topic");
                    continue;
                }
            };
            let partition = partitioner::partition_for(message.topic.as_bytes(), topic.partitions.len());
            let (done, receiver) = if wait {
                let (sender, receiver) = oneshot::channel();
                (Some(sender), Some(receiver))
            } else {
                (None, None)
            };
            let record = Pending {
                key: Bytes::copy_from_slice(key_of(&message.topic, &mapping.mqtt_topic_prefix).as_bytes()),
                value: message.payload.clone(),
                qos: message.qos,
                retain: message.retain,
                headers: headers_of(message),
                done,
            };
            let appender = self.appender(namespace, &topic, partition);
            appender.send(record).await;
            written.extend(receiver);
        }
        written
    }

    /// Whether a message on MQTT `topic` would be written to a Kafka topic of
    /// the namespace while its logs hold its storage quota (then it is
    /// refused whole, MQTT delivery included).
    pub fn storage_full(&self, namespace: &str, topic: &str) -> bool {
        self.catalog.storage_full(namespace).is_some()
            && self.tenancy.mappings(namespace).iter().any(|m| m.to_kafka() && topic::matches(&m.mqtt_filter, topic))
    }

    /// The mapping's topic, created on first use.
    async fn topic(&self, namespace: &Arc<str>, name: &str) -> Result<Arc<Topic>, BridgeError> {
        if let Some(topic) = self.catalog.topic(namespace, name) {
            return Ok(topic);
        }
        let (catalog, ns, topic) = (self.catalog.clone(), namespace.clone(), name.to_string());
        let created = tokio::task::spawn_blocking(move || create_if_missing(&catalog, &ns, &topic)).await;
        let error = |reason: String| BridgeError::CreateTopic { topic: name.to_string(), reason };
        match created {
            Ok(Ok(topic)) => Ok(topic),
            Ok(Err(e)) => Err(error(e.to_string())),
            Err(e) => Err(error(e.to_string())),
        }
    }

    fn appender(&self, namespace: &Arc<str>, topic: &Topic, partition: usize) -> Appender {
        let mut appenders = self.appenders.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (namespace.clone(), topic.id, partition);
        if let Some(appender) = appenders.get(&key).filter(|a| !a.is_closed()) {
            return appender.clone();
        }
        let log = topic.partitions[partition].clone();
        let appender = Appender::spawn(topic.name.clone(), log);
        appenders.insert(key, appender.clone());
        appender
    }

    /// Forgets the namespace's appenders (its topics are being deleted).
    pub fn delete_namespace(&self, namespace: &str) {
        self.appenders.lock().unwrap_or_else(PoisonError::into_inner).retain(|(ns, _, _), _| ns.as_ref() != namespace);
    }
}

/// Kafka → MQTT.
pub struct ToMqtt {
    tenancy: Arc<Tenancy>,
    hub: Arc<Hub>,
    workers: Mutex<HashMap<Arc<str>, ToMqttQueue>>,
}

impl ToMqtt {
    pub fn new(tenancy: Arc<Tenancy>, hub: Arc<Hub>) -> ToMqtt {
        ToMqtt { tenancy, hub, workers: Mutex::default() }
    }

    /// Whether records of Kafka topic `topic` in `namespace` go to MQTT.
    pub fn wants(&self, namespace: &str, topic: &str) -> bool {
        self.tenancy.mappings(namespace).iter().any(|m| m.to_mqtt() && m.kafka_topic == topic)
    }

    /// Queues record batches a Kafka client produced to `topic` (and that are
    /// now stored) for delivery to MQTT, in order; waits while the
    /// namespace's backlog is full.
    pub async fn deliver(&self, namespace: &Arc<str>, topic: &str, batches: Bytes) {
        let sender = {
            let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
            workers.entry(namespace.clone()).or_insert_with(|| self.spawn_worker(namespace.clone())).clone()
        };
        if sender.send((topic.to_string(), batches)).await.is_err() {
            warn!(namespace = %namespace, topic, "the Kafka-to-MQTT worker has stopped");
        }
    }

    fn spawn_worker(&self, namespace: Arc<str>) -> ToMqttQueue {
        let (sender, mut receiver) = mpsc::channel::<(String, Bytes)>(TO_MQTT_BACKLOG);
        let (tenancy, hub) = (self.tenancy.clone(), self.hub.clone());
        tokio::spawn(async move {
            while let Some((topic, batches)) = receiver.recv().await {
                let routes: Vec<Route> = tenancy
                    .mappings(&namespace)
                    .iter()
                    .filter(|m| m.to_mqtt() && m.kafka_topic == topic)
                    .map(|m| Route { filter: m.mqtt_filter.clone(), prefix: m.mqtt_topic_prefix.clone() })
                    .collect();
                for message in messages(&topic, batches, &routes) {
                    if let Err(error) = hub.publish_from_kafka(&namespace, message).await {
                        warn!(%error, namespace = %namespace, topic, "a Kafka record did not reach MQTT");
                    }
                }
            }
        });
        sender
    }
}

/// Record header names of MQTT 5 properties other than user properties.
const CONTENT_TYPE: &str = "mqtt.content_type";
const RESPONSE_TOPIC: &str = "mqtt.response_topic";
const CORRELATION_DATA: &str = "mqtt.correlation_data";

/// The record headers of a message's MQTT 5 properties.
fn headers_of(message: &Message) -> Vec<(String, Bytes)> {
    let Some(p) = &message.properties else { return Vec::new() };
    let mut headers = Vec::new();
    if let Some(content_type) = &p.content_type {
        headers.push((CONTENT_TYPE.to_string(), Bytes::from(content_type.clone())));
    }
    if let Some(response_topic) = &p.response_topic {
        headers.push((RESPONSE_TOPIC.to_string(), Bytes::from(response_topic.clone())));
    }
    if let Some(correlation_data) = &p.correlation_data {
        headers.push((CORRELATION_DATA.to_string(), correlation_data.clone()));
    }
    headers.extend(p.user_properties.iter().map(|(name, value)| (name.clone(), Bytes::from(value.clone()))));
    headers
}

/// The MQTT 5 properties of a record's headers (the bridge's own `mqtt.qos`
/// and `mqtt.retain` left out).
fn properties_of(headers: &kafka_protocol::indexmap::IndexMap<StrBytes, Option<Bytes>>) -> Option<Arc<Properties>> {
    let mut properties = Properties::default();
    for (name, value) in headers {
        let Some(value) = value else { continue };
        let text = || std::str::from_utf8(value).ok().map(str::to_string);
        match name.as_str() {
            "mqtt.qos" | "mqtt.retain" => {}
            CONTENT_TYPE => properties.content_type = text(),
            RESPONSE_TOPIC => properties.response_topic = text().filter(|t| topic::validate_name(t).is_ok()),
            CORRELATION_DATA => properties.correlation_data = Some(value.clone()),
            other => properties.user_properties.extend(text().map(|v| (other.to_string(), v))),
        }
    }
    (properties != Properties::default()).then(|| Arc::new(properties))
}

/// The record key of an MQTT topic: the topic without `prefix`, when it
/// starts with it.
fn key_of<'a>(topic: &'a str, prefix: &str) -> &'a str {
    topic.strip_prefix(prefix).unwrap_or(topic)
}

/// Where records of a Kafka topic go in MQTT: `prefix` + key, if `filter`
/// matches it.
struct Route {
    filter: String,
    prefix: String,
}

impl Route {
    /// The MQTT topic of a record with `key`, if this route takes it.
    fn topic_for(&self, key: Option<&[u8]>) -> Option<String> {
        let name = match key {
            Some(key) => format!("{}{}", self.prefix, std::str::from_utf8(key).ok()?),
            None => self.prefix.strip_suffix('/').unwrap_or(&self.prefix).to_string(),
        };
        (topic::validate_name(&name).is_ok() && topic::matches(&self.filter, &name)).then_some(name)
    }
}

/// The MQTT messages of Kafka record `batches`: one per record and distinct
/// topic the `routes` give it.
fn messages(kafka_topic: &str, mut batches: Bytes, routes: &[Route]) -> Vec<Message> {
    let sets = match kafka_protocol::records::RecordBatchDecoder::decode_all(&mut batches) {
        Ok(sets) => sets,
        Err(error) => {
            warn!(kafka_topic, %error, "cannot read produced records for MQTT");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for record in sets.into_iter().flat_map(|set| set.records).filter(|r| !r.control) {
        let mut names: Vec<String> = routes.iter().filter_map(|r| r.topic_for(record.key.as_deref())).collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            continue;
        }
        let payload = record.value.clone().unwrap_or_default();
        let properties = properties_of(&record.headers);
        for name in names {
            out.push(
                Message::new(Arc::from(name), payload.clone(), QoS::AtLeastOnce, false)
                    .with_properties(properties.clone()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnibus_commit_log::{Record, encode_batch};

    #[test]
    fn records_become_messages_on_their_key_when_a_filter_matches() {
        let records = [
            Record { key: Some(b"sensors/a"), value: Some(b"21.5"), timestamp_delta: 0, headers: &[] },
            Record { key: Some(b"other/b"), value: Some(b"x"), timestamp_delta: 0, headers: &[] },
            Record { key: None, value: Some(b"no key"), timestamp_delta: 0, headers: &[] },
            Record { key: Some(b"sensors/+"), value: Some(b"not a name"), timestamp_delta: 0, headers: &[] },
            Record { key: Some(b"sensors/b"), value: None, timestamp_delta: 0, headers: &[] },
        ];
        let batch = encode_batch(&records, 0).unwrap();
        let two = Bytes::from([batch.clone(), batch].concat());
        let got = topics_and_payloads(messages("t", two, &[route("sensors/#", "")]));
        let expected = [("sensors/a", "21.5"), ("sensors/b", ""), ("sensors/a", "21.5"), ("sensors/b", "")]
            .map(|(t, p)| (t.to_string(), Bytes::from(p)));
        assert_eq!(got, expected);
        assert!(messages("t", Bytes::from_static(b"garbage"), &[route("#", "")]).is_empty());
    }

    fn route(filter: &str, prefix: &str) -> Route {
        Route { filter: filter.into(), prefix: prefix.into() }
    }

    fn topics_and_payloads(messages: Vec<Message>) -> Vec<(String, Bytes)> {
        messages.into_iter().map(|m| (m.topic.to_string(), m.payload)).collect()
    }

    #[test]
    fn a_topic_prefix_is_left_out_of_keys_and_put_back_on_the_way_to_mqtt() {
        assert_eq!(key_of("devices/42/temp", "devices/"), "42/temp");
        assert_eq!(key_of("devices/", "devices/"), "");
        assert_eq!(key_of("sensors/1", "devices/"), "sensors/1", "other topics keep their whole name");
        assert_eq!(key_of("devices/42", ""), "devices/42");
        let records = [
            Record { key: Some(b"42/cmd"), value: Some(b"stop"), timestamp_delta: 0, headers: &[] },
            Record { key: None, value: Some(b"all"), timestamp_delta: 0, headers: &[] },
            Record { key: Some(b""), value: Some(b"empty key"), timestamp_delta: 0, headers: &[] },
            Record { key: Some(b"+/cmd"), value: Some(b"wildcard"), timestamp_delta: 0, headers: &[] },
        ];
        let batch = encode_batch(&records, 0).unwrap();
        let got = topics_and_payloads(messages("t", batch.clone(), &[route("devices/#", "devices/")]));
        let expected = [("devices/42/cmd", "stop"), ("devices", "all"), ("devices/", "empty key")]
            .map(|(t, p)| (t.to_string(), Bytes::from(p)));
        assert_eq!(got, expected);
        // Two routes: each record once per distinct topic; the same topic twice is one message.
        let routes = [route("devices/#", "devices/"), route("#", "devices/"), route("+/cmd", "")];
        let got = topics_and_payloads(messages("t", batch, &routes));
        let expected = [("42/cmd", "stop"), ("devices/42/cmd", "stop"), ("devices", "all"), ("devices/", "empty key")]
            .map(|(t, p)| (t.to_string(), Bytes::from(p)));
        assert_eq!(got, expected);
    }

    #[test]
    fn mqtt_5_properties_travel_as_headers_and_back() {
        let properties = Properties {
            content_type: Some("application/json".into()),
            response_topic: Some("replies/1".into()),
            correlation_data: Some(Bytes::from_static(b"c-9")),
            user_properties: vec![("trace".into(), "t-1".into()), ("site".into(), "plant-2".into())],
            ..Properties::default()
        };
        let message = Message::new(Arc::from("sensors/a"), Bytes::from_static(b"1"), QoS::AtLeastOnce, false)
            .with_properties(Some(Arc::new(properties.clone())));
        let headers = headers_of(&message);
        assert_eq!(headers.len(), 5);
        let named: Vec<(&str, Option<&[u8]>)> =
            headers.iter().map(|(n, v)| (n.as_str(), Some(&v[..]))).chain([("mqtt.qos", Some(&b"1"[..]))]).collect();
        let record = Record { key: Some(b"sensors/a"), value: Some(b"1"), timestamp_delta: 0, headers: &named };
        let back = messages("t", encode_batch(&[record], 0).unwrap(), &[route("#", "")]);
        assert_eq!(
            back[0].properties.as_deref(),
            Some(&properties),
            "the bridge's own headers are not user properties"
        );
    }
}
