//! Platform operators: fleets registered, placed on by load, drained and
//! removed; per-instance quota overrides reaching the fleet; the platform's
//! audit log; and none of it open to tenants or API keys.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Env;

/// Each fleet's name and how many instances it holds, as operators see them.
async fn fleet_counts(env: &Env, operator: &str) -> Vec<(String, u64)> {
    let fleets = env.call(Method::GET, "/v1/operator/fleets", Some(operator), None).await;
    assert_eq!(fleets.status, StatusCode::OK, "{fleets:?}");
    fleets.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["instances"].as_u64().unwrap()))
        .collect()
}

async fn create_in(env: &Env, token: &str, name: &str, region: &str) -> Value {
    let body = json!({"name": name, "plan": "developer", "region": region});
    let a = env.call(Method::POST, "/v1/instances", Some(token), Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(a.body["status"], "ready", "{a:?}");
    a.body
}

async fn delete_and_wait(env: &Env, token: &str, id: &str) {
    let deleted = env.call(Method::DELETE, &format!("/v1/instances/{id}"), Some(token), None).await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED, "{deleted:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.call(Method::GET, &format!("/v1/instances/{id}"), Some(token), None).await.status != StatusCode::NOT_FOUND
    {
        assert!(Instant::now() < deadline, "instance {id} is still there");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn operators_register_fleets_place_by_load_and_drain(env: Env) {
    let (tenant, _, _) = env.signup("tenant@example.com").await;
    let (operator, _, _) = env.signup("ops@example.com").await;

    // Nobody is an operator by signing up, whatever their role in their organization.
    for token in [&tenant, &operator] {
        let detail = env.call(Method::GET, "/v1/operator/fleets", Some(token), None).await.problem(403);
        assert!(detail.contains("platform operators"), "{detail}");
    }
    env.call(Method::GET, "/v1/operator/fleets", None, None).await.problem(401);
    env.grant_operator("OPS@example.com", true).await;

    // The configured region's fleet is there from the start.
    let fleets = env.call(Method::GET, "/v1/operator/fleets", Some(&operator), None).await;
    assert_eq!(fleets.status, StatusCode::OK, "{fleets:?}");
    let local = &fleets.body["items"][0];
    assert_eq!(
        (&local["name"], &local["region"], &local["capacity"], &local["state"], &local["instances"]),
        (&json!("local"), &json!("local"), &json!(1000), &json!("active"), &json!(0)),
        "{fleets:?}"
    );
    assert_eq!(fleets.body["items"].as_array().unwrap().len(), 1);

    // An operator's API key is its organization's, not the platform's.
    let key =
        env.call(Method::POST, "/v1/api-keys", Some(&operator), Some(json!({"name": "ci", "role": "owner"}))).await;
    let key = key.body["key"].as_str().unwrap().to_string();
    let detail = env.call(Method::GET, "/v1/operator/fleets", Some(&key), None).await.problem(403);
    assert!(detail.contains("not an API key"), "{detail}");

    // Registration is validated.
    let other = env.start_broker("broker-b").await;
    let register = |body: Value| env.call(Method::POST, "/v1/operator/fleets", Some(&operator), Some(body));
    for (body, field) in [
        (json!({"name": "b", "region": "local", "endpoint": "https://x:9190", "capacity": 5}), "endpoint"),
        (json!({"name": "b", "region": "local", "endpoint": "fleet-b", "capacity": 5}), "endpoint"),
        (json!({"name": "b", "region": "local", "endpoint": other.endpoint, "capacity": 0}), "capacity"),
        (json!({"name": "B!", "region": "local", "endpoint": other.endpoint, "capacity": 5}), "name"),
        (json!({"name": "b", "region": "Local", "endpoint": other.endpoint, "capacity": 5}), "region"),
    ] {
        let a = register(body).await;
        a.problem(422);
        assert_eq!(a.body["field"], field, "{a:?}");
    }
    register(json!({"name": "b", "region": "local", "endpoint": other.endpoint, "capacity": 5, "zone": "a"}))
        .await
        .problem(422);
    register(json!({"name": "local", "region": "local", "endpoint": other.endpoint, "capacity": 5})).await.problem(409);
    // Tenants cannot register one.
    env.call(
        Method::POST,
        "/v1/operator/fleets",
        Some(&tenant),
        Some(json!({"name": "mine", "region": "local", "endpoint": other.endpoint, "capacity": 5})),
    )
    .await
    .problem(403);

    let b = register(json!({"name": "local-b", "region": "local", "endpoint": other.endpoint, "capacity": 1000})).await;
    assert_eq!(b.status, StatusCode::CREATED, "{b:?}");
    assert_eq!(b.body["state"], "active");
    let b_id = b.body["id"].as_str().unwrap().to_string();

    // Placement by load: a tie goes by name, then to the emptier fleet.
    let first = create_in(&env, &tenant, "first", "local").await;
    let second = create_in(&env, &tenant, "second", "local").await;
    let (first, second) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    assert_eq!(fleet_counts(&env, &operator).await, [("local".into(), 1), ("local-b".into(), 1)]);
    assert_eq!(env.broker_namespace(first)["plan"], "developer");
    assert_eq!(other.namespace(second)["plan"], "developer", "the second instance is on the second broker");
    assert!(other.namespace(first).is_null(), "and only there");

    // Draining: the fleet keeps its instance and takes no new one.
    let drained = env.call(Method::POST, &format!("/v1/operator/fleets/{b_id}/drain"), Some(&operator), None).await;
    assert_eq!((drained.status, &drained.body["state"]), (StatusCode::OK, &json!("draining")), "{drained:?}");
    let third = create_in(&env, &tenant, "third", "local").await;
    let third = third["id"].as_str().unwrap().to_string();
    assert_eq!(fleet_counts(&env, &operator).await, [("local".into(), 2), ("local-b".into(), 1)]);
    assert!(other.namespace(&third).is_null());
    assert_eq!(other.namespace(second)["plan"], "developer", "a drained fleet keeps serving its instances");

    // A new region, with room for one instance.
    let eu = register(json!({"name": "eu-1", "region": "eu-west", "endpoint": other.endpoint, "capacity": 1})).await;
    assert_eq!(eu.status, StatusCode::CREATED, "{eu:?}");
    let eu_id = eu.body["id"].as_str().unwrap().to_string();
    let regions = env.call(Method::GET, "/v1/regions", None, None).await;
    assert_eq!(
        regions.body["items"],
        json!([{"name": "eu-west", "default": false}, {"name": "local", "default": true}]),
        "{regions:?}"
    );
    let in_eu = create_in(&env, &tenant, "paris", "eu-west").await;
    assert_eq!(in_eu["region"], "eu-west");
    let in_eu = in_eu["id"].as_str().unwrap().to_string();
    assert_eq!(other.namespace(&in_eu)["plan"], "developer");
    let full = env
        .call(
            Method::POST,
            "/v1/instances",
            Some(&tenant),
            Some(json!({"name": "lyon", "plan": "developer", "region": "eu-west"})),
        )
        .await;
    assert!(full.problem(503).contains("full or draining"), "{full:?}");
    let unknown = env
        .call(
            Method::POST,
            "/v1/instances",
            Some(&tenant),
            Some(json!({"name": "lyon", "plan": "developer", "region": "mars"})),
        )
        .await;
    assert!(unknown.problem(422).contains("eu-west, local"), "{unknown:?}");

    // Creates at once never fill a fleet past its capacity.
    let ap = register(json!({"name": "ap-1", "region": "ap-south", "endpoint": other.endpoint, "capacity": 2})).await;
    assert_eq!(ap.status, StatusCode::CREATED, "{ap:?}");
    let create = |name: &'static str| {
        env.call(
            Method::POST,
            "/v1/instances",
            Some(&tenant),
            Some(json!({"name": name, "plan": "developer", "region": "ap-south"})),
        )
    };
    let raced = tokio::join!(create("r1"), create("r2"), create("r3"), create("r4"), create("r5"));
    let statuses = [raced.0.status, raced.1.status, raced.2.status, raced.3.status, raced.4.status];
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE).count(), 3, "{statuses:?}");
    let ap = env
        .call(Method::GET, &format!("/v1/operator/fleets/{}", ap.body["id"].as_str().unwrap()), Some(&operator), None)
        .await;
    assert_eq!(ap.body["instances"], 2, "{ap:?}");

    // Changes are conditional on the ETag.
    let path = format!("/v1/operator/fleets/{eu_id}");
    let (got, tag) = env.call_with(Method::GET, &path, &operator, ("if-none-match", "\"x\""), None).await;
    assert_eq!(got.status, StatusCode::OK);
    let tag = tag.expect("an ETag");
    let (stale, _) =
        env.call_with(Method::PATCH, &path, &operator, ("if-match", "\"stale\""), Some(json!({"capacity": 2}))).await;
    stale.problem(412);
    let (grown, _) =
        env.call_with(Method::PATCH, &path, &operator, ("if-match", &tag), Some(json!({"capacity": 2}))).await;
    assert_eq!((grown.status, &grown.body["capacity"]), (StatusCode::OK, &json!(2)), "{grown:?}");
    assert_eq!(create_in(&env, &tenant, "lyon", "eu-west").await["region"], "eu-west");
    env.call(Method::PATCH, &path, Some(&operator), Some(json!({"endpoint": "ftp://x"}))).await.problem(422);

    // A fleet holding instances is not removed; an emptied one is.
    let busy = env.call(Method::DELETE, &format!("/v1/operator/fleets/{b_id}"), Some(&operator), None).await;
    assert!(busy.problem(409).contains("drain it"), "{busy:?}");
    delete_and_wait(&env, &tenant, second).await;
    assert!(other.namespace(second).is_null(), "deleted from the fleet it was on");
    let gone = env.call(Method::DELETE, &format!("/v1/operator/fleets/{b_id}"), Some(&operator), None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{gone:?}");
    env.call(Method::GET, &format!("/v1/operator/fleets/{b_id}"), Some(&operator), None).await.problem(404);
    let resumed = env.call(Method::POST, &format!("/v1/operator/fleets/{b_id}/resume"), Some(&operator), None).await;
    resumed.problem(404);

    // The platform's log has the operator's calls; no organization's log has them.
    let log = env
        .call(Method::GET, "/v1/operator/audit-events?action=POST%20/v1/operator/fleets", Some(&operator), None)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{log:?}");
    let events = log.body["items"].as_array().unwrap();
    assert!(events.iter().any(|e| e["outcome"] == "success" && e["target"] == format!("/v1/operator/fleets/{b_id}")));
    assert!(events.iter().all(|e| e["actor"].as_str().unwrap().starts_with("user:")), "{log:?}");
    for token in [&operator, &tenant] {
        let own = env.call(Method::GET, "/v1/audit-events?action=POST%20/v1/operator/fleets", Some(token), None).await;
        assert_eq!(own.body["items"], json!([]), "{own:?}");
    }
    env.call(Method::GET, "/v1/operator/audit-events", Some(&tenant), None).await.problem(403);

    // A withdrawn grant takes effect at once.
    env.grant_operator("ops@example.com", false).await;
    env.call(Method::GET, "/v1/operator/fleets", Some(&operator), None).await.problem(403);
}

pub async fn operators_override_an_instances_quotas_live(env: Env) {
    let (tenant, _, _) = env.signup("quota-tenant@example.com").await;
    let (operator, _, _) = env.signup("quota-ops@example.com").await;
    env.grant_operator("quota-ops@example.com", true).await;
    let instance = env.create_instance(&tenant, "metered").await;
    let id = instance["id"].as_str().unwrap().to_string();
    let path = format!("/v1/operator/instances/{id}/quotas");

    let quotas = env.call(Method::GET, &path, Some(&operator), None).await;
    assert_eq!(quotas.status, StatusCode::OK, "{quotas:?}");
    assert_eq!(quotas.body["plan"], "developer");
    assert_eq!(quotas.body["overrides"], json!({}));
    assert_eq!(quotas.body["effective_mqtt"], quotas.body["plan_mqtt"]);
    assert_eq!(quotas.body["plan_mqtt"]["max_connections"], 100);

    // Tenants may not raise their own quotas, not even the owner.
    env.call(Method::PUT, &path, Some(&tenant), Some(json!({"max_connections": 100000}))).await.problem(403);
    env.call(Method::GET, &path, Some(&tenant), None).await.problem(403);

    let set = env
        .call(Method::PUT, &path, Some(&operator), Some(json!({"max_connections": 3, "max_packet_size": 4194304})))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["overrides"], json!({"max_connections": 3, "max_packet_size": 4194304}));
    assert_eq!(set.body["effective_mqtt"]["max_connections"], 3);
    assert_eq!(set.body["effective_mqtt"]["max_subscriptions_per_session"], 100, "the plan's where none is set");
    // Applied to the fleet, and the instance is ready again.
    let namespace = env.broker_namespace(&id);
    assert_eq!(namespace["mqtt_limits"]["max_connections"], 3, "{namespace}");
    assert_eq!(namespace["mqtt_limits"]["max_packet_size"], 4194304, "{namespace}");
    let got = env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&tenant), None).await;
    assert_eq!(got.body["status"], "ready", "{got:?}");

    // They outlive a plan change: the new plan's limits, the overrides over them.
    let changed =
        env.call(Method::PATCH, &format!("/v1/instances/{id}"), Some(&tenant), Some(json!({"plan": "standard"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    let namespace = env.broker_namespace(&id);
    assert_eq!(namespace["mqtt_limits"]["max_connections"], 3, "{namespace}");
    assert_eq!(namespace["mqtt_limits"]["max_inflight"], 128, "{namespace}");

    // Validated: zero, unknown fields, a packet size MQTT cannot carry.
    for body in [json!({"max_connections": 0}), json!({"max_wishes": 5}), json!({"max_packet_size": 16})] {
        env.call(Method::PUT, &path, Some(&operator), Some(body)).await.problem(422);
    }
    env.call(Method::PUT, "/v1/operator/instances/nope/quotas", Some(&operator), Some(json!({}))).await.problem(404);

    // Rates too, to the fleet.
    let rates = env.call(Method::PUT, &path, Some(&operator), Some(json!({"messages_in_per_second": 50}))).await;
    assert_eq!(rates.body["effective_rates"]["messages_in_per_second"], 50, "{rates:?}");
    assert_eq!(rates.body["plan_rates"]["messages_in_per_second"], 200_000, "{rates:?}");
    let namespace = env.broker_namespace(&id);
    assert_eq!(namespace["rate_limits"]["messages_in_per_second"], 50, "{namespace}");
    assert_eq!(namespace["rate_limits"]["bytes_in_per_second"], 100 * 1024 * 1024, "{namespace}");

    // `{}` clears them.
    let cleared = env.call(Method::PUT, &path, Some(&operator), Some(json!({}))).await;
    assert_eq!(cleared.body["effective_mqtt"]["max_connections"], 10_000, "{cleared:?}");
    assert_eq!(env.broker_namespace(&id)["mqtt_limits"]["max_connections"], 10_000);
}
