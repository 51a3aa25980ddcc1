//! Kafka clients on an instance: confluent-kafka (librdkafka 2.x) and kcat
//! (librdkafka 2.0, strict about ApiVersions) produce and consume over SASL
//! PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and another instance sees none of it.

use omnibus_tests::clients::{KafkaLogin, kafka_admin, kafka_roundtrip, kcat};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
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
async fn acknowledged_records_survive_kill_9() {
    use tokio::io::AsyncBufReadExt as _;

    let dir = temp_dir("omnibus-e2e-kafka-crash");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("crash@example.com", "Crash").await;
    let (_, credential) = api.instance_with_credential("crash").await;
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);

    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut producer = tokio::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/clients/kafka_crash_producer.py"))
        .args([&login.bootstrap, &login.username, &login.password, "crash", "8"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    let mut lines = tokio::io::BufReader::new(producer.stdout.take().unwrap()).lines();
    let mut acked: Vec<u64> = Vec::new();
    let mut killed = false;
    let mut done = false;
    while let Some(line) = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the producer keeps talking")
        .expect("read the producer")
    {
        if let Some(n) = line.strip_prefix("acked ") {
            acked.push(n.parse().unwrap());
        }
        done |= line.starts_with("done ");
        if !killed && acked.len() >= 2000 {
            omnibus.signal("KILL", std::time::Duration::from_secs(5));
            omnibus.restart();
            killed = true;
        }
    }
    assert!(done, "the producer did not finish");
    assert!(killed, "only {} records acknowledged before the deadline", acked.len());
    let acked_after_restart = acked.iter().filter(|&&n| n > acked[1999]).count();
    assert!(acked_after_restart > 0, "nothing was acknowledged after the restart");

    let read =
        kcat(&login, "PLAIN", &["-C", "-t", "crash", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"], "").await;
    assert!(read.success, "{}", read.stderr);
    let stored: Vec<u64> = read.stdout.lines().map(|l| l.parse().unwrap()).collect();
    let mut position = std::collections::HashMap::new();
    for (i, n) in stored.iter().enumerate() {
        assert!(position.insert(*n, i).is_none(), "record {n} stored twice");
    }
    let mut last = None;
    for n in &acked {
        let at = *position.get(n).unwrap_or_else(|| panic!("acknowledged record {n} was lost"));
        assert!(last.is_none_or(|l| at > l), "acknowledged record {n} out of order");
        last = Some(at);
    }
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
