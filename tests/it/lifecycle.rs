//! The process as an operator sees it: health, metrics and the API document
//! on both planes, a clean stop on SIGTERM, and nothing lost across kill -9.

use std::time::Duration;

use omnibus_tests::clients::{Login, Subscriber, mosquitto_pub};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_get_health_metrics_and_the_api_document() {
    let dir = temp_dir("omnibus-e2e-ops");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let http = reqwest::Client::new();

    let health = http.get(format!("{}/healthz", omnibus.base_url())).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");

    let document = http.get(format!("{}/openapi.json", omnibus.base_url())).send().await.unwrap();
    assert_eq!(document.status(), 200);
    let document: serde_json::Value = document.json().await.unwrap();
    let checked_in: serde_json::Value =
        serde_json::from_str(include_str!("../../api/openapi.json")).expect("api/openapi.json is JSON");
    assert_eq!(document, checked_in, "the served document differs from api/openapi.json");
    for path in [
        "/v1/auth/signup",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/instances",
        "/v1/instances/{id}",
        "/v1/instances/{id}/credentials",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} missing from the document");
    }

    // Traffic shows up in both planes' metrics.
    let mut api = Api::new(omnibus.base_url());
    api.signup("ops@example.com", "Ops").await;
    let (_, credential) = api.instance_with_credential("metered").await;
    let login = Login::from_credential(omnibus.mqtt, &credential);
    assert!(mosquitto_pub(&login, "m/1", "x", 1).await.success);

    let cp_metrics = http.get(format!("{}/metrics", omnibus.base_url())).send().await.unwrap().text().await.unwrap();
    assert!(cp_metrics.contains("omnibus_http_requests_total"), "{cp_metrics}");
    let broker_metrics = http.get(format!("http://{}/metrics", omnibus.grpc)).send().await.unwrap();
    assert_eq!(broker_metrics.status(), 200);
    let broker_metrics = broker_metrics.text().await.unwrap();
    assert!(broker_metrics.contains("omnibus_mqtt_messages_in_total"), "{broker_metrics}");

    let status = omnibus.signal("TERM", Duration::from_secs(10));
    assert!(status.success(), "SIGTERM exit: {status}");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_kill_9() {
    let dir = temp_dir("omnibus-e2e-kill");
    let mut omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("durable@example.com", "Durable").await;
    let (instance, credential) = api.instance_with_credential("durable").await;
    let login = Login::from_credential(omnibus.mqtt, &credential);

    omnibus.signal("KILL", Duration::from_secs(5));
    omnibus.restart();

    // The account, the instance and the credential are all still there, and
    // the broker accepts the credential again.
    let mut api = Api::new(omnibus.base_url());
    api.login("durable@example.com").await;
    let (status, got) = api.get(&format!("/v1/instances/{}", instance["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["status"], "ready");
    let mut sub = Subscriber::start(&login, "d/#", 1).await;
    let published = mosquitto_pub(&login, "d/1", "after restart", 1).await;
    assert!(published.success, "{}", published.stderr);
    assert_eq!(sub.next_message(Duration::from_secs(5)).await.as_deref(), Some("d/1 after restart"));
    sub.stop().await;
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
