//! Metering end to end: what real clients send and receive shows up in the
//! usage API exactly, per instance, also when the broker and the control
//! plane are SIGKILLed at random points of the workload.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use omnibus_tests::clients::{KafkaLogin, Login, Subscriber, kcat, run_with_input};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::split::Planes;
use omnibus_tests::temp_dir;
use serde_json::{Value, json};
use tokio::process::Command;

/// Seals every second and collects every second, so usage shows in seconds.
const BROKER_TOML: &str = "usage_interval_secs = 1\n";
const CONTROL_PLANE_TOML: &str = "usage_collect_interval_secs = 1\nresync_interval_secs = 2\n";

/// SIGKILLs of the broker (and as many of the control plane) during the workload.
const BROKER_KILLS: u64 = 3;

type Totals = std::collections::BTreeMap<String, u64>;

/// The instance's usage summed over all time, per dimension.
async fn usage_totals(api: &Api, instance_id: &str) -> (u16, Totals) {
    let path =
        format!("/v1/instances/{instance_id}/usage?granularity=day&from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z");
    let (status, body) = api.get(&path).await;
    let mut totals = std::collections::BTreeMap::new();
    for series in body["series"].as_array().into_iter().flatten() {
        let sum = series["points"].as_array().into_iter().flatten().map(|p| p["value"].as_u64().unwrap_or(0)).sum();
        totals.insert(series["dimension"].as_str().unwrap_or_default().to_owned(), sum);
    }
    (status, totals)
}

/// Polls the usage API until `done` holds of the totals, or they have not
/// changed for 10 s (every record sealed and collected: both run each second),
/// or 60 s pass; the last totals either way.
async fn settled(api: &Api, instance_id: &str, done: impl Fn(&Totals) -> bool) -> Totals {
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut last, mut since) = (Totals::new(), Instant::now());
    loop {
        let (_, totals) = usage_totals(api, instance_id).await;
        if totals != last {
            (last, since) = (totals.clone(), Instant::now());
        }
        if done(&totals) || since.elapsed() > Duration::from_secs(10) || Instant::now() > deadline {
            return totals;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Bytes of the segment files under `dir`: every batch the log holds, as stored.
fn log_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            total += log_bytes(&path);
        } else if path.extension().is_some_and(|e| e == "log") {
            total += entry.metadata().map_or(0, |m| m.len());
        }
    }
    total
}

/// A small xorshift, seeded from the clock and printed, for kill times.
struct Dice(u64);

impl Dice {
    fn seeded() -> Dice {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64) | 1;
        println!("kill schedule seed: {seed}");
        Dice(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metered_kafka_usage_equals_what_was_stored_and_fetched_through_kills() {
    let dir = temp_dir("omnibus-e2e-metering-kill");
    let mut planes = Planes::start(&dir, BROKER_TOML, CONTROL_PLANE_TOML);
    let mut api = Api::new(planes.base_url());
    api.signup("metered@example.com", "Metered").await;
    let (instance, credential) = api.instance_on_plan_with_credential("metered", "standard").await;
    let id = instance["id"].as_str().unwrap().to_owned();
    let topic = api.post(&format!("/v1/instances/{id}/topics"), json!({"name": "metered", "partitions": 1})).await;
    assert_eq!(topic["partitions"], 1, "{topic}");
    let mut other = Api::new(planes.base_url());
    other.signup("bystander@example.com", "Bystander").await;
    let (bystander, _) = other.instance_with_credential("quiet").await;
    let login = KafkaLogin::from_credential(planes.kafka, &credential);

    // The workload, with the broker and the control plane each SIGKILLed
    // (and restarted) three times at random points of it.
    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = format!("{}/clients/kafka_metered.py", env!("CARGO_MANIFEST_DIR"));
    let mut workload = Command::new(python);
    workload.args([&script, &login.bootstrap, &login.username, &login.password, "metered", "16"]);
    let workload =
        tokio::spawn(async move { run_with_input(workload, "", Duration::from_secs(240), "the workload").await });
    let mut dice = Dice::seeded();
    let mut kills: Vec<(u64, bool)> =
        (0..2 * BROKER_KILLS as usize).map(|i| (1_000 + dice.below(14_000), i % 2 == 0)).collect();
    kills.sort_unstable();
    let started = Instant::now();
    for (at_ms, broker) in kills {
        let wait = Duration::from_millis(at_ms).saturating_sub(started.elapsed());
        tokio::time::sleep(wait).await;
        if broker {
            planes.kill_broker();
        } else {
            planes.kill_control_plane();
        }
        println!("{} killed at {at_ms} ms", if broker { "broker" } else { "control plane" });
    }
    let output = workload.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let count = |prefix: &str| -> u64 {
        let line = stdout.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("{stdout}"));
        line.trim().parse().unwrap()
    };
    let (produced, consumed) = (count("produced "), count("consumed "));
    assert!(produced > 500, "too little was acknowledged to mean anything: {stdout}");

    // What the log holds: every record its own batch of one size.
    let read =
        kcat(&login, "PLAIN", &["-C", "-t", "metered", "-p", "0", "-o", "beginning", "-e", "-f", "x\n"], "").await;
    assert!(read.success, "{}", read.stderr);
    let stored = read.stdout.lines().count() as u64;
    assert!(stored >= produced, "acknowledged records were lost: {stored} stored, {produced} acknowledged");
    let bytes = log_bytes(&planes.broker_dir.join("logs").join(&id));
    assert!(bytes > 0 && bytes.is_multiple_of(stored), "{bytes} bytes do not split into {stored} equal batches");
    let batch = bytes / stored;

    // Once more each, after the workload: records sealed but not yet
    // collected, and collected but not yet acknowledged, must survive too.
    planes.kill_broker();
    planes.kill_control_plane();

    // Fetched: what the workload's consumer was delivered and the read back.
    let fetched = consumed + stored;
    let exact = |totals: &Totals| {
        totals.get("kafka_messages_in") == Some(&stored)
            && totals.get("kafka_bytes_in") == Some(&bytes)
            && totals.get("kafka_messages_out") == Some(&fetched)
            && totals.get("kafka_bytes_out") == Some(&(fetched * batch))
    };
    let totals = settled(&api, &id, exact).await;
    // What may differ: a batch the broker handed over (to its log, or to a
    // consumer's socket) in the instant between that and counting it, when a
    // SIGKILL fell there, is used but not metered; at most one per broker
    // worker thread (two) per kill. Metering never counts a batch that was
    // not stored or sent, so it may fall short by that, never run over.
    let slack = 2 * BROKER_KILLS;
    let within = |dimension: &str, truth: u64| {
        let metered = totals[dimension];
        assert!(
            metered <= truth && truth - metered <= slack,
            "{dimension}: {metered} metered, {truth} used\n{totals:?}\n{}",
            planes.logs()
        );
        metered
    };
    let metered_in = within("kafka_messages_in", stored);
    assert_eq!(totals["kafka_bytes_in"], metered_in * batch, "{totals:?}");
    let metered_out = within("kafka_messages_out", fetched);
    assert_eq!(totals["kafka_bytes_out"], metered_out * batch, "{totals:?}");
    println!("metered in {metered_in} of {stored} stored, out {metered_out} of {fetched} fetched");
    assert!(totals["connection_seconds"] > 0 && totals["partition_seconds"] > 0, "{totals:?}");
    assert_eq!(totals["mqtt_messages_in"], 0, "{totals:?}");

    // The other organization's instance used nothing, and cannot read this one's.
    let bystander_id = bystander["id"].as_str().unwrap();
    let (_, quiet) = usage_totals(&other, bystander_id).await;
    assert!(quiet.iter().all(|(dimension, value)| *value == 0 || dimension == "partition_seconds"), "{quiet:?}");
    assert_eq!(quiet.get("kafka_bytes_in"), Some(&0));
    assert_eq!(usage_totals(&other, &id).await.0, 404);
}

/// `count` lines of `size` bytes each, for `mosquitto_pub -l`.
fn lines(count: usize, size: usize) -> String {
    (0..count).map(|i| format!("{:0>size$}\n", i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_usage_is_metered_per_instance_and_exported_as_csv() {
    let dir = temp_dir("omnibus-e2e-metering-mqtt");
    let config = dir.join("omnibus.toml");
    std::fs::write(&config, "[broker]\nusage_interval_secs = 1\n[control_plane]\nusage_collect_interval_secs = 1\n")
        .unwrap();
    let omnibus = Omnibus::start(&dir, &[("OMNIBUS_CONFIG", config.to_str().unwrap())]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("devices@example.com", "Devices").await;
    let (instance, credential) = api.instance_with_credential("fleet").await;
    let id = instance["id"].as_str().unwrap().to_owned();
    let mut other = Api::new(omnibus.base_url());
    other.signup("neighbour@example.com", "Neighbour").await;
    let (neighbour, neighbour_credential) = other.instance_with_credential("fleet").await;
    let neighbour_id = neighbour["id"].as_str().unwrap().to_owned();

    // 40 messages of 100 bytes at QoS 1 in, each delivered to one subscriber;
    // the neighbour publishes 3 of 10 bytes to its own instance.
    let login = Login::from_credential(omnibus.mqtt, &credential);
    let mut subscriber = Subscriber::start(&login, "meter/#", 1).await;
    let publish = |login: &Login, input: String| {
        let mut command = Command::new("mosquitto_pub");
        command.args(login.args()).args(["-t", "meter/readings", "-q", "1", "-l"]);
        async move {
            let output = run_with_input(command, &input, Duration::from_secs(30), "mosquitto_pub").await;
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
    };
    publish(&login, lines(40, 100)).await;
    for _ in 0..40 {
        assert!(subscriber.next_message(Duration::from_secs(10)).await.is_some(), "a message was not delivered");
    }
    // Open connections are sampled every second: the subscriber stays a while.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    subscriber.stop().await;
    publish(&Login::from_credential(omnibus.mqtt, &neighbour_credential), lines(3, 10)).await;

    let totals = settled(&api, &id, |t| t.get("mqtt_messages_out") == Some(&40)).await;
    assert_eq!(totals.get("mqtt_messages_in"), Some(&40), "{totals:?}");
    assert_eq!(totals.get("mqtt_bytes_in"), Some(&4000), "{totals:?}");
    assert_eq!(totals.get("mqtt_messages_out"), Some(&40), "{totals:?}");
    assert_eq!(totals.get("mqtt_bytes_out"), Some(&4000), "{totals:?}");
    assert_eq!(totals.get("kafka_messages_in"), Some(&0), "bridged messages count once, as MQTT: {totals:?}");
    assert!(totals["connection_seconds"] >= 2, "{totals:?}");
    let theirs = settled(&other, &neighbour_id, |t| t.get("mqtt_messages_in") == Some(&3)).await;
    assert_eq!((theirs.get("mqtt_messages_in"), theirs.get("mqtt_bytes_in")), (Some(&3), Some(&30)), "{theirs:?}");
    assert_eq!(theirs.get("mqtt_messages_out"), Some(&0));

    // The organization's export: one CSV row per instance, dimension and minute.
    let csv = reqwest::Client::new()
        .get(format!("{}/v1/usage?granularity=minute&dimension=mqtt_bytes_in&format=csv", omnibus.base_url()))
        .bearer_auth(api.token.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(rows.iter().all(|r| r.starts_with(&format!("{id},mqtt_bytes_in,bytes,"))), "{text}");
    let sum: u64 = rows.iter().map(|r| r.rsplit(',').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(sum, 4000, "{text}");
    assert!(!text.contains(&neighbour_id), "another organization's usage in the export: {text}");

    // The month's draft invoice prices what was used.
    let month = {
        let (_, invoices) = api.get("/v1/invoices").await;
        invoices["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let (status, invoice): (u16, Value) = api.get(&format!("/v1/invoices/{month}")).await;
    assert_eq!(status, 200, "{invoice}");
    let bytes_in = invoice["lines"].as_array().unwrap().iter().find(|l| l["dimension"] == "bytes_in").cloned();
    assert_eq!(bytes_in.as_ref().map(|l| l["quantity"].clone()), Some(json!(4000)), "{invoice}");
    assert_eq!(bytes_in.map(|l| l["amount"].clone()), Some(json!(0)), "inside the free GiB: {invoice}");
}
