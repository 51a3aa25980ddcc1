//! Tiered storage on a real S3-compatible server (moto's): a topic with
//! `remote.storage.enable` is produced to through a SIGKILL while its closed
//! segments are being copied, its local segments go, and a stock Kafka
//! consumer (kcat, librdkafka) reads every acknowledged record from offset 0,
//! once, from the bucket; then the broker loses its whole disk and serves the
//! same history from the bucket alone. Another instance sees none of it, in
//! Kafka or in the bucket.

use std::path::Path;
use std::time::{Duration, Instant};

use omnibus_tests::clients::{KafkaLogin, kcat};
use omnibus_tests::crash::{produce_through_kill_9, python_producer};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::s3::Moto;
use omnibus_tests::temp_dir;

/// Small segments, so many are closed and copied while the producer runs, and
/// local copies dropped as soon as the bucket holds them.
const TOPIC_CONFIGS: &str = "remote.storage.enable=true,segment.bytes=65536,local.retention.ms=0";

/// The `.log` files of partition 0 of the instance's topic `tiered` on the broker's disk.
fn local_segments(data_dir: &Path, instance: &str) -> usize {
    let broker = data_dir.join("broker");
    let catalog: serde_json::Value =
        serde_json::from_slice(&std::fs::read(broker.join("catalog.json")).expect("the broker's catalog"))
            .expect("the catalog is JSON");
    let id = catalog["namespaces"][instance]["tiered"]["id"].as_str().expect("the topic's id");
    let partition = broker.join("logs").join(instance).join(format!("{id}-0"));
    std::fs::read_dir(partition)
        .expect("the partition's directory")
        .flatten()
        .filter(|f| f.file_name().to_string_lossy().ends_with(".log"))
        .count()
}

/// The broker's upload lag of the partition, from `/metrics`.
async fn upload_lag(omnibus: &Omnibus) -> Option<u64> {
    let metrics = reqwest::get(format!("http://{}/metrics", omnibus.grpc)).await.ok()?.text().await.ok()?;
    metrics
        .lines()
        .find(|l| l.starts_with("omnibus_tier_upload_lag_bytes{") && l.contains("topic=\"tiered\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
}

async fn read_from_zero(login: &KafkaLogin) -> Vec<u64> {
    let read =
        kcat(login, "SCRAM-SHA-256", &["-C", "-t", "tiered", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"], "")
            .await;
    assert!(read.success, "{}", read.stderr);
    read.stdout.lines().map(|l| l.parse().expect("a record number")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiered_topics_replay_from_s3_through_kill_9_and_an_empty_disk() {
    let moto = Moto::start();
    moto.create_bucket("omnibus-tiered").await;
    let dir = temp_dir("omnibus-e2e-tiered");
    let env = moto.broker_env("omnibus-tiered", "fleet-local");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut omnibus = Omnibus::start(&dir, &env);
    let mut api = Api::new(omnibus.base_url());
    api.signup("tiered@example.com", "Tiered").await;
    let (instance, credential) = api.instance_on_plan_with_credential("tiered", "standard").await;
    let instance_id = instance["id"].as_str().expect("id").to_string();
    let login = KafkaLogin::from_credential(omnibus.kafka, &credential);
    let mut other = Api::new(omnibus.base_url());
    other.signup("neighbour@example.com", "Neighbour").await;
    let (neighbour, neighbour_credential) = other.instance_with_credential("neighbour").await;
    let bob = KafkaLogin::from_credential(omnibus.kafka, &neighbour_credential);

    // Produce through a SIGKILL while segments are being copied.
    let mut producer = python_producer("kafka_crash_producer.py", &login, "tiered");
    producer.arg(TOPIC_CONFIGS);
    let run = produce_through_kill_9(&mut omnibus, &login, producer, "tiered").await;
    run.assert_acknowledged_stored_once_in_order();
    let stored = run.stored.clone();

    // Everything closed reaches the bucket and leaves the disk.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lag = upload_lag(&omnibus).await;
        if lag == Some(0) && local_segments(&dir, &instance_id) == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "lag {lag:?}, {} local segments", local_segments(&dir, &instance_id));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let keys = moto.keys("omnibus-tiered", "fleet-local/").await;
    let segments = keys.iter().filter(|k| k.ends_with(".log")).count();
    assert!(segments >= 5, "{segments} segments in the bucket: {keys:?}");
    assert!(keys.iter().all(|k| k.contains(&instance_id)), "only the tiered instance has objects: {keys:?}");
    assert!(!keys.iter().any(|k| k.contains(neighbour["id"].as_str().unwrap())));

    // A stock consumer reads from offset 0: the bucket serves what the disk no longer has.
    assert_eq!(read_from_zero(&login).await, stored, "a replay from offset 0 reads what was stored, once");
    let stolen =
        kcat(&bob, "PLAIN", &["-C", "-t", "tiered", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"], "").await;
    assert!(stolen.stdout.trim().is_empty(), "another instance read: {}", stolen.stdout);

    // The broker loses its disk; the control plane applies the instance again and the bucket has the rest.
    omnibus.signal("TERM", Duration::from_secs(20));
    std::fs::remove_dir_all(dir.join("broker")).expect("remove the broker's disk");
    omnibus.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read =
            kcat(&login, "PLAIN", &["-C", "-t", "tiered", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n"], "").await;
        if read.success {
            let numbers: Vec<u64> = read.stdout.lines().map(|l| l.parse().expect("a record number")).collect();
            // What was still in the active segment lived only on the lost disk.
            assert!(
                !numbers.is_empty() && stored.starts_with(&numbers),
                "{} of {} read back",
                numbers.len(),
                stored.len()
            );
            assert!(
                numbers.len() * 10 >= stored.len() * 8,
                "only {} of {} from the bucket",
                numbers.len(),
                stored.len()
            );
            break;
        }
        assert!(Instant::now() < deadline, "no replay after the disk was lost: {}", read.stderr);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
