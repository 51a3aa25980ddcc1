//! Kafka consumer groups with real clients: three confluent-kafka consumers
//! share a topic's partitions and rebalance when one leaves; committed offsets
//! survive a `kill -9` and a new member resumes from them; static members
//! restart without a rebalance and a duplicate instance id fences the live
//! member; kcat's balanced
//! consumer joins and reads; another instance sees neither the group nor its
//! offsets.

use std::time::Duration;

use omnibus_tests::clients::{KafkaLogin, kcat};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

const TOPIC: &str = "events";
const GROUP: &str = "workers";

/// Runs one phase of `clients/kafka_group.py`; panics with its output unless it succeeds.
async fn group_phase(login: &KafkaLogin, phase: &str) {
    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/kafka_group.py");
    let run = tokio::process::Command::new(python)
        .arg(script)
        .args([&login.bootstrap, &login.username, &login.password, phase, TOPIC, GROUP])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("kafka_group.py {phase} timed out"))
        .expect("python runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && text.contains(&format!("kafka group {phase} ok")), "{phase}: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_groups_rebalance_commit_and_resume_after_restart() {
    let dir = temp_dir("omnibus-e2e-kafka-groups");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("groups@example.com", "Groups").await;
    let (_, credential) = api.instance_with_credential("groups").await;
    let alice = KafkaLogin::from_credential(omnibus.kafka, &credential);
    let mut other = Api::new(omnibus.base_url());
    other.signup("other-groups@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("groups").await;
    let bob = KafkaLogin::from_credential(omnibus.kafka, &other_credential);

    group_phase(&alice, "rebalance").await;
    omnibus.signal("KILL", Duration::from_secs(5));
    omnibus.restart();
    group_phase(&alice, "resume").await;
    group_phase(&alice, "static").await;
    group_phase(&bob, "isolated").await;

    // kcat's balanced consumer joins its own group and reads every record (10 + 2 + 1 per partition).
    let args = ["-X", "auto.offset.reset=earliest", "-c", "78", "-f", "%s\n", "-G", "kcat-group", TOPIC];
    let consumed = kcat(&alice, "SCRAM-SHA-256", &args, "").await;
    assert!(consumed.success, "{}", consumed.stderr);
    assert_eq!(consumed.stdout.lines().count(), 78, "{}", consumed.stdout);
    assert!(consumed.stdout.lines().any(|l| l == "after-5-0"), "{}", consumed.stdout);

    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
