//! Persistent MQTT sessions with real clients: a paho-mqtt subscriber with
//! CleanSession = 0 and a paho-mqtt QoS 2 publisher keep going through a
//! broker `kill -9` and restart, and every acknowledged message reaches the
//! subscriber exactly once; mosquitto_sub resumes its session and gets what
//! was published while it was away, the will of a client connected when the
//! broker was killed included, and another instance's client with the same
//! id shares nothing with it.

use std::time::Duration;

use omnibus_tests::clients::{Login, Subscriber, mosquitto_pub, paho_rate, paho_v5};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::{Api, override_quotas};
use omnibus_tests::temp_dir;
use tokio::io::AsyncBufReadExt as _;

/// Acknowledgements before the kill, and messages in all.
const KILL_AFTER: usize = 150;
const COUNT: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_2_through_kill_9_is_delivered_exactly_once_to_a_persistent_session() {
    let dir = temp_dir("omnibus-e2e-mqtt-persistent");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("durable@example.com", "Durable").await;
    let (_, credential) = api.instance_with_credential("durable").await;
    let login = Login::from_credential(omnibus.mqtt, &credential);

    let python = std::env::var("OMNIBUS_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut script = tokio::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/clients/mqtt_persistent.py"))
        .args([&login.addr.ip().to_string(), &login.addr.port().to_string(), &login.username, &login.password])
        .args(["durable/n", &COUNT.to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    let mut lines = tokio::io::BufReader::new(script.stdout.take().expect("stdout")).lines();
    let (mut acked, mut killed, mut done) = (0, false, None);
    while let Some(line) = tokio::time::timeout(Duration::from_secs(90), lines.next_line())
        .await
        .expect("the clients keep talking")
        .expect("read the clients")
    {
        if line.starts_with("acked ") {
            acked += 1;
            if acked == KILL_AFTER && !killed {
                omnibus.signal("KILL", Duration::from_secs(5));
                omnibus.restart();
                killed = true;
            }
        } else if line.starts_with("done ") {
            done = Some(line);
        } else {
            panic!("the clients failed: {line}\n{}", omnibus.log_text());
        }
    }
    let done = done.expect("the clients finished");
    assert!(killed && acked == COUNT, "{acked} of {COUNT} acknowledged: {done}");
    assert_eq!(
        done,
        format!("done acked {COUNT} received {COUNT} duplicates 0 missing 0"),
        "every acknowledged message exactly once"
    );
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `mosquitto_sub -c -i ID -q 1`: a persistent session that keeps its
/// subscription and collects `count` messages, then exits.
async fn mosquitto_durable_sub(
    login: &Login,
    client_id: &str,
    filter: &str,
    count: usize,
    wait: u32,
) -> (bool, String) {
    let run = tokio::process::Command::new("mosquitto_sub")
        .args(["-h", &login.addr.ip().to_string(), "-p", &login.addr.port().to_string()])
        .args(["-u", &login.username, "-P", &login.password])
        .args(["-c", "-i", client_id, "-q", "1", "-t", filter, "-C", &count.to_string(), "-W", &wait.to_string()])
        .kill_on_drop(true)
        .output();
    let output = run.await.expect("mosquitto_sub runs");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_sub_resumes_its_session_with_what_it_missed() {
    let dir = temp_dir("omnibus-e2e-mqtt-resume");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("resume@example.com", "Resume").await;
    let (_, credential) = api.instance_with_credential("resume").await;
    let alice = Login::from_credential(omnibus.mqtt, &credential);
    let mut other = Api::new(omnibus.base_url());
    other.signup("other-resume@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("resume").await;
    let bob = Login::from_credential(omnibus.mqtt, &other_credential);

    // Subscribe once (one retained message to make it exit), then go away.
    assert!(mosquitto_pub(&alice, "news/first", "first", 1).await.success);
    let retained = tokio::process::Command::new("mosquitto_pub")
        .args(["-h", &alice.addr.ip().to_string(), "-p", &alice.addr.port().to_string()])
        .args(["-u", &alice.username, "-P", &alice.password, "-t", "news/pinned", "-m", "pinned", "-q", "1", "-r"])
        .status()
        .await
        .expect("mosquitto_pub runs");
    assert!(retained.success());
    let (ok, first) = mosquitto_durable_sub(&alice, "reader", "news/#", 1, 10).await;
    assert!(ok && first == "pinned\n", "{first:?}");

    // A device connected with a will when the broker dies.
    let will = ["-i", "device", "--will-topic", "news/device", "--will-payload", "offline", "--will-qos", "1"];
    let device = Subscriber::start_with(&alice, "device/commands", 1, &will).await;

    // While it is away: two messages, a broker crash, one more.
    assert!(mosquitto_pub(&alice, "news/a", "while-away-1", 1).await.success);
    assert!(mosquitto_pub(&alice, "news/b", "while-away-2", 2).await.success);
    omnibus.signal("KILL", Duration::from_secs(5));
    omnibus.restart();
    assert!(mosquitto_pub(&alice, "news/c", "after-restart", 1).await.success);
    // The other instance's client with the same id has no session here.
    let (_, stolen) = mosquitto_durable_sub(&bob, "reader", "news/#", 1, 2).await;
    assert!(stolen.is_empty(), "another instance got {stolen:?}");

    let (ok, missed) = mosquitto_durable_sub(&alice, "reader", "news/#", 4, 10).await;
    assert!(ok, "{missed}");
    let missed: Vec<&str> = missed.lines().collect();
    assert_eq!(missed[..2], ["while-away-1", "while-away-2"], "in order");
    // The device's connection died with the broker: its will went out after the restart.
    let mut after: Vec<&str> = missed[2..].to_vec();
    after.sort_unstable();
    assert_eq!(after, ["after-restart", "offline"]);
    device.stop().await;
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_speaks_mqtt_5_and_another_instance_sees_none_of_it() {
    let dir = temp_dir("omnibus-e2e-mqtt-v5");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("five@example.com", "Five").await;
    let (instance, credential) = api.instance_with_credential("five").await;
    let alice = Login::from_credential(omnibus.mqtt, &credential);
    // Without the default mapping to Kafka, a publish no MQTT client takes reaches no one (0x10).
    let mappings = format!("/v1/instances/{}/mappings", instance["id"].as_str().expect("id"));
    let (status, listed) = api.get(&mappings).await;
    assert_eq!(status, 200, "{listed}");
    for mapping in listed["items"].as_array().expect("items") {
        let path = format!("{mappings}/{}", mapping["id"].as_str().expect("mapping id"));
        let (status, body) = api.call(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(status, 204, "{body}");
    }
    let mut other = Api::new(omnibus.base_url());
    other.signup("other-five@example.com", "Other").await;
    let (_, other_credential) = other.instance_with_credential("five").await;
    let bob = Login::from_credential(omnibus.mqtt, &other_credential);

    // Bob listens to everything in his instance while Alice's clients work.
    let mut watcher = omnibus_tests::clients::Subscriber::start(&bob, "#", 1).await;
    paho_v5(&alice, "v5").await.expect("paho-mqtt at MQTT 5.0");
    assert!(watcher.next_message(Duration::from_millis(500)).await.is_none(), "another instance saw a message");
    watcher.stop().await;
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A message-rate quota: an instance held to 200 messages/s reads its QoS 1
/// publisher more slowly (MQTT 3.1.1 and 5.0 alike), closes no connection and
/// delivers every message once, while the instance beside it runs at full speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_quotas_hold_publishers_and_subscribers_back_and_lose_nothing() {
    let dir = temp_dir("omnibus-e2e-mqtt-rate");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("rate@example.com", "Rate").await;
    let (slow, slow_credential) = api.instance_with_credential("slow").await;
    let (_, fast_credential) = api.instance_with_credential("fast").await;
    let (drained, drained_credential) = api.instance_with_credential("drained").await;
    override_quotas(&omnibus, &slow, serde_json::json!({"messages_in_per_second": 200})).await;
    // The payloads ("m0" to "m999") are 3,890 bytes: at 800 bytes/s out,
    // after a one-second burst, about 4 s to deliver.
    override_quotas(&omnibus, &drained, serde_json::json!({"bytes_out_per_second": 800})).await;

    let slow = Login::from_credential(omnibus.mqtt, &slow_credential);
    let fast = Login::from_credential(omnibus.mqtt, &fast_credential);
    let drained = Login::from_credential(omnibus.mqtt, &drained_credential);
    for version in [3, 5] {
        let delivered_slowly = paho_rate(&drained, &format!("rate/v{version}"), 1000, version).await;
        assert_eq!(delivered_slowly["acked"], 1000, "{delivered_slowly}");
        assert_eq!(delivered_slowly["received"], 1000, "queued, not dropped: {delivered_slowly}");
        let received = delivered_slowly["received_seconds"].as_f64().unwrap();
        assert!(received > 3.0, "not held to 800 bytes/s out: {delivered_slowly}");
        // 1,000 messages at 200/s after a one-second burst of 200: about 4 s.
        let held = paho_rate(&slow, &format!("rate/v{version}"), 1000, version).await;
        let free = paho_rate(&fast, &format!("rate/v{version}"), 1000, version).await;
        eprintln!("MQTT {version}: held to 200/s {held}; beside it {free}");
        for report in [&held, &free] {
            assert_eq!(report["acked"], 1000, "every publish acknowledged: {report}");
            assert_eq!(report["received"], 1000, "every message delivered: {report}");
            assert_eq!(report["disconnects"], serde_json::json!([]), "no connection closed: {report}");
        }
        let seconds = |report: &serde_json::Value| report["seconds"].as_f64().unwrap();
        assert!(seconds(&held) > 3.0, "not held to 200 messages/s: {held}");
        assert!(seconds(&free) < seconds(&held) / 2.0, "the neighbour was held back too: {free} vs {held}");
    }
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
