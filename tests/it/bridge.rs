//! MQTT and Kafka on one instance, through the default mapping (MQTT `#` ↔
//! Kafka topic `mqtt`): mosquitto_pub publishes and kcat reads the records
//! (key: the MQTT topic; header `mqtt.qos`), kcat produces a keyed record and
//! mosquitto_sub receives it on the topic its key names; a mapping created
//! through the REST API with a topic prefix leaves it out of keys and puts it
//! back on the way to MQTT; another instance reads none of it and its own
//! records reach only its own subscribers.

use std::time::Duration;

use omnibus_tests::clients::{KafkaLogin, Login, Subscriber, kcat, mosquitto_pub};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_and_kafka_meet_in_one_instance_and_nowhere_else() {
    let dir = temp_dir("omnibus-e2e-bridge");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("bridge@example.com", "Bridge").await;
    let (instance, credential) = api.instance_with_credential("plant").await;
    let (mqtt, kafka) =
        (Login::from_credential(omnibus.mqtt, &credential), KafkaLogin::from_credential(omnibus.kafka, &credential));
    let mut other = Api::new(omnibus.base_url());
    other.signup("other-bridge@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("plant").await;
    let (other_mqtt, other_kafka) = (
        Login::from_credential(omnibus.mqtt, &other_credential),
        KafkaLogin::from_credential(omnibus.kafka, &other_credential),
    );

    // MQTT in, Kafka out: each publish is a record keyed by its MQTT topic.
    assert!(mosquitto_pub(&mqtt, "sensors/line-1/temp", "21.5", 1).await.success);
    assert!(mosquitto_pub(&mqtt, "sensors/line-2/temp", "19.0", 0).await.success);
    let read = |login: &KafkaLogin, count: &str| {
        let login = login.clone();
        let count = count.to_string();
        async move {
            let args = ["-C", "-t", "mqtt", "-o", "beginning", "-c", &count, "-e", "-f", "%k=%s %h\n"];
            kcat(&login, "SCRAM-SHA-256", &args, "").await
        }
    };
    let consumed = read(&kafka, "2").await;
    assert!(consumed.success, "{}", consumed.stderr);
    let mut lines: Vec<&str> = consumed.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["sensors/line-1/temp=21.5 mqtt.qos=1", "sensors/line-2/temp=19.0 mqtt.qos=0"],
        "{}",
        consumed.stdout
    );

    // Kafka in, MQTT out: the record's key is the MQTT topic.
    let mut subscriber = Subscriber::start(&mqtt, "commands/#", 1).await;
    let mut other_subscriber = Subscriber::start(&other_mqtt, "#", 1).await;
    let produced = kcat(&kafka, "PLAIN", &["-P", "-t", "mqtt", "-K", ":"], "commands/line-1:stop\n").await;
    assert!(produced.success, "{}", produced.stderr);
    assert_eq!(subscriber.next_message(Duration::from_secs(10)).await.as_deref(), Some("commands/line-1 stop"));
    // ...and is not written back to Kafka a second time.
    let consumed = read(&kafka, "4").await;
    assert_eq!(consumed.stdout.lines().filter(|l| l.starts_with("commands/line-1=")).count(), 1, "{}", consumed.stdout);

    // A mapping with a topic prefix: Kafka keys leave it out, and records get it back.
    let mapping = api
        .post(
            &format!("/v1/instances/{}/mappings", instance["id"].as_str().unwrap()),
            serde_json::json!({"mqtt_filter": "devices/#", "kafka_topic": "devices", "mqtt_topic_prefix": "devices/"}),
        )
        .await;
    assert_eq!(mapping["mqtt_topic_prefix"], "devices/", "{mapping}");
    let mut device = Subscriber::start(&mqtt, "devices/+/cmd", 1).await;
    assert!(mosquitto_pub(&mqtt, "devices/42/temp", "30.1", 1).await.success);
    let args = ["-C", "-t", "devices", "-o", "beginning", "-c", "1", "-e", "-f", "%k=%s\n"];
    let consumed = kcat(&kafka, "SCRAM-SHA-256", &args, "").await;
    assert_eq!(consumed.stdout, "42/temp=30.1\n", "{}", consumed.stderr);
    let produced = kcat(&kafka, "PLAIN", &["-P", "-t", "devices", "-K", ":"], "42/cmd:reboot\n").await;
    assert!(produced.success, "{}", produced.stderr);
    assert_eq!(device.next_message(Duration::from_secs(10)).await.as_deref(), Some("devices/42/cmd reboot"));
    // The other instance has no `devices` topic.
    let theirs = kcat(&other_kafka, "PLAIN", &["-L", "-t", "devices"], "").await;
    assert!(theirs.stdout.contains("topic \"devices\" with 0 partitions"), "{}{}", theirs.stdout, theirs.stderr);

    // The other instance has its own `mqtt` topic, with only its own records.
    assert!(mosquitto_pub(&other_mqtt, "sensors/theirs", "7", 1).await.success);
    assert_eq!(other_subscriber.next_message(Duration::from_secs(10)).await.as_deref(), Some("sensors/theirs 7"));
    let theirs = read(&other_kafka, "1").await;
    assert!(theirs.success, "{}", theirs.stderr);
    assert_eq!(theirs.stdout, "sensors/theirs=7 mqtt.qos=1\n");
    // Its own Kafka record reaches its own subscriber, not this instance's.
    let produced = kcat(&other_kafka, "PLAIN", &["-P", "-t", "mqtt", "-K", ":"], "commands/line-1:theirs\n").await;
    assert!(produced.success, "{}", produced.stderr);
    assert_eq!(other_subscriber.next_message(Duration::from_secs(10)).await.as_deref(), Some("commands/line-1 theirs"));
    assert!(subscriber.next_message(Duration::from_millis(500)).await.is_none());

    subscriber.stop().await;
    device.stop().await;
    other_subscriber.stop().await;
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
