//! Apache Kafka's Java client itself (kafka-clients 4.x, through
//! `tests/java/src/KafkaCheck.java`): every compression codec with keys and
//! headers; a consumer group of three that rebalances when one member leaves
//! and resumes from its committed offsets after every member (and the broker)
//! restarted; the idempotent producer across a `kill -9`; SASL PLAIN,
//! SCRAM-SHA-256 and SCRAM-SHA-512, wrong passwords refused; another
//! instance's credential can neither see nor touch any of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use omnibus_tests::clients::KafkaLogin;
use omnibus_tests::crash::{PRODUCE_SECONDS, produce_through_kill_9};
use omnibus_tests::java::{GroupMember, kafka_check, kafka_check_command};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// A broker in `dir` and the login of a credential of a new instance on it.
async fn start(dir: &Path, email: &str) -> (Omnibus, KafkaLogin) {
    let omnibus = Omnibus::start(dir, &[]);
    let login = login(&omnibus, email).await;
    (omnibus, login)
}

/// Signs `email` up, creates an instance and a credential for it.
async fn login(omnibus: &Omnibus, email: &str) -> KafkaLogin {
    let mut api = Api::new(omnibus.base_url());
    api.signup(email, email).await;
    let (_, credential) = api.instance_with_credential("java").await;
    KafkaLogin::from_credential(omnibus.kafka, &credential)
}

/// A record as a user sends and reads it.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    key: String,
    value: String,
    headers: Vec<(String, String)>,
}

impl Record {
    fn plain(key: &str, value: &str) -> Record {
        Record { key: key.into(), value: value.into(), headers: Vec::new() }
    }

    /// A line of KafkaCheck's `produce` input.
    fn line(&self, codec: &str, partition: i64) -> String {
        let mut line = format!("{codec}\t{partition}\t{}\t{}", self.key, self.value);
        for (name, value) in &self.headers {
            line.push_str(&format!("\t{name}={value}"));
        }
        line.push('\n');
        line
    }

    fn from_json(line: &Value) -> Record {
        let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("a string: {line}")).to_string();
        let headers = line["headers"].as_array().unwrap_or_else(|| panic!("headers: {line}"));
        Record {
            key: text(&line["key"]),
            value: text(&line["value"]),
            headers: headers.iter().map(|h| (text(&h[0]), text(&h[1]))).collect(),
        }
    }
}

/// Produces `records` (codec, partition, record) with KafkaCheck, in order;
/// panics unless every one is acknowledged. Returns the acknowledgements
/// (`{"acked": key, "codec", "partition", "offset"}`) in the order the
/// producer got them.
async fn produce(login: &KafkaLogin, mechanism: &str, topic: &str, records: &[(&str, i64, Record)]) -> Vec<Value> {
    let input: String = records.iter().map(|(codec, partition, record)| record.line(codec, *partition)).collect();
    let produced = kafka_check(login, mechanism, &["produce", topic], &input).await;
    let lines = produced.json_lines();
    let failed: Vec<&Value> = lines.iter().filter(|l| l.get("failed").is_some()).collect();
    assert!(failed.is_empty(), "records not acknowledged: {failed:?}");
    assert_eq!(lines.len(), records.len(), "one acknowledgement per record: {lines:?}");
    lines
}

/// Reads every partition of `topic` from the beginning with KafkaCheck:
/// partition -> [(offset, record)] in the order read, and the end offsets.
async fn read(login: &KafkaLogin, mechanism: &str, topic: &str) -> (BTreeMap<i64, Vec<(i64, Record)>>, Value) {
    let run = kafka_check(login, mechanism, &["read", topic], "").await;
    let mut lines = run.json_lines();
    let end = lines.pop().and_then(|l| l.get("end_offsets").cloned()).unwrap_or_else(|| panic!("{run:?}"));
    let mut read: BTreeMap<i64, Vec<(i64, Record)>> = BTreeMap::new();
    for line in &lines {
        let partition = line["partition"].as_i64().expect("partition");
        read.entry(partition).or_default().push((line["offset"].as_i64().expect("offset"), Record::from_json(line)));
    }
    (read, end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_round_trips_every_codec_with_keys_and_headers() {
    const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
    const PARTITIONS: i64 = 3;
    const PER_CODEC: i64 = 30;
    let dir = temp_dir("omnibus-e2e-java-codecs");
    let (omnibus, alice) = start(&dir, "codecs@example.com").await;

    let created = kafka_check(&alice, "SCRAM-SHA-256", &["create-topic", "mixed", "3"], "").await;
    assert_eq!(created.json_lines(), [json!({"created": "mixed"})]);

    // Compressible values with non-ASCII text; headers in order, one name
    // twice, one value empty.
    let mut records = Vec::new();
    for codec in CODECS {
        for i in 0..PER_CODEC {
            let mut headers = vec![("codec".to_string(), codec.to_string()), ("n".to_string(), i.to_string())];
            if i % 2 == 1 {
                headers.push(("trace".into(), "first".into()));
                headers.push(("trace".into(), "second".into()));
            }
            if i % 5 == 0 {
                headers.push(("empty".into(), String::new()));
            }
            let value = format!("{codec} record {i}: naïve café ☕ ").repeat(20);
            records.push((codec, i % PARTITIONS, Record { key: format!("{codec}-{i}"), value, headers }));
        }
    }
    let acks = produce(&alice, "PLAIN", "mixed", &records).await;

    // What each partition should hold, in the order sent.
    let mut expected: BTreeMap<i64, Vec<(i64, Record)>> = BTreeMap::new();
    for (_, partition, record) in &records {
        let stored = expected.entry(*partition).or_default();
        stored.push((stored.len() as i64, record.clone()));
    }
    // The producer was told those offsets, in that order.
    for (partition, stored) in &expected {
        let told: Vec<(i64, &str)> = acks
            .iter()
            .filter(|a| a["partition"] == *partition)
            .map(|a| (a["offset"].as_i64().expect("offset"), a["acked"].as_str().expect("key")))
            .collect();
        let sent: Vec<(i64, &str)> = stored.iter().map(|(offset, r)| (*offset, r.key.as_str())).collect();
        assert_eq!(told, sent, "acknowledged offsets of partition {partition}");
    }

    // Read back (assign, seek to the beginning) over another mechanism: every
    // record once, intact, in order.
    let (stored, end) = read(&alice, "SCRAM-SHA-512", "mixed").await;
    for (partition, want) in &expected {
        let got = stored.get(partition).map(Vec::as_slice).unwrap_or_default();
        for (i, (offset, record)) in want.iter().enumerate() {
            assert_eq!(got.get(i), Some(&(*offset, record.clone())), "partition {partition}, record {}", record.key);
        }
        assert_eq!(got.len(), want.len(), "partition {partition} holds more than was sent");
    }
    assert_eq!(end, json!({"0": 50, "1": 50, "2": 50}));
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the members of a group reported, as the test received it.
#[derive(Debug, Default)]
struct GroupView {
    /// Each member's partitions; None from a revocation to the next assignment.
    assigned: BTreeMap<String, Option<BTreeSet<i64>>>,
    /// (partition, offset) -> every (member, value) it was handed to, in order.
    consumed: BTreeMap<(i64, i64), Vec<(String, String)>>,
    /// The highest committed offset of each partition.
    committed: BTreeMap<i64, i64>,
    /// (member, partition, offset) of every commit that failed.
    commit_failures: Vec<(String, i64, i64)>,
}

impl GroupView {
    fn apply(&mut self, member: &str, event: &Value) {
        let partitions = |v: &Value| v.as_array().expect("partitions").iter().filter_map(Value::as_i64).collect();
        let pairs = |v: &Value| -> Vec<(i64, i64)> {
            v.as_array().expect("offsets").iter().map(|p| (p[0].as_i64().unwrap(), p[1].as_i64().unwrap())).collect()
        };
        if let Some(assigned) = event.get("assigned") {
            self.assigned.insert(member.into(), Some(partitions(assigned)));
        } else if event.get("revoked").is_some() || event.get("lost").is_some() {
            self.assigned.insert(member.into(), None);
        } else if let Some(value) = event.get("value") {
            let at = (event["partition"].as_i64().expect("partition"), event["offset"].as_i64().expect("offset"));
            self.consumed.entry(at).or_default().push((member.into(), value.as_str().expect("value").into()));
        } else if let Some(committed) = event.get("committed") {
            for (partition, offset) in pairs(committed) {
                let highest = self.committed.entry(partition).or_default();
                *highest = (*highest).max(offset);
            }
        } else if let Some(failed) = event.get("commit_failed") {
            eprintln!("{member}: commit failed: {event}");
            for (partition, offset) in pairs(failed) {
                self.commit_failures.push((member.into(), partition, offset));
            }
        } else {
            assert!(event.get("closed").is_some(), "{member}: unexpected {event}");
        }
    }

    /// `members` hold every partition of the topic between them, none twice,
    /// each at least one.
    fn balanced(&self, members: &[&str], partitions: i64) -> bool {
        let sets: Vec<&BTreeSet<i64>> =
            members.iter().filter_map(|m| self.assigned.get(*m).and_then(Option::as_ref)).collect();
        let union: BTreeSet<i64> = sets.iter().flat_map(|s| s.iter().copied()).collect();
        sets.len() == members.len()
            && sets.iter().all(|s| !s.is_empty())
            && sets.iter().map(|s| s.len()).sum::<usize>() == union.len()
            && union == (0..partitions).collect()
    }

    /// Every record of `produced` was handed to some member, intact.
    fn consumed_all(&self, produced: &BTreeMap<(i64, i64), String>) -> bool {
        produced.iter().all(|(at, value)| self.consumed.get(at).is_some_and(|c| c.iter().all(|(_, v)| v == value)))
    }

    fn committed_up_to(&self, offset: i64, partitions: i64) -> bool {
        (0..partitions).all(|p| self.committed.get(&p) == Some(&offset))
    }
}

/// The members' reports, applied to a view until `done` holds (at most 60 s).
struct Reports {
    events: mpsc::UnboundedReceiver<(String, Value)>,
    view: GroupView,
}

impl Reports {
    async fn until(&mut self, what: &str, done: impl Fn(&GroupView) -> bool) {
        let Reports { events, view } = self;
        let waited = tokio::time::timeout(Duration::from_secs(60), async {
            while !done(view) {
                let (member, event) = events.recv().await.expect("a member is running");
                view.apply(&member, &event);
            }
        })
        .await;
        assert!(waited.is_ok(), "timed out waiting for {what}: {view:#?}");
    }

    /// Applies what has arrived (after members exited).
    fn drain(&mut self) {
        while let Ok((member, event)) = self.events.try_recv() {
            self.view.apply(&member, &event);
        }
    }
}

/// Produces `per_partition` records `{prefix}-{partition}-{i}` to each
/// partition; returns (partition, offset) -> value.
async fn produce_numbered(
    login: &KafkaLogin,
    topic: &str,
    partitions: i64,
    prefix: &str,
    per_partition: i64,
) -> BTreeMap<(i64, i64), String> {
    let records: Vec<(&str, i64, Record)> = (0..partitions)
        .flat_map(|p| (0..per_partition).map(move |i| format!("{prefix}-{p}-{i}")).map(move |v| (p, v)))
        .map(|(p, v)| ("lz4", p, Record::plain(&v, &v)))
        .collect();
    let acks = produce(login, "PLAIN", topic, &records).await;
    acks.iter()
        .map(|a| {
            let at = (a["partition"].as_i64().expect("partition"), a["offset"].as_i64().expect("offset"));
            (at, a["acked"].as_str().expect("key").to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_consumer_group_rebalances_when_a_member_leaves_and_resumes_from_commits() {
    const TOPIC: &str = "events";
    const GROUP: &str = "workers";
    const PARTITIONS: i64 = 6;
    let dir = temp_dir("omnibus-e2e-java-group");
    let (mut omnibus, alice) = start(&dir, "group@example.com").await;
    let created = kafka_check(&alice, "SCRAM-SHA-256", &["create-topic", TOPIC, "6"], "").await;
    assert_eq!(created.json_lines(), [json!({"created": TOPIC})]);
    let (sender, events) = mpsc::unbounded_channel();
    let mut reports = Reports { events, view: GroupView::default() };
    let member = |name: &'static str| GroupMember::start(&alice, "SCRAM-SHA-256", TOPIC, GROUP, name, sender.clone());

    // Three members share the six partitions and consume what is produced.
    let (w0, w1, w2) = tokio::join!(member("w0"), member("w1"), member("w2"));
    reports.until("three members to share six partitions", |v| v.balanced(&["w0", "w1", "w2"], PARTITIONS)).await;
    let mut produced = produce_numbered(&alice, TOPIC, PARTITIONS, "first", 10).await;
    reports
        .until("the first 60 records, committed", |v| v.consumed_all(&produced) && v.committed_up_to(10, PARTITIONS))
        .await;
    for name in ["w0", "w1", "w2"] {
        let got = reports.view.consumed.values().filter(|c| c.iter().any(|(m, _)| m == name)).count();
        assert!(got > 0, "{name} consumed nothing: {:#?}", reports.view);
    }

    // One leaves; the other two take over its partitions and go on.
    let left = reports.view.assigned["w2"].clone().expect("w2 holds partitions");
    w2.leave().await;
    reports.drain();
    reports.until("two members to take all six partitions", |v| v.balanced(&["w0", "w1"], PARTITIONS)).await;
    let taken: BTreeSet<i64> = ["w0", "w1"].iter().flat_map(|m| reports.view.assigned[*m].clone().unwrap()).collect();
    assert!(left.is_subset(&taken), "w2's partitions {left:?} were not taken over: {:#?}", reports.view);
    produced.append(&mut produce_numbered(&alice, TOPIC, PARTITIONS, "second", 2).await);
    reports
        .until("12 more records after the rebalance, committed", |v| {
            v.consumed_all(&produced) && v.committed_up_to(12, PARTITIONS)
        })
        .await;

    // Every member leaves, the broker is killed and restarted; new members
    // resume from the committed offsets: they read the new records and none
    // of the old ones.
    tokio::join!(w0.leave(), w1.leave());
    reports.drain();
    omnibus.signal("KILL", Duration::from_secs(5));
    omnibus.restart();
    produced.append(&mut produce_numbered(&alice, TOPIC, PARTITIONS, "after", 1).await);
    let (r0, r1, r2) = tokio::join!(member("r0"), member("r1"), member("r2"));
    reports
        .until("three new members to share the partitions and read the new records", |v| {
            v.balanced(&["r0", "r1", "r2"], PARTITIONS) && v.consumed_all(&produced)
        })
        .await;
    tokio::join!(r0.leave(), r1.leave(), r2.leave());
    drop(sender);
    reports.drain();
    let view = &reports.view;
    // A partition is read in offset order, so an old record read again would
    // have come before the new one awaited above.
    let reread: Vec<_> = view
        .consumed
        .iter()
        .filter(|((_, offset), by)| *offset < 12 && by.iter().any(|(m, _)| m.starts_with('r')))
        .collect();
    assert!(reread.is_empty(), "records read again after resuming from committed offsets: {reread:?}");

    // No record was lost; one handed out twice is one its first reader could
    // not commit (at-least-once across a rebalance), and none was committed
    // and then delivered again.
    assert_eq!(view.consumed.len(), produced.len(), "{view:#?}");
    let twice: Vec<_> = view.consumed.iter().filter(|(_, by)| by.len() > 1).collect();
    for ((partition, offset), by) in &twice {
        let first = &by[0].0;
        let uncommitted = view.commit_failures.iter().any(|(m, p, o)| m == first && p == partition && o > offset);
        assert!(uncommitted, "record {partition}/{offset} was delivered again though {first} committed it: {by:?}");
    }
    eprintln!("{} records consumed, {} of them twice", view.consumed.len(), twice.len());

    // The Admin client sees the group's committed offsets at the end of each partition.
    let described = kafka_check(&alice, "SCRAM-SHA-512", &["describe", GROUP], "").await;
    let described = &described.json_lines()[0];
    let at_end: BTreeMap<String, i64> = (0..PARTITIONS).map(|p| (format!("{TOPIC}-{p}"), 13)).collect();
    assert_eq!(described["offsets"][GROUP], json!(at_end), "{described}");
    assert_eq!(described["groups"], json!([GROUP]), "{described}");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_idempotent_producer_stores_acknowledged_records_once_across_kill_9() {
    let dir = temp_dir("omnibus-e2e-java-idempotent");
    let (mut omnibus, alice) = start(&dir, "idempotent@example.com").await;
    let producer =
        kafka_check_command(&alice, "SCRAM-SHA-512", &["idempotent-producer", "idem", PRODUCE_SECONDS]).await;
    let run = produce_through_kill_9(&mut omnibus, &alice, producer, "idem").await;
    assert!(run.done.ends_with(" failed 0 unflushed 0"), "the idempotent producer lost records: {}", run.done);
    run.assert_acknowledged_stored_once_in_order();
    assert!(run.stored.windows(2).all(|w| w[0] < w[1]), "records stored out of order");
    // Whether a retry reached the broker after the restart depends on timing; report it.
    let metrics = reqwest::get(format!("http://{}/metrics", omnibus.grpc)).await.unwrap().text().await.unwrap();
    let duplicates = metrics.lines().find(|l| l.starts_with("omnibus_kafka_duplicate_batches_total"));
    eprintln!("{} records stored; {}", run.stored.len(), duplicates.unwrap_or("no duplicate batches"));
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_authenticates_refuses_wrong_passwords_and_keeps_instances_apart() {
    const TOPIC: &str = "orders";
    const GROUP: &str = "auditors";
    let dir = temp_dir("omnibus-e2e-java-auth");
    let (omnibus, alice) = start(&dir, "auth@example.com").await;
    let bob = login(&omnibus, "other-auth@example.com").await;

    // Alice's instance: a topic, four records, a group that committed them all.
    let created = kafka_check(&alice, "SCRAM-SHA-512", &["create-topic", TOPIC, "2"], "").await;
    assert_eq!(created.json_lines(), [json!({"created": TOPIC})]);
    let records: Vec<(&str, i64, Record)> =
        ["a0", "b0", "a1", "b1"].iter().enumerate().map(|(i, k)| ("none", i as i64 % 2, Record::plain(k, k))).collect();
    produce(&alice, "PLAIN", TOPIC, &records).await;
    let (sender, events) = mpsc::unbounded_channel();
    let mut reports = Reports { events, view: GroupView::default() };
    let auditor = GroupMember::start(&alice, "SCRAM-SHA-256", TOPIC, GROUP, "auditor", sender).await;
    reports.until("the auditor to commit everything", |v| v.committed_up_to(2, 2)).await;
    auditor.leave().await;
    let alice_sees = json!({
        // `mqtt` is the instance's own, from its default MQTT mapping.
        "topics": ["mqtt", TOPIC],
        "groups": [GROUP],
        "offsets": {GROUP: {"orders-0": 2, "orders-1": 2}},
    });

    // Every mechanism lets the credential in and sees the same; a wrong
    // password is refused by every one.
    let wrong = KafkaLogin { password: "wrong".into(), ..alice.clone() };
    let describe = |login: &KafkaLogin, mechanism: &'static str| {
        let login = login.clone();
        tokio::spawn(async move { kafka_check(&login, mechanism, &["describe", GROUP], "").await.json_lines() })
    };
    let runs: Vec<_> = MECHANISMS.iter().flat_map(|&m| [describe(&alice, m), describe(&wrong, m)]).collect();
    let mut outcomes = Vec::new();
    for run in runs {
        outcomes.push(run.await.expect("describe ran"));
    }
    for (mechanism, pair) in MECHANISMS.iter().zip(outcomes.chunks(2)) {
        assert_eq!(pair[0], std::slice::from_ref(&alice_sees), "{mechanism}");
        assert_eq!(
            pair[1][0]["error"], "SaslAuthenticationException",
            "{mechanism} with a wrong password: {:?}",
            pair[1]
        );
    }

    // Bob's credential, of another instance: sees no topic, group or offset
    // of Alice's, reads nothing, and every attempt to change them is answered
    // as if nothing by those names existed.
    let bob_sees = kafka_check(&bob, "SCRAM-SHA-256", &["describe", GROUP], "").await.json_lines();
    // Only its own `mqtt`, from its default MQTT mapping.
    assert_eq!(bob_sees, [json!({"topics": ["mqtt"], "groups": [], "offsets": {GROUP: {}}})]);
    let (bob_read, bob_end) = read(&bob, "SCRAM-SHA-512", TOPIC).await;
    assert!(bob_read.is_empty(), "{bob_read:?}");
    assert_eq!(bob_end, json!({}));
    let tampered = kafka_check(&bob, "PLAIN", &["tamper", TOPIC, GROUP], "").await.json_lines();
    let outcomes: BTreeMap<&str, &str> =
        tampered.iter().map(|t| (t["op"].as_str().unwrap(), t["outcome"].as_str().unwrap())).collect();
    eprintln!("bob's attempts: {tampered:?}");
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("delete-topic", "UnknownTopicOrPartitionException"),
            // The Admin client looks an unknown topic up again until its timeout.
            ("delete-records", "TimeoutException"),
            ("delete-group", "GroupIdNotFoundException"),
            ("reset-offsets", "UnknownTopicOrPartitionException"),
            ("produce", "TimeoutException"),
        ]),
        "{tampered:?}"
    );

    // Alice's instance is as it was.
    let after = kafka_check(&alice, "SCRAM-SHA-256", &["describe", GROUP], "").await.json_lines();
    assert_eq!(after, [alice_sees]);
    let (stored, end) = read(&alice, "PLAIN", TOPIC).await;
    let expected = BTreeMap::from([
        (0, vec![(0, Record::plain("a0", "a0")), (1, Record::plain("a1", "a1"))]),
        (1, vec![(0, Record::plain("b0", "b0")), (1, Record::plain("b1", "b1"))]),
    ]);
    assert_eq!(stored, expected);
    assert_eq!(end, json!({"0": 2, "1": 2}));
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
