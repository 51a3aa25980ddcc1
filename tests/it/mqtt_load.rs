//! The MQTT load generator (`omnibus_tests::loadgen`, the engine of
//! `bench/mqtt_compare.sh`) against `omnibus dev` for a couple of seconds at
//! a modest fixed rate: QoS 1 fan-in and fan-out deliver every message,
//! each once, and nothing acknowledged goes missing. Checks counts only,
//! never speed.

use omnibus_tests::loadgen::Target;
use omnibus_tests::loadgen::fan::{self, Load, Shape};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_sees_every_qos_1_message_delivered_once() {
    let dir = temp_dir("omnibus-e2e-mqtt-load");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("load@example.com", "Load").await;
    let (_, credential) = api.instance_with_credential("load").await;
    let target = Target {
        host: omnibus.mqtt.ip().to_string(),
        port: omnibus.mqtt.port(),
        username: credential["username"].as_str().map(Into::into),
        password: credential["password"].as_str().map(Into::into),
        broker_pid: Some(omnibus.pid()),
        label: "omnibus".into(),
    };
    let load = Load { target, qos: 1, duration: 2.0, rate: 2_000, payload: 64, inflight: 20, drain: 5.0 };
    for shape in [Shape::FanIn { publishers: 4 }, Shape::FanOut { subscribers: 10 }] {
        let result = fan::run(&load, shape).await.expect("the scenario runs");
        let count = |key: &str| result[key].as_u64().unwrap_or_else(|| panic!("{key} in {result}"));
        assert!(count("sent") > 0, "{result}");
        assert_eq!(count("acked"), count("sent"), "every publish acknowledged: {result}");
        assert_eq!(count("delivered"), count("expected"), "every message delivered: {result}");
        for key in ["missing", "missing_acked", "duplicates", "foreign", "unacked", "unexpected_acks"] {
            assert_eq!(count(key), 0, "{key}: {result}");
        }
        assert_eq!(result["errors"].as_array().map(Vec::len), Some(0), "{result}");
    }
    omnibus.assert_no_errors();
}
