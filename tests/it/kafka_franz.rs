//! franz-go (kgo and kadm), a strict client that uses the newest version of
//! each API the broker advertises, through `tests/go/kafkacheck`: topic
//! administration, records with keys and headers through every codec, a
//! consumer group that commits and resumes after a `kill -9`, PLAIN and both
//! SCRAMs with right and wrong passwords; another instance's credential sees
//! none of it and is refused whatever it touches.

use std::collections::BTreeSet;
use std::time::Duration;

use omnibus_tests::clients::KafkaLogin;
use omnibus_tests::go::kafkacheck;
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;
use serde_json::{Value, json};

/// A broker and a credential of a fresh instance on it.
async fn instance(prefix: &str) -> (Omnibus, Api, KafkaLogin, std::path::PathBuf) {
    let dir = temp_dir(prefix);
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup(&format!("{prefix}@example.com"), "Franz").await;
    let (_, credential) = api.instance_with_credential("franz").await;
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);
    (omnibus, api, login, dir)
}

fn partitions(topic: &Value) -> Vec<i64> {
    topic["partitions"].as_array().expect("partitions").iter().map(|p| p.as_i64().expect("a partition")).collect()
}

/// The sum of a `{topic: {partition: offset}}` map's offsets for `topic`.
fn total(offsets: &Value, topic: &str) -> i64 {
    offsets[topic].as_object().map(|ps| ps.values().map(|o| o.as_i64().expect("an offset")).sum()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn franz_go_administers_topics_and_round_trips_every_codec() {
    let (omnibus, _api, alice, dir) = instance("omnibus-e2e-franz-admin").await;

    let admin = kafkacheck(&omnibus, &alice, "SCRAM-SHA-512", "admin", &["-topic", "orders"]).await;
    let created = &admin["created"];
    assert_eq!(created["error"], Value::Null, "{admin:#}");
    assert_eq!((created["partitions"].as_i64(), created["replication_factor"].as_i64()), (Some(3), Some(1)));
    assert_eq!(created["configs"]["retention.ms"], json!({"value": "3600000", "source": "DYNAMIC_TOPIC_CONFIG"}));
    let id = created["id"].as_str().expect("a topic id");
    assert_ne!(id, "AAAAAAAAAAAAAAAAAAAAAA==", "CreateTopics v7 answers the topic id: {admin:#}");
    assert_eq!(admin["created_again"]["code"], "TOPIC_ALREADY_EXISTS", "{admin:#}");

    let listed = &admin["listed"]["orders"];
    assert_eq!(listed["id"], id, "{admin:#}");
    assert_eq!(partitions(listed), [0, 1, 2], "{admin:#}");
    let leaders: BTreeSet<i64> = listed["leaders"].as_array().unwrap().iter().map(|l| l.as_i64().unwrap()).collect();
    assert!(leaders.len() == 1 && leaders.iter().all(|l| *l >= 0), "one broker leads every partition: {admin:#}");

    assert_eq!(admin["configs_error"], Value::Null, "{admin:#}");
    assert_eq!(admin["configs"]["retention.ms"]["value"], "3600000", "{admin:#}");
    assert_eq!(admin["configs"]["cleanup.policy"], json!({"value": "delete", "source": "DEFAULT_CONFIG"}));
    assert_eq!(admin["altered"], Value::Null, "{admin:#}");
    assert_eq!(admin["configs_altered"]["retention.ms"]["value"], "7200000", "{admin:#}");

    assert_eq!(admin["added_partitions"], Value::Null, "{admin:#}");
    assert_eq!(partitions(&admin["listed_grown"]["orders"]), [0, 1, 2, 3, 4], "{admin:#}");
    assert_eq!(admin["end_offsets"]["orders"], json!({"0": 0, "1": 0, "2": 0, "3": 0, "4": 0}), "{admin:#}");

    assert_eq!(admin["deleted"], Value::Null, "{admin:#}");
    assert!(admin["listed_deleted"].get("orders").is_none(), "{admin:#}");
    assert_eq!(admin["deleted_again"]["code"], "UNKNOWN_TOPIC_OR_PARTITION", "{admin:#}");

    // 40 keyed records with headers and a tombstone per codec, over two
    // partitions, read back in order and byte for byte, and still in the
    // codec's batches (Kafka's compression attribute: none 0 ... zstd 4).
    let codecs = kafkacheck(&omnibus, &alice, "PLAIN", "codecs", &["-topic", "codec", "-records", "40"]).await;
    for (codec, attribute) in [("none", 0), ("gzip", 1), ("snappy", 2), ("lz4", 3), ("zstd", 4)] {
        let result = &codecs[codec];
        assert_eq!(result["produced"], 41, "{codec}: {result:#}");
        assert_eq!(result["consumed"], 41, "{codec}: {result:#}");
        assert_eq!(result["mismatches"], json!([]), "{codec}: {result:#}");
        assert_eq!(result["compression"], json!([attribute]), "{codec}: {result:#}");
        assert_eq!(result["end_offsets"], json!({"0": 21, "1": 20}), "{codec}: {result:#}");
    }

    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn franz_go_group_resumes_from_its_commits_and_another_instance_sees_none_of_it() {
    let (mut omnibus, _api, alice, dir) = instance("omnibus-e2e-franz-group").await;
    let mut other = Api::new(omnibus.base_url());
    other.signup("other-franz@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("franz").await;
    let bob = KafkaLogin::from_credential(omnibus.kafka, &other_credential);
    let group = |tag: &'static str, produce: &'static str, consume: &'static str| {
        ["-topic", "events", "-group", "workers", "-tag", tag, "-produce", produce, "-consume", consume]
    };
    let values = |run: &Value| -> Vec<String> {
        run["consumed"].as_array().expect("consumed").iter().map(|r| r["value"].as_str().unwrap().into()).collect()
    };

    // 30 records on three partitions; the member reads and commits 20.
    let first = kafkacheck(&omnibus, &alice, "SCRAM-SHA-256", "group", &group("first", "30", "20")).await;
    let first_values = values(&first);
    assert_eq!(first_values.len(), 20, "{first:#}");
    assert_eq!(first_values.iter().collect::<BTreeSet<_>>().len(), 20, "no record twice: {first:#}");
    assert_eq!(total(&first["committed"], "events"), 20, "{first:#}");
    assert_eq!(first["fetched"], first["committed"], "OffsetFetch shows the commits: {first:#}");
    assert_eq!(first["listed"]["workers"], json!({"protocol_type": "consumer", "state": "Stable"}), "{first:#}");
    let described = &first["described"];
    assert_eq!(described["state"], "Stable", "{first:#}");
    assert_eq!(described["protocol_type"], "consumer", "{first:#}");
    assert_eq!(described["protocol"], "cooperative-sticky", "franz-go's default balancer: {first:#}");
    assert_eq!(
        described["members"],
        json!([{"client_id": "kafkacheck", "client_host": "/127.0.0.1", "assigned": {"events": [0, 1, 2]}}]),
        "{first:#}"
    );
    assert_eq!(total(&first["lag"], "events"), 10, "{first:#}");
    assert_eq!(first["described_after_leave"]["state"], "Empty", "{first:#}");
    assert_eq!(first["described_after_leave"]["members"], json!([]), "{first:#}");

    // The commits were on disk before they were acknowledged.
    omnibus.signal("KILL", Duration::from_secs(5));
    omnibus.restart();

    // 10 more; the next member starts where the first one committed.
    let second = kafkacheck(&omnibus, &alice, "SCRAM-SHA-512", "group", &group("second", "10", "20")).await;
    let second_values = values(&second);
    let read: BTreeSet<&String> = first_values.iter().chain(&second_values).collect();
    let written: Vec<String> =
        (0..30).map(|i| format!("first-{i}")).chain((0..10).map(|i| format!("second-{i}"))).collect();
    assert_eq!(read.len(), 40, "nothing read twice: {first:#} {second:#}");
    assert_eq!(read, written.iter().collect(), "{second:#}");
    assert_eq!(total(&second["committed"], "events"), 40, "{second:#}");
    assert_eq!(total(&second["fetched"], "events"), 40, "{second:#}");
    assert_eq!(total(&second["lag"], "events"), 0, "{second:#}");

    // Another instance: no topic, no group, and every touch is refused as
    // if the names did not exist (they do not, in its namespace).
    let seen = kafkacheck(&omnibus, &bob, "PLAIN", "isolation", &["-topic", "events", "-group", "workers"]).await;
    // Only its own `mqtt`, from its default MQTT mapping.
    assert_eq!(seen["topics"], json!(["mqtt"]), "{seen:#}");
    assert_eq!(seen["groups"], json!([]), "{seen:#}");
    assert_eq!(seen["described"]["state"], "Dead", "{seen:#}");
    assert_eq!(seen["described"]["members"], json!([]), "{seen:#}");
    assert_eq!(seen["fetched"], json!({}), "{seen:#}");
    for touch in
        ["metadata", "produced", "end_offsets", "raw_fetch", "raw_list_offsets", "committed", "configs", "deleted"]
    {
        let code = seen[touch]["code"].as_str().unwrap_or_default();
        assert!(
            ["UNKNOWN_TOPIC_OR_PARTITION", "TOPIC_AUTHORIZATION_FAILED"].contains(&code),
            "{touch} answered {code:?}: {seen:#}"
        );
    }

    // ... and the first instance's group and offsets are as they were.
    let after = kafkacheck(&omnibus, &alice, "PLAIN", "group", &group("none", "0", "0")).await;
    assert_eq!(total(&after["fetched"], "events"), 40, "{after:#}");
    assert_eq!(after["consumed"], json!([]), "{after:#}");

    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn franz_go_authenticates_with_every_mechanism_and_not_with_a_wrong_password() {
    let (omnibus, _api, alice, dir) = instance("omnibus-e2e-franz-auth").await;
    let auth = kafkacheck(&omnibus, &alice, "PLAIN", "auth", &[]).await;
    for mechanism in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        assert_eq!(auth["accepted"][mechanism], json!({"brokers": 1, "error": null}), "{auth:#}");
        for refused in ["wrong_password", "unknown_user"] {
            assert_eq!(auth[refused][mechanism]["error"]["code"], "SASL_AUTHENTICATION_FAILED", "{refused}: {auth:#}");
        }
    }
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
