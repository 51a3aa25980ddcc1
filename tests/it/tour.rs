//! The README's five-minute tour, as a user runs it, plus what must not happen:
//! another instance seeing the traffic, or a wrong password getting in.

use std::time::{Duration, Instant};

use omnibus_tests::clients::{Login, Subscriber, mosquitto_pub, paho_roundtrip};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::{self as api, Api};
use omnibus_tests::temp_dir;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tour_delivers_within_an_instance_and_nowhere_else() {
    let dir = temp_dir("omnibus-e2e-tour");
    let omnibus = Omnibus::start(&dir, &[]);

    let mut api = Api::new(omnibus.base_url());
    let signup = api.signup("ada@example.com", "Analytical Engines").await;
    assert_eq!(signup["organization"]["name"], "Analytical Engines");

    let (instance, credential) = api.instance_with_credential("sensors").await;
    assert_eq!(instance["status"], "ready", "{instance}");
    let endpoint = format!("localhost:{}", omnibus.mqtt.port());
    assert_eq!(instance["endpoints"]["mqtt"], endpoint);
    assert_eq!(credential["endpoints"]["mqtt"], endpoint);
    let alice = Login::from_credential(omnibus.mqtt, &credential);

    // A second organization with its own instance, listening to everything.
    let mut other = Api::new(omnibus.base_url());
    other.signup("bob@example.com", "Other Co").await;
    let (_, other_credential) = other.instance_with_credential("sensors").await;
    let bob = Login::from_credential(omnibus.mqtt, &other_credential);
    let mut bob_sub = Subscriber::start(&bob, "#", 1).await;

    let mut sub = Subscriber::start(&alice, "a/#", 0).await;
    let published = mosquitto_pub(&alice, "a/b", "hi", 0).await;
    assert!(published.success, "{}", published.stderr);
    assert_eq!(sub.next_message(Duration::from_secs(5)).await.as_deref(), Some("a/b hi"));

    let published = mosquitto_pub(&alice, "a/c", "at least once", 1).await;
    assert!(published.success, "{}", published.stderr);
    assert_eq!(sub.next_message(Duration::from_secs(5)).await.as_deref(), Some("a/c at least once"));

    // Bob's instance saw none of it, and Bob's publishes do not reach Alice.
    assert_eq!(bob_sub.next_message(Duration::from_millis(500)).await, None);
    let published = mosquitto_pub(&bob, "a/b", "from another tenant", 1).await;
    assert!(published.success, "{}", published.stderr);
    assert_eq!(bob_sub.next_message(Duration::from_secs(5)).await.as_deref(), Some("a/b from another tenant"));
    assert_eq!(sub.next_message(Duration::from_millis(500)).await, None);

    // A wrong password, and Bob's password on Alice's username, are refused.
    for login in [
        Login { password: "wrong".into(), ..alice.clone() },
        Login { password: bob.password.clone(), ..alice.clone() },
        Login { username: "nobody".into(), ..alice.clone() },
    ] {
        let refused = mosquitto_pub(&login, "a/b", "sneaky", 0).await;
        assert!(!refused.success);
        assert!(refused.stderr.contains("bad user name or password"), "{}", refused.stderr);
    }
    assert_eq!(sub.next_message(Duration::from_millis(300)).await, None);

    paho_roundtrip(&alice, "paho/e2e").await.expect("paho-mqtt QoS 1 roundtrip");

    sub.stop().await;
    bob_sub.stop().await;
    omnibus.assert_no_errors();
    // No secret is kept or logged in clear: not the account's password, not the
    // credential's (the database, its WAL, broker metadata and the log included).
    assert_no_file_contains(&dir, &[api::PASSWORD, &alice.password, &bob.password]);
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_credential_closes_its_connections_and_refuses_it() {
    let dir = temp_dir("omnibus-e2e-revoke");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("rev@example.com", "Rev").await;
    let (instance, credential) = api.instance_with_credential("revoke").await;
    let login = Login::from_credential(omnibus.mqtt, &credential);
    let mut sub = Subscriber::start(&login, "x/#", 0).await;

    let path = format!(
        "/v1/instances/{}/credentials/{}",
        instance["id"].as_str().unwrap(),
        credential["id"].as_str().unwrap()
    );
    let (status, body) = api.call(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 204, "{body}");

    // The open subscriber is disconnected (mosquitto_sub then reconnects and is refused).
    let refused = mosquitto_pub(&login, "x/y", "after revoke", 0).await;
    assert!(refused.stderr.contains("bad user name or password"), "{}", refused.stderr);
    assert_eq!(sub.next_message(Duration::from_millis(500)).await, None);
    sub.stop().await;

    // Deleting the instance also shuts out credentials created for it.
    let other = api.post(&format!("/v1/instances/{}/credentials", instance["id"].as_str().unwrap()), json!({})).await;
    let other_login = Login::from_credential(omnibus.mqtt, &other);
    assert!(mosquitto_pub(&other_login, "x/y", "still in", 0).await.success);
    let (status, _) =
        api.call(reqwest::Method::DELETE, &format!("/v1/instances/{}", instance["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = mosquitto_pub(&other_login, "x/y", "after delete", 0).await;
        if attempt.stderr.contains("bad user name or password") {
            break;
        }
        assert!(Instant::now() < deadline, "credential still accepted after instance deletion");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

fn assert_no_file_contains(dir: &std::path::Path, secrets: &[&str]) {
    let mut files = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} holds a secret in clear", path.display());
        }
    }
    assert!(files >= 4, "expected the database, broker metadata and log under {}", dir.display());
}
