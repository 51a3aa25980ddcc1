//! The idempotent Kafka producer (KIP-98) across a broker crash: confluent-kafka
//! with `enable.idempotence` retries its in-flight batches after the broker is
//! killed and restarted, and the broker, having rebuilt each producer's
//! sequence state from the log, stores none of them twice.

use omnibus_tests::clients::KafkaLogin;
use omnibus_tests::crash::{produce_through_kill_9, python_producer};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_producer_retries_are_stored_once_across_kill_9() {
    let dir = temp_dir("omnibus-e2e-kafka-idempotent");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("idempotent@example.com", "Idempotent").await;
    // On the developer plan: acknowledged from the page cache, which a
    // process crash does not lose.
    let (_, credential) = api.instance_with_credential("idem").await;
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);

    let run =
        produce_through_kill_9(&mut omnibus, &login, python_producer("kafka_idempotent.py", &login, "idem"), "idem")
            .await;
    assert!(run.done.ends_with(" failed 0 unflushed 0"), "the idempotent producer lost records: {}", run.done);
    run.assert_acknowledged_stored_once_in_order();
    let stored = &run.stored;
    // Idempotence keeps the whole stream in order, not only the acknowledged part.
    assert!(stored.windows(2).all(|w| w[0] < w[1]), "records stored out of order");
    // Whether a retry reached the broker after the restart depends on timing; report it.
    let metrics = reqwest::get(format!("http://{}/metrics", omnibus.grpc)).await.unwrap().text().await.unwrap();
    let duplicates = metrics.lines().find(|l| l.starts_with("omnibus_kafka_duplicate_batches_total"));
    eprintln!("{} records stored; {}", stored.len(), duplicates.unwrap_or("no duplicate batches"));
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
