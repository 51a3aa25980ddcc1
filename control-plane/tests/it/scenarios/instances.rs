//! Instances: creation to `ready`, paging, isolation, changes, deletion, and the reconciler's lease.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::harness::Env;

pub async fn instances_become_ready_and_page(env: Env) {
    let (token, _, _) = env.signup("ops@example.com").await;
    // Create answers once the fleet has applied the namespace: ready at once.
    let instance = env.create_instance(&token, "sensors").await;
    assert_eq!(instance["status"], "ready", "{instance}");
    assert_eq!(instance["plan"], "developer");
    assert_eq!(instance["region"], "local");
    assert_eq!(instance["endpoints"]["mqtt"], format!("localhost:{}", env.mqtt.port()));
    assert!(instance["endpoints"]["mqtt_ws"].as_str().is_some_and(|e| e.starts_with("localhost:")), "{instance}");
    // The fleet has no certificate, so no TLS endpoints.
    assert_eq!(instance["endpoints"]["mqtt_tls"], Value::Null, "{instance}");
    assert_eq!(instance["endpoints"]["mqtt_wss"], Value::Null, "{instance}");
    let id = instance["id"].as_str().unwrap();

    let got = env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&token), None).await;
    assert_eq!(got.body, instance);
    env.call(Method::POST, "/v1/instances", Some(&token), Some(json!({"name": "sensors", "plan": "developer"})))
        .await
        .problem(409);

    env.create_instance(&token, "b").await;
    env.create_instance(&token, "c").await;
    let mut names = Vec::new();
    let mut path = "/v1/instances?page_size=2".to_string();
    let mut pages = 0;
    loop {
        let page = env.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        pages += 1;
        names.extend(page.body["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()));
        match page.body["next_page_token"].as_str() {
            Some(next) => path = format!("/v1/instances?page_size=2&page_token={next}"),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(names, ["sensors", "b", "c"]);
}

pub async fn instances_are_invisible_to_other_organizations(env: Env) {
    let (alice, _, _) = env.signup("alice@example.com").await;
    let (bob, _, _) = env.signup("bob@example.com").await;
    let instance = env.create_instance(&alice, "private").await;
    let id = instance["id"].as_str().unwrap();

    let listed = env.call(Method::GET, "/v1/instances", Some(&bob), None).await;
    assert_eq!(listed.body["items"], json!([]));
    env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&bob), None).await.problem(404);
    env.call(Method::DELETE, &format!("/v1/instances/{id}"), Some(&bob), None).await.problem(404);
    env.call(Method::GET, &format!("/v1/instances/{id}/credentials"), Some(&bob), None).await.problem(404);
    env.call(Method::POST, &format!("/v1/instances/{id}/credentials"), Some(&bob), Some(json!({}))).await.problem(404);
    let mappings = format!("/v1/instances/{id}/mappings");
    let default = env.call(Method::GET, &mappings, Some(&alice), None).await;
    let mapping = format!("{mappings}/{}", default.body["items"][0]["id"].as_str().unwrap());
    let body = json!({"mqtt_filter": "x/#", "kafka_topic": "x"});
    env.call(Method::GET, &mappings, Some(&bob), None).await.problem(404);
    env.call(Method::POST, &mappings, Some(&bob), Some(body.clone())).await.problem(404);
    env.call(Method::GET, &mapping, Some(&bob), None).await.problem(404);
    env.call(Method::PATCH, &mapping, Some(&bob), Some(body)).await.problem(404);
    env.call(Method::DELETE, &mapping, Some(&bob), None).await.problem(404);
    assert_eq!(env.call(Method::GET, &mappings, Some(&alice), None).await.body, default.body);
    // Names are per organization: Bob may use the same one.
    env.create_instance(&bob, "private").await;
    let still = env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&alice), None).await;
    assert_eq!(still.body["status"], "ready");
}

pub async fn deleting_an_instance_removes_it_from_the_fleet(env: Env) {
    let (token, _, _) = env.signup("del@example.com").await;
    let instance = env.create_instance(&token, "doomed").await;
    let id = instance["id"].as_str().unwrap();
    let deleted = env.call(Method::DELETE, &format!("/v1/instances/{id}"), Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{deleted:?}");
    assert_eq!(deleted.body["status"], "deleting");
    // No new credential for it: 409 while the fleet removes it, 404 once gone
    // (the reconciler may already have finished).
    let refused =
        env.call(Method::POST, &format!("/v1/instances/{id}/credentials"), Some(&token), Some(json!({}))).await;
    match refused.status.as_u16() {
        409 => assert!(refused.problem(409).contains("being deleted"), "{refused:?}"),
        _ => assert!(refused.problem(404).contains("no instance"), "{refused:?}"),
    }
    // Nor a new mapping.
    let mapping = json!({"mqtt_filter": "a/#", "kafka_topic": "a"});
    let refused = env.call(Method::POST, &format!("/v1/instances/{id}/mappings"), Some(&token), Some(mapping)).await;
    match refused.status.as_u16() {
        409 => assert!(refused.problem(409).contains("being deleted"), "{refused:?}"),
        _ => assert!(refused.problem(404).contains("no instance"), "{refused:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&token), None).await;
        if got.status == StatusCode::NOT_FOUND {
            got.problem(404);
            break;
        }
        assert_eq!(got.body["status"], "deleting");
        assert!(Instant::now() < deadline, "still there: {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The name is free again.
    assert_eq!(env.create_instance(&token, "doomed").await["status"], "ready");
}

pub async fn instances_are_renamed_and_change_plan_live(env: Env) {
    let (token, _, _) = env.signup("ada@example.com").await;
    let instance = env.create_instance(&token, "plant").await;
    let id = instance["id"].as_str().unwrap().to_string();
    let path = format!("/v1/instances/{id}");
    let patch = |body: Value| env.call(Method::PATCH, &path, Some(&token), Some(body));
    assert_eq!(env.broker_namespace(&id)["plan"], "developer", "{}", env.broker_namespace(&id));

    // Another plan reaches the fleet before the answer.
    let moved = patch(json!({"plan": "standard"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    assert_eq!((moved.body["plan"].as_str(), moved.body["status"].as_str()), (Some("standard"), Some("ready")));
    let namespace = env.broker_namespace(&id);
    assert_eq!(namespace["plan"], "standard", "{namespace}");
    assert_eq!(namespace["mqtt_limits"]["max_connections"], 10_000, "{namespace}");

    let renamed = patch(json!({"name": "plant-2"})).await;
    assert_eq!(renamed.body["name"], "plant-2", "{renamed:?}");
    assert_eq!(env.call(Method::GET, &path, Some(&token), None).await.body["name"], "plant-2");

    env.create_instance(&token, "taken").await;
    assert!(patch(json!({"name": "taken"})).await.problem(409).contains("already exists"));
    assert_eq!(patch(json!({"plan": "gold"})).await.body["field"], "plan");
    assert_eq!(patch(json!({"name": "Bad_Name"})).await.body["field"], "name");
    let stale = env
        .http
        .patch(format!("{}{path}", env.base))
        .bearer_auth(&token)
        .header("if-match", "\"stale\"")
        .json(&json!({"plan": "business"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(env.broker_namespace(&id)["plan"], "standard");

    // Another organization cannot see or change it.
    let (other, _, _) = env.signup("eve@example.com").await;
    env.call(Method::PATCH, &path, Some(&other), Some(json!({"plan": "business"}))).await.problem(404);
    assert_eq!(env.call(Method::GET, &path, Some(&token), None).await.body["plan"], "standard");
}

/// Another control plane on the same database holds an instance's lease:
/// this one's passes wait for it rather than apply alongside.
pub async fn reconcile_passes_wait_for_another_control_planes_lease(env: Env) {
    let (token, _, _) = env.signup("lease@example.com").await;
    let instance = env.create_instance(&token, "leased").await;
    let id = instance["id"].as_str().unwrap().to_string();
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&env.database_url).await.expect("open the database");
    let held_until = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 3_000;
    sqlx::query("INSERT INTO leases (name, holder, expires_at) VALUES ($1, 'another-control-plane', $2)")
        .bind(format!("instance:{id}"))
        .bind(held_until)
        .execute(&mut db)
        .await
        .unwrap();

    let path = format!("/v1/instances/{id}");
    let changed = env.call(Method::PATCH, &path, Some(&token), Some(json!({"plan": "standard"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["status"], "updating", "applied under another control plane's lease");
    assert_eq!(env.broker_namespace(&id)["plan"], "developer");

    // Once the lease lapses (its holder presumed dead), this one applies it.
    let started = Instant::now();
    loop {
        let now = env.call(Method::GET, &path, Some(&token), None).await;
        if now.body["status"] == "ready" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never applied: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(env.broker_namespace(&id)["plan"], "standard");
    // The pass gives the lease back once done, just after it wrote `ready`.
    let released = Instant::now();
    loop {
        let holder: Option<String> = sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
            .bind(format!("instance:{id}"))
            .fetch_optional(&mut db)
            .await
            .unwrap();
        if holder.is_none() {
            break;
        }
        assert!(released.elapsed() < Duration::from_secs(2), "the lease is not given back after the pass: {holder:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
