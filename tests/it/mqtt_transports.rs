//! MQTT over WebSocket, TLS and WebSocket over TLS, with real clients:
//! paho-mqtt on every transport, mosquitto_pub/sub on TLS (Debian's Mosquitto
//! 2.0.11 clients have no WebSocket transport). Each time a credential of
//! another instance, over the same transport, sees none of the traffic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use omnibus_tests::clients::{Login, PahoTransport, Subscriber, mosquitto_pub, paho_transport};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;
use serde_json::Value;

/// Two organizations with an instance and a credential each: Alice's
/// instance, and both logins on the plain MQTT listener.
async fn two_tenants(omnibus: &Omnibus) -> (Value, Login, Login) {
    let mut api = Api::new(omnibus.base_url());
    api.signup("alice@example.com", "Alice Co").await;
    let (instance, alice) = api.instance_with_credential("devices").await;
    let mut other = Api::new(omnibus.base_url());
    other.signup("bob@example.com", "Bob Co").await;
    let (_, bob) = other.instance_with_credential("devices").await;
    (instance, Login::from_credential(omnibus.mqtt, &alice), Login::from_credential(omnibus.mqtt, &bob))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_serves_paho_at_mqtt_3_1_and_3_1_1_and_keeps_instances_apart() {
    let dir = temp_dir("omnibus-e2e-ws");
    let omnibus = Omnibus::start(&dir, &[]);
    let (instance, alice, bob) = two_tenants(&omnibus).await;
    assert_eq!(instance["endpoints"]["mqtt_ws"], format!("localhost:{}", omnibus.mqtt_ws.port()), "{instance}");
    assert_eq!(instance["endpoints"]["mqtt_tls"], Value::Null, "no certificate, no TLS: {instance}");
    assert_eq!(instance["endpoints"]["mqtt_wss"], Value::Null, "no certificate, no TLS: {instance}");

    let ws = |login: &Login| Login { addr: omnibus.mqtt_ws, ..login.clone() };
    for protocol in ["3.1.1", "3.1"] {
        let topic = format!("ws/{protocol}");
        let result = paho_transport(&ws(&alice), &ws(&bob), PahoTransport::WebSocket, protocol, &topic).await;
        result.unwrap_or_else(|output| panic!("paho-mqtt {protocol} over WebSocket:\n{output}"));
    }

    // Only /mqtt is served, and only as a WebSocket.
    let http = reqwest::Client::new();
    let answer = http.get(format!("http://{}/", omnibus.mqtt_ws)).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    let answer = http.get(format!("http://{}/mqtt", omnibus.mqtt_ws)).send().await.unwrap();
    assert_eq!(answer.status(), 426);

    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_websocket_over_tls_serve_mosquitto_and_paho_and_keep_instances_apart() {
    let dir = temp_dir("omnibus-e2e-tls");
    let pki = Pki::generate(&dir.join("pki"));
    let (cert, key) = (pki.cert.display().to_string(), pki.key.display().to_string());
    let omnibus = Omnibus::start(&dir, &[("OMNIBUS_TLS_CERT_PATH", &cert), ("OMNIBUS_TLS_KEY_PATH", &key)]);
    let (instance, alice, bob) = two_tenants(&omnibus).await;
    assert_eq!(instance["endpoints"]["mqtt_tls"], format!("localhost:{}", omnibus.mqtt_tls.port()), "{instance}");
    assert_eq!(instance["endpoints"]["mqtt_wss"], format!("localhost:{}", omnibus.mqtt_wss.port()), "{instance}");

    // mosquitto_sub and mosquitto_pub over TLS, verifying the broker with the CA.
    let alice_tls = alice.over_tls(omnibus.mqtt_tls, pki.ca.clone());
    let bob_tls = bob.over_tls(omnibus.mqtt_tls, pki.ca.clone());
    let mut bob_sub = Subscriber::start(&bob_tls, "#", 1).await;
    let mut sub = Subscriber::start(&alice_tls, "tls/#", 1).await;
    for qos in [0, 1] {
        let published = mosquitto_pub(&alice_tls, "tls/a", &format!("over TLS at QoS {qos}"), qos).await;
        assert!(published.success, "{}", published.stderr);
        let expected = format!("tls/a over TLS at QoS {qos}");
        assert_eq!(sub.next_message(Duration::from_secs(5)).await, Some(expected));
    }
    // One hub behind every listener: a publish on plain MQTT reaches the TLS subscriber.
    let published = mosquitto_pub(&alice, "tls/b", "from plain MQTT", 1).await;
    assert!(published.success, "{}", published.stderr);
    assert_eq!(sub.next_message(Duration::from_secs(5)).await.as_deref(), Some("tls/b from plain MQTT"));
    assert_eq!(bob_sub.next_message(Duration::from_millis(500)).await, None, "Bob sees another instance");
    let published = mosquitto_pub(&bob_tls, "tls/a", "from Bob", 1).await;
    assert!(published.success, "{}", published.stderr);
    assert_eq!(bob_sub.next_message(Duration::from_secs(5)).await.as_deref(), Some("tls/a from Bob"));
    assert_eq!(sub.next_message(Duration::from_millis(500)).await, None, "Alice sees another instance");

    // A client that does not trust the broker's CA stops at the handshake, and
    // plain MQTT on the TLS port gets nowhere.
    let stranger = Pki::generate(&dir.join("stranger-pki"));
    let untrusting = alice.over_tls(omnibus.mqtt_tls, stranger.ca.clone());
    let refused = mosquitto_pub(&untrusting, "tls/a", "unverified", 0).await;
    assert!(!refused.success && refused.stderr.contains("A TLS error occurred"), "{}", refused.stderr);
    let plain_on_tls = Login { addr: omnibus.mqtt_tls, ..alice.clone() };
    assert!(!mosquitto_pub(&plain_on_tls, "tls/a", "in clear", 0).await.success);
    assert_eq!(sub.next_message(Duration::from_millis(300)).await, None);
    sub.stop().await;
    bob_sub.stop().await;

    // paho-mqtt over TLS and over WebSocket over TLS.
    let result = paho_transport(&alice_tls, &bob_tls, PahoTransport::Tcp, "3.1.1", "paho/tls").await;
    result.unwrap_or_else(|output| panic!("paho-mqtt over TLS:\n{output}"));
    let (alice_wss, bob_wss) =
        (alice.over_tls(omnibus.mqtt_wss, pki.ca.clone()), bob.over_tls(omnibus.mqtt_wss, pki.ca.clone()));
    let result = paho_transport(&alice_wss, &bob_wss, PahoTransport::WebSocket, "3.1.1", "paho/wss").await;
    result.unwrap_or_else(|output| panic!("paho-mqtt over WebSocket over TLS:\n{output}"));

    omnibus.assert_no_errors();
    drop(omnibus);
    // The private keys were made for this test and go with it.
    let _ = std::fs::remove_dir_all(&dir);
}

/// A throwaway CA and a server certificate it signed for `localhost` and
/// 127.0.0.1, as PEM files.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn generate(dir: &Path) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        std::fs::create_dir_all(dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "omnibus e2e CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca).unwrap();
        let pki = Pki { ca: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key") };
        std::fs::write(&pki.ca, ca.pem()).unwrap();
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        pki
    }
}
