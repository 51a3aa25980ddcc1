//! The Terraform provider end to end: the real Terraform CLI applies the
//! quickstart example against `omnibus dev`, real MQTT and Kafka clients use
//! the credential it outputs, a second plan shows no changes, a change made
//! through the REST API shows as drift, an instance made outside Terraform is
//! imported, and destroy removes everything; another organization sees none
//! of it.

use omnibus_tests::clients::{KafkaLogin, Login, Subscriber, kcat, mosquitto_pub};
use omnibus_tests::process::Omnibus;
use omnibus_tests::rest::Api;
use omnibus_tests::temp_dir;
use omnibus_tests::terraform::Workspace;
use serde_json::json;

const QUICKSTART: &str = include_str!("../../terraform/examples/quickstart/main.tf");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_provisions_what_clients_use_without_drift_and_destroys_it() {
    let dir = temp_dir("omnibus-e2e-terraform");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("platform@example.com", "Platform").await;
    let key = api.post("/v1/api-keys", json!({"name": "terraform", "role": "admin"})).await;
    let key = key["key"].as_str().unwrap().to_owned();
    let workspace = Workspace::new(&dir.join("tf"), QUICKSTART, &omnibus.base_url(), &key);

    let applied = workspace.terraform(&["apply", "-auto-approve", "-no-color"]).await;
    assert_eq!(applied.code, 0, "terraform apply failed:\n{}\n{}", applied.stdout, applied.stderr);
    assert!(applied.stdout.contains("Apply complete! Resources: 2 added"), "{}", applied.stdout);
    let outputs = workspace.outputs().await;
    let value =
        |name: &str| outputs[name]["value"].as_str().unwrap_or_else(|| panic!("output {name}: {outputs}")).to_owned();
    assert_eq!(outputs["plans"]["value"], json!(["developer", "standard", "business"]));
    assert_eq!(outputs["password"]["sensitive"], true);
    assert!(!applied.stdout.contains(&value("password")), "the password was printed");

    // The credential works with real clients, within its ACL.
    let credential = json!({"username": value("username"), "password": value("password")});
    let mqtt = Login::from_credential(omnibus.mqtt, &credential);
    let mut subscriber = Subscriber::start(&mqtt, "sensors/#", 1).await;
    assert!(mosquitto_pub(&mqtt, "sensors/t1", "21.5", 1).await.success);
    let got = subscriber.next_message(std::time::Duration::from_secs(10)).await;
    assert_eq!(got.as_deref(), Some("sensors/t1 21.5"));
    subscriber.stop().await;
    // Outside its ACL an MQTT 5 publish is refused, and says why.
    let denied = tokio::process::Command::new("mosquitto_pub")
        .args(mqtt.args())
        .args(["-V", "5", "-q", "1", "-t", "elsewhere/t1", "-m", "x"])
        .output()
        .await
        .expect("mosquitto_pub runs");
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(stderr.contains("Not authorized"), "a publish outside the ACL was taken: {stderr}");
    let kafka = KafkaLogin::from_credential(omnibus.kafka, &credential);
    let read = kcat(&kafka, "PLAIN", &["-C", "-t", "mqtt", "-o", "beginning", "-e", "-f", "%k=%s\n"], "").await;
    assert!(read.success && read.stdout.contains("sensors/t1=21.5"), "{}", read.stderr);

    // Applied means settled: nothing to change.
    let plan = workspace.terraform(&["plan", "-detailed-exitcode", "-no-color"]).await;
    assert_eq!(plan.code, 0, "a plan right after apply has changes:\n{}", plan.stdout);

    // An instance made outside Terraform (in the console) is adopted by import.
    let made = api.post("/v1/instances", json!({"name": "console-made", "plan": "developer"})).await;
    let made_id = made["id"].as_str().unwrap();
    let adopted = "resource \"omnibus_instance\" \"adopted\" {\n  name = \"console-made\"\n  plan = \"developer\"\n}\n";
    std::fs::write(workspace.dir.join("adopted.tf"), adopted).unwrap();
    let imported = workspace.terraform(&["import", "-no-color", "omnibus_instance.adopted", made_id]).await;
    assert_eq!(imported.code, 0, "terraform import failed:\n{}\n{}", imported.stdout, imported.stderr);
    let plan = workspace.terraform(&["plan", "-detailed-exitcode", "-no-color"]).await;
    assert_eq!(plan.code, 0, "the imported instance differs from its configuration:\n{}", plan.stdout);

    // A change through the REST API is drift, and apply puts it back.
    let instance_id = {
        let (_, list) = api.get("/v1/instances").await;
        let items = list["items"].as_array().unwrap().clone();
        items.iter().find(|i| i["name"] == "sensors").unwrap()["id"].as_str().unwrap().to_owned()
    };
    let (status, _) = api
        .call(reqwest::Method::PATCH, &format!("/v1/instances/{instance_id}"), Some(json!({"plan": "standard"})))
        .await;
    assert_eq!(status, 200);
    let plan = workspace.terraform(&["plan", "-detailed-exitcode", "-no-color"]).await;
    assert_eq!(plan.code, 2, "an out-of-band change went unseen:\n{}", plan.stdout);
    assert!(plan.stdout.contains("\"standard\" -> \"developer\""), "{}", plan.stdout);
    let reverted = workspace.terraform(&["apply", "-auto-approve", "-no-color"]).await;
    assert_eq!(reverted.code, 0, "{}\n{}", reverted.stdout, reverted.stderr);
    let (_, instance) = api.get(&format!("/v1/instances/{instance_id}")).await;
    assert_eq!(instance["plan"], "developer");

    // Another organization's key manages none of it.
    let mut other = Api::new(omnibus.base_url());
    other.signup("other@example.com", "Other").await;
    let (status, _) = other.get(&format!("/v1/instances/{instance_id}")).await;
    assert_eq!(status, 404);

    let destroyed = workspace.terraform(&["destroy", "-auto-approve", "-no-color"]).await;
    assert_eq!(destroyed.code, 0, "terraform destroy failed:\n{}\n{}", destroyed.stdout, destroyed.stderr);
    let (_, left) = api.get("/v1/instances").await;
    assert_eq!(left["items"], json!([]), "destroy left instances behind");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}

const COMPLETE: &str = include_str!("../../terraform/examples/complete/main.tf");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_manages_topics_mappings_keys_invitations_and_rotates_credentials() {
    let dir = temp_dir("omnibus-e2e-terraform-complete");
    let omnibus = Omnibus::start(&dir, &[]);
    let mut api = Api::new(omnibus.base_url());
    api.signup("factory@example.com", "Factory").await;
    let key = api.post("/v1/api-keys", json!({"name": "terraform", "role": "admin"})).await;
    let key = key["key"].as_str().unwrap().to_owned();
    let workspace = Workspace::new(&dir.join("tf"), COMPLETE, &omnibus.base_url(), &key);

    let applied = workspace.terraform(&["apply", "-auto-approve", "-no-color"]).await;
    assert_eq!(applied.code, 0, "terraform apply failed:\n{}\n{}", applied.stdout, applied.stderr);
    let outputs = workspace.outputs().await;
    let id = outputs["instance_id"]["value"].as_str().unwrap().to_owned();
    assert_eq!(outputs["instance_names"]["value"], json!(["factory"]));
    let (_, topic) = api.get(&format!("/v1/instances/{id}/topics/telemetry")).await;
    assert_eq!((topic["partitions"].as_i64(), topic["retention_ms"].as_i64()), (Some(3), Some(86_400_000)), "{topic}");
    let (_, mappings) = api.get(&format!("/v1/instances/{id}/mappings")).await;
    let mapping = mappings["items"].as_array().unwrap().iter().find(|m| m["mqtt_filter"] == "machines/#").cloned();
    assert_eq!(mapping.as_ref().map(|m| m["direction"].clone()), Some(json!("mqtt_to_kafka")), "{mappings}");
    assert_eq!(mapping.map(|m| m["mqtt_topic_prefix"].clone()), Some(json!("machines/")));
    let mut ci = Api::new(omnibus.base_url());
    ci.token = Some(outputs["ci_key"]["value"].as_str().unwrap().to_owned());
    assert_eq!(ci.get("/v1/instances").await.0, 200, "the API key Terraform made works");
    assert_eq!(
        ci.call(reqwest::Method::POST, "/v1/instances", Some(json!({"name": "x", "plan": "developer"}))).await.0,
        403
    );

    let plan = workspace.terraform(&["plan", "-detailed-exitcode", "-no-color"]).await;
    assert_eq!(plan.code, 0, "a plan right after apply has changes:\n{}", plan.stdout);

    // More partitions: in place. Fewer: the plan says the topic is replaced.
    let grown = workspace.terraform(&["apply", "-auto-approve", "-no-color", "-var", "partitions=6"]).await;
    assert_eq!(grown.code, 0, "{}\n{}", grown.stdout, grown.stderr);
    assert!(grown.stdout.contains("0 added, 1 changed, 0 destroyed"), "{}", grown.stdout);
    assert_eq!(api.get(&format!("/v1/instances/{id}/topics/telemetry")).await.1["partitions"], 6);
    let shrink = workspace.terraform(&["plan", "-no-color", "-var", "partitions=2"]).await;
    assert!(shrink.stdout.contains("must be replaced"), "{}", shrink.stdout);

    // The invitation went out, to the organization of the key.
    let (_, orgs) = api.get("/v1/organizations").await;
    let org = orgs["items"][0]["organization"]["id"].as_str().unwrap().to_owned();
    let (_, invitations) = api.get(&format!("/v1/organizations/{org}/invitations")).await;
    assert_eq!(invitations["items"][0]["email"], "operator@example.com", "{invitations}");

    // Rotation: a new credential is made before the old one goes.
    let before = outputs["machines_username"]["value"].as_str().unwrap().to_owned();
    let vars = ["-var", "partitions=6", "-var", "credential_generation=2"];
    let rotate = workspace.terraform(&[&["plan", "-no-color"][..], &vars].concat()).await;
    assert!(rotate.stdout.contains("create replacement and then destroy"), "{}", rotate.stdout);
    let rotated = workspace.terraform(&[&["apply", "-auto-approve", "-no-color"][..], &vars].concat()).await;
    assert_eq!(rotated.code, 0, "{}\n{}", rotated.stdout, rotated.stderr);
    let after = workspace.outputs().await["machines_username"]["value"].as_str().unwrap().to_owned();
    assert_ne!(before, after, "the credential was not replaced");
    let (_, credentials) = api.get(&format!("/v1/instances/{id}/credentials")).await;
    let names: Vec<&str> =
        credentials["items"].as_array().unwrap().iter().filter_map(|c| c["username"].as_str()).collect();
    assert!(names.contains(&after.as_str()) && !names.contains(&before.as_str()), "{names:?}");

    let destroyed = workspace.terraform(&[&["destroy", "-auto-approve", "-no-color"][..], &vars].concat()).await;
    assert_eq!(destroyed.code, 0, "{}\n{}", destroyed.stdout, destroyed.stderr);
    assert_eq!(ci.get("/v1/instances").await.0, 401, "the API key was not revoked");
    assert_eq!(api.get("/v1/instances").await.1["items"], json!([]));
    let (_, invitations) = api.get(&format!("/v1/organizations/{org}/invitations")).await;
    assert_eq!(invitations["items"], json!([]), "destroy left the invitation open");
    omnibus.assert_no_errors();
    drop(omnibus);
    let _ = std::fs::remove_dir_all(&dir);
}
