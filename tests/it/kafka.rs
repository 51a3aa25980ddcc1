//! Kafka clients on an instance: confluent-kafka (librdkafka 2.x) and kcat
//! (librdkafka 2.0, strict about ApiVersions) produce and consume over SASL
//! PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and another instance sees none of it.

use omnibus_tests::clients::{
    KafkaLogin, Login, kafka_acl, kafka_admin, kafka_quota, kafka_roundtrip, kafka_throttle, kcat,
};
use omnibus_tests::crash::{produce_through_kill_9, python_producer};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::{Api, override_quotas};
use omnibus_tests::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_clients_produce_and_consume_within_their_instance() {
    let dir = temp_dir("omnibus-e2e-kafka");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("stream@example.com", "Streams").await;
    let (instance, credential) = api.instance_with_credential("streams").await;
    assert_eq!(instance["endpoints"]["kafka"], format!("localhost:{}", omnibus.kafka.port()));
    let alice = KafkaLogin::from_credential(omnibus.kafka, &credential);

    let mut other = Api::new(omnibus.base_url());
    other.signup("other@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("streams").await;
    let bob = KafkaLogin::from_credential(omnibus.kafka, &other_credential);

    kafka_roundtrip(&alice, "SCRAM-SHA-256", "orders").await.expect("confluent-kafka roundtrip over SCRAM-SHA-256");
    kafka_roundtrip(&alice, "PLAIN", "payments").await.expect("confluent-kafka roundtrip over PLAIN");
    kafka_roundtrip(&alice, "SCRAM-SHA-512", "audit").await.expect("confluent-kafka roundtrip over SCRAM-SHA-512");
    kafka_admin(&alice, "managed").await.expect("topic administration with confluent-kafka's AdminClient");

    // kcat appends to the topic and reads everything back, keys included.
    let produced = kcat(&alice, "PLAIN", &["-P", "-t", "orders", "-p", "1", "-K", ":"], "k1:first\nk2:second\n").await;
    assert!(produced.success, "{}", produced.stderr);
    let consumed =
        kcat(&alice, "SCRAM-SHA-256", &["-C", "-t", "orders", "-p", "1", "-o", "-2", "-e", "-f", "%k=%s\n"], "").await;
    assert!(consumed.success, "{}", consumed.stderr);
    assert!(consumed.stdout.ends_with("k1=first\nk2=second\n"), "{}", consumed.stdout);
    let consumed =
        kcat(&alice, "SCRAM-SHA-512", &["-C", "-t", "orders", "-p", "1", "-o", "-2", "-e", "-f", "%k=%s\n"], "").await;
    assert!(consumed.success, "{}", consumed.stderr);
    assert!(consumed.stdout.ends_with("k1=first\nk2=second\n"), "{}", consumed.stdout);

    let listed = kcat(&alice, "PLAIN", &["-L", "-J"], "").await;
    assert!(listed.success, "{}", listed.stderr);
    assert!(listed.stdout.contains("\"orders\"") && listed.stdout.contains("\"payments\""), "{}", listed.stdout);

    // The other instance sees no topic of this one and cannot read it.
    let listed = kcat(&bob, "SCRAM-SHA-256", &["-L", "-J"], "").await;
    assert!(listed.success, "{}", listed.stderr);
    assert!(!listed.stdout.contains("orders") && !listed.stdout.contains("payments"), "{}", listed.stdout);
    let stolen = kcat(&bob, "PLAIN", &["-C", "-t", "orders", "-p", "1", "-o", "-2", "-e"], "").await;
    assert!(!stolen.stdout.contains("first"), "{}", stolen.stdout);

    // A wrong password gets nowhere, with any mechanism.
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let wrong = KafkaLogin { password: "wrong".into(), ..alice.clone() };
        let refused = kcat(&wrong, mechanism, &["-L", "-m", "5"], "").await;
        assert!(!refused.success, "{mechanism}: {}", refused.stdout);
        assert!(
            refused.stderr.contains("Authentication failed") || refused.stderr.contains("SASL"),
            "{}",
            refused.stderr
        );
    }
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_are_told_the_advertised_host_and_port() {
    let dir = temp_dir("omnibus-e2e-kafka-advertised");
    let env = [("OMNIBUS_ADVERTISED_HOST", "kafka.omnibus.test"), ("OMNIBUS_ADVERTISED_KAFKA_PORT", "19092")];
    let omnibus = Omnibus::start(&dir, &env);
    let mut api = Api::new(omnibus.base_url());
    api.signup("advertised@example.com", "Proxied").await;
    let (instance, credential) = api.instance_with_credential("proxied").await;
    assert_eq!(instance["endpoints"]["kafka"], "kafka.omnibus.test:19092");
    // Bootstrapping through the bound port, the client learns the advertised address.
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);
    let listed = kcat(&login, "PLAIN", &["-L", "-J"], "").await;
    assert!(listed.success, "{}", listed.stderr);
    let metadata: serde_json::Value = serde_json::from_str(&listed.stdout).expect("kcat -J prints JSON");
    assert_eq!(metadata["brokers"][0]["name"], "kafka.omnibus.test:19092", "{metadata}");
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_kill_9() {
    let dir = temp_dir("omnibus-e2e-kafka-crash");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("crash@example.com", "Crash").await;
    // The standard plan acknowledges only fsynced writes (the developer plan,
    // acknowledging from the page cache, goes through kill -9 in the
    // idempotent producer's test).
    let (_, credential) = api.instance_on_plan_with_credential("crash", "standard").await;
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);

    // Retries are off in this producer: a record is sent once, so a duplicate
    // could only come from the broker.
    let run = produce_through_kill_9(
        &mut omnibus,
        &login,
        python_producer("kafka_crash_producer.py", &login, "crash"),
        "crash",
    )
    .await;
    run.assert_acknowledged_stored_once_in_order();
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_acls_are_enforced_with_kafka_error_codes() {
    let dir = temp_dir("omnibus-e2e-kafka-acl");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("acl@example.com", "Acl").await;
    let (instance, admin) = api.instance_with_credential("acl").await;
    let acl = serde_json::json!({"name": "limited", "acl": [
        {"topic": "orders", "actions": ["produce", "consume"]},
        {"topic": "readers", "actions": ["group"]},
    ]});
    let limited = api.post(&format!("/v1/instances/{}/credentials", instance["id"].as_str().unwrap()), acl).await;
    let admin = KafkaLogin::from_credential(omnibus.kafka, &admin);
    let limited = KafkaLogin::from_credential(omnibus.kafka, &limited);
    kafka_acl(&admin, &limited).await.expect("ACL refusals with Kafka's error codes");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An instance's topic and partition quotas, as a stock Kafka admin client
/// meets them; another instance on the same broker is not held back by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_quotas_answer_policy_violation() {
    let dir = temp_dir("omnibus-e2e-kafka-quota");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("quota@example.com", "Quota").await;
    let (_, credential) = api.instance_with_credential("small").await;
    let (_, neighbour) = api.instance_with_credential("neighbour").await;
    kafka_quota(&KafkaLogin::from_credential(omnibus.kafka, &credential)).await.expect("quotas as Kafka answers them");
    let neighbour = KafkaLogin::from_credential(omnibus.kafka, &neighbour);
    kafka_roundtrip(&neighbour, "SCRAM-SHA-256", "orders").await.expect("the neighbour makes topics as usual");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The storage quota: once an instance's logs hold its max_storage_bytes,
/// Produce answers POLICY_VIOLATION and an MQTT 5 publish that would be
/// written to Kafka is refused with 0x97; what it frees makes room again, and
/// the instance beside it writes as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_refuses_writes_until_it_frees_storage() {
    let dir = temp_dir("omnibus-e2e-kafka-storage");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("storage@example.com", "Storage").await;
    let (small, credential) = api.instance_with_credential("small").await;
    let (_, neighbour) = api.instance_with_credential("neighbour").await;
    let quotas = override_quotas(&omnibus, &small, serde_json::json!({"max_storage_bytes": 20_000})).await;
    assert_eq!(quotas["effective_kafka"]["max_storage_bytes"], 20_000, "{quotas}");
    let id = small["id"].as_str().unwrap();
    api.post(&format!("/v1/instances/{id}/topics"), serde_json::json!({"name": "fill", "partitions": 1})).await;
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);
    let lines = |n: usize| (0..n).map(|i| format!("{i:0>500}\n")).collect::<String>();

    // 30 KB go in while the logs are measured below the quota.
    let filled = kcat(&login, "PLAIN", &["-P", "-t", "fill", "-p", "0"], &lines(60)).await;
    assert!(filled.success, "{}", filled.stderr);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let refused = kcat(&login, "PLAIN", &["-P", "-t", "fill", "-p", "0"], &lines(1)).await;
    assert!(refused.stderr.contains("Policy violation"), "produced past max_storage_bytes: {}", refused.stderr);
    let mqtt = Login::from_credential(omnibus.mqtt, &credential);
    let published = tokio::process::Command::new("mosquitto_pub")
        .args(mqtt.args())
        .args(["-V", "5", "-q", "1", "-t", "sensors/full", "-m", "reading"])
        .output()
        .await
        .expect("mosquitto_pub runs");
    let stderr = String::from_utf8_lossy(&published.stderr);
    assert!(stderr.contains("Quota exceeded"), "an MQTT publish bound for Kafka was taken: {stderr}");
    let read = kcat(&login, "PLAIN", &["-C", "-t", "fill", "-p", "0", "-o", "beginning", "-e", "-f", "x\n"], "").await;
    assert_eq!(read.stdout.lines().count(), 60, "only what was acknowledged is stored");
    let beside = KafkaLogin::from_credential(omnibus.kafka, &neighbour);
    kafka_roundtrip(&beside, "PLAIN", "orders").await.expect("the neighbour writes as usual");

    // Deleting the topic frees the storage: writes go in again.
    let (status, _) = api.call(reqwest::Method::DELETE, &format!("/v1/instances/{id}/topics/fill"), None).await;
    assert_eq!(status, 204);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let again = kcat(&login, "PLAIN", &["-P", "-t", "mqtt", "-p", "0"], &lines(1)).await;
    assert!(again.success && !again.stderr.contains("Policy violation"), "{}", again.stderr);
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Rate quotas: an instance held to 256 KiB/s in and 512 KiB/s out is told
/// `throttle_time_ms` and slowed to its rates, loses no record, and the
/// instance beside it on the same broker runs at full speed meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_quotas_throttle_with_throttle_time_and_lose_nothing() {
    let dir = temp_dir("omnibus-e2e-kafka-rates");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("rates@example.com", "Rates").await;
    let (slow, slow_credential) = api.instance_with_credential("slow").await;
    let (_, fast_credential) = api.instance_with_credential("fast").await;
    let overrides = serde_json::json!({"bytes_in_per_second": 262_144, "bytes_out_per_second": 524_288});
    override_quotas(&omnibus, &slow, overrides).await;

    let records = 1536; // 1.5 MiB of payload
    let slow = kafka_throttle(&KafkaLogin::from_credential(omnibus.kafka, &slow_credential), "metered", records).await;
    let fast = kafka_throttle(&KafkaLogin::from_credential(omnibus.kafka, &fast_credential), "metered", records).await;
    eprintln!("Kafka: held to 256 KiB/s in, 512 KiB/s out {slow}; beside it {fast}");
    for report in [&slow, &fast] {
        assert_eq!(report["delivered"], records, "every record acknowledged: {report}");
        assert_eq!(report["failed"], 0, "{report}");
        assert_eq!(report["consumed"], records, "every record consumed: {report}");
    }
    // 1.5 MiB at 256 KiB/s after a one-second burst: about 5 s; out at 512 KiB/s: about 2 s.
    let seconds = |report: &serde_json::Value, key: &str| report[key].as_f64().unwrap();
    assert!(seconds(&slow, "produce_seconds") > 3.5, "produce not held to its rate: {slow}");
    assert!(seconds(&slow, "consume_seconds") > 1.2, "fetch not held to its rate: {slow}");
    assert!(slow["produce_throttled"].as_u64().unwrap() > 0, "no throttle_time_ms on produce: {slow}");
    assert!(slow["fetch_throttled"].as_u64().unwrap() > 0, "no throttle_time_ms on fetch: {slow}");
    // The instance beside it is not held back.
    assert_eq!(fast["produce_throttled"], 0, "{fast}");
    assert!(seconds(&fast, "produce_seconds") < seconds(&slow, "produce_seconds") / 2.0, "{fast} vs {slow}");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
