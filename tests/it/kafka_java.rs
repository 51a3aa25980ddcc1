//! Apache Kafka's own Java client, through Kafka's command-line tools
//! (kafka-clients and kafka-tools 4.x from Maven Central): kafka-topics
//! creates, lists and describes topics, kafka-console-producer writes keyed
//! records (idempotent, the Java default, and not), kafka-console-consumer reads
//! them back in a consumer group, kafka-consumer-groups shows the committed
//! offsets, over SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; another instance
//! sees none of it.

use omnibus_tests::clients::{KafkaLogin, kcat};
use omnibus_tests::java::{CONSOLE_CONSUMER, CONSOLE_PRODUCER, CONSUMER_GROUPS, TOPICS, client_properties, kafka_tool};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_java_tools_work_within_their_instance() {
    let dir = temp_dir("omnibus-e2e-kafka-java");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("java@example.com", "Java").await;
    let (_, credential) = api.instance_with_credential("jvm").await;
    let alice = KafkaLogin::from_credential(omnibus.kafka, &credential);
    let mut other = Api::new(omnibus.base_url());
    other.signup("other-java@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("jvm").await;
    let bob = KafkaLogin::from_credential(omnibus.kafka, &other_credential);

    let file = |name: &str, login: &KafkaLogin, mechanism: &str| {
        client_properties(&dir, name, login, mechanism, &[]).to_str().expect("utf-8 path").to_string()
    };
    let plain = file("alice-plain.properties", &alice, "PLAIN");
    let scram256 = file("alice-scram-256.properties", &alice, "SCRAM-SHA-256");
    let scram512 = file("alice-scram-512.properties", &alice, "SCRAM-SHA-512");
    let bob512 = file("bob-scram-512.properties", &bob, "SCRAM-SHA-512");
    let wrong = KafkaLogin { password: "wrong".into(), ..alice.clone() };
    let wrong512 = file("wrong-scram-512.properties", &wrong, "SCRAM-SHA-512");
    let server = alice.bootstrap.as_str();
    let tool = |class: &'static str, config: &str, args: &[&str], input: &'static str| {
        let mut all = vec!["--bootstrap-server", server, "--command-config", config];
        all.extend_from_slice(args);
        let all: Vec<String> = all.into_iter().map(String::from).collect();
        async move {
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            kafka_tool(class, &args, input).await
        }
    };

    // kafka-topics --create, two topics at once.
    let (orders, receipts) = tokio::join!(
        tool(TOPICS, &scram512, &["--create", "--topic", "orders", "--partitions", "3"], ""),
        tool(TOPICS, &plain, &["--create", "--topic", "receipts", "--partitions", "1"], ""),
    );

    // --list and --describe.
    let (listed, described) = tokio::join!(
        tool(TOPICS, &scram256, &["--list"], ""),
        tool(TOPICS, &plain, &["--describe", "--topic", "orders"], ""),
    );
    assert!(listed.success, "{listed:?}");
    // `mqtt` is the instance's own, from its default MQTT mapping.
    assert_eq!(listed.stdout.lines().collect::<Vec<_>>(), ["mqtt", "orders", "receipts"], "{listed:?}");
    assert!(described.success, "{described:?}");
    assert!(described.stdout.contains("PartitionCount: 3"), "{described:?}");
    for partition in 0..3 {
        assert!(described.stdout.contains(&format!("Partition: {partition}\tLeader: ")), "{described:?}");
    }

    // kafka-console-producer: keyed lines, once without idempotence, once with
    // the Java default (enable.idempotence=true: InitProducerId, sequences).
    let keyed = ["--reader-property", "parse.key=true", "--reader-property", "key.separator=:"];
    let (plain_produced, idempotent_produced) = tokio::join!(
        tool(
            CONSOLE_PRODUCER,
            &plain,
            &[&["--topic", "orders", "--command-property", "enable.idempotence=false"][..], &keyed].concat(),
            "k1:one\nk2:two\nk3:three\nk4:four\nk5:five\nk6:six\n",
        ),
        tool(CONSOLE_PRODUCER, &scram512, &[&["--topic", "receipts"][..], &keyed].concat(), "r1:a\nr2:b\nr3:c\n"),
    );
    assert!(plain_produced.success, "{plain_produced:?}");
    assert!(idempotent_produced.success, "{idempotent_produced:?}");

    // kafka-console-consumer reads them back in a consumer group, and kcat
    // finds the idempotent producer's records stored once, in order.
    let (consumed, receipts_read) = tokio::join!(
        tool(
            CONSOLE_CONSUMER,
            &scram512,
            &[
                "--topic",
                "orders",
                "--group",
                "java-readers",
                "--from-beginning",
                "--max-messages",
                "6",
                "--timeout-ms",
                "30000",
                "--formatter-property",
                "print.key=true",
                "--formatter-property",
                "key.separator==",
            ],
            "",
        ),
        kcat(
            &alice,
            "SCRAM-SHA-256",
            &["-C", "-t", "receipts", "-p", "0", "-o", "beginning", "-e", "-f", "%k=%s\n"],
            ""
        ),
    );
    assert!(consumed.success, "{consumed:?}");
    let mut records: Vec<&str> = consumed.stdout.lines().collect();
    records.sort();
    assert_eq!(records, ["k1=one", "k2=two", "k3=three", "k4=four", "k5=five", "k6=six"], "{consumed:?}");
    assert!(consumed.stderr.contains("Processed a total of 6 messages"), "{consumed:?}");
    assert!(receipts_read.success, "{}", receipts_read.stderr);
    assert_eq!(receipts_read.stdout, "r1=a\nr2=b\nr3=c\n");

    // kafka-consumer-groups --describe: the group committed every offset; the
    // other instance lists no topic of this one; a wrong password gets nowhere.
    let (group, bob_listed, refused) = tokio::join!(
        tool(CONSUMER_GROUPS, &scram256, &["--describe", "--group", "java-readers"], ""),
        tool(TOPICS, &bob512, &["--list"], ""),
        tool(TOPICS, &wrong512, &["--list"], ""),
    );
    assert!(group.success, "{group:?}");
    let rows: Vec<Vec<&str>> = group
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|row| row.first() == Some(&"java-readers"))
        .collect();
    assert_eq!(rows.len(), 3, "one row per partition: {group:?}");
    let mut committed = 0;
    for row in &rows {
        // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
        assert_eq!(row[1], "orders", "{group:?}");
        assert_eq!(row[3], row[4], "everything read is committed: {group:?}");
        assert_eq!(row[5], "0", "{group:?}");
        committed += row[3].parse::<u32>().expect("an offset");
    }
    assert_eq!(committed, 6, "{group:?}");
    assert!(bob_listed.success, "{bob_listed:?}");
    assert_eq!(bob_listed.stdout.trim(), "mqtt", "only its own default-mapping topic: {bob_listed:?}");
    assert!(!refused.success, "{refused:?}");
    assert!(refused.stdout.contains("Authentication failed"), "{refused:?}");

    // Last, so that everything above runs whatever the outcome: the Java
    // AdminClient maps each config of a CreateTopics answer through
    // ConfigSource.forId, which refuses the unset -1 ("id should be positive").
    assert!(orders.success, "kafka-topics --create: {orders:?}");
    assert!(receipts.success, "kafka-topics --create: {receipts:?}");
    assert!(orders.stdout.contains("Created topic orders."), "{orders:?}");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
