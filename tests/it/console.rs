//! The web console in a real browser: the Playwright journey (sign-up to a
//! message from the browser received by mosquitto_sub, and the rest of the
//! console) against `omnibus dev`; then, over the API, that what the browser
//! made is there and that another organization can neither see nor read it.

use omnibus_tests::console::{playwright, screenshots_dir};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;

const EMAIL: &str = "ada@example.com";
const FINAL_PASSWORD: &str = "an even longer passphrase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_journey_in_chromium_and_tenant_isolation() {
    let dir = temp_dir("omnibus-e2e-console");
    let omnibus = Omnibus::start(&dir, &[]);
    let _ = std::fs::remove_dir_all(screenshots_dir());
    let run = playwright(&omnibus, &[("OMNIBUS_E2E_EMAIL", EMAIL)]);
    assert!(
        run.status.success(),
        "the Playwright journey failed:\n{}\n{}\n(traces under web-console/test-results)",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    for page in ["signup", "instance", "credential", "connect", "topics", "billing", "members", "audit-log", "phone"] {
        let png = std::fs::read(screenshots_dir().join(format!("{page}.png"))).unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "screenshot {page}.png is missing or empty");
    }

    // What the browser did is what the API has: Ada's instance, and the
    // message the browser published, in the Kafka topic `mqtt`.
    let mut ada = Api::new(omnibus.base_url());
    ada.login_with(EMAIL, FINAL_PASSWORD).await;
    let (_, instances) = ada.get("/v1/instances").await;
    let instance = instances["items"].as_array().unwrap().iter().find(|i| i["name"] == "sensors").expect("sensors");
    let id = instance["id"].as_str().unwrap();
    let messages = format!("/v1/instances/{id}/topics/mqtt/messages?limit=5");
    let (status, page) = ada.get(&messages).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["key"], "console/test", "{page}");
    assert_eq!(page["items"][0]["value"], "hello from the browser", "{page}");

    // Another organization sees nothing of it.
    let mut bob = Api::new(omnibus.base_url());
    bob.signup("bob@example.com", "Other Co").await;
    let (_, theirs) = bob.get("/v1/instances").await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0), "{theirs}");
    for path in [format!("/v1/instances/{id}"), messages.clone(), format!("/v1/instances/{id}/credentials")] {
        let (status, body) = bob.get(&path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    omnibus.assert_no_errors();
}
