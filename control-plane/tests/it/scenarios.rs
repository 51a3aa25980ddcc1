//! What a user of the REST API checks, one scenario per function.

use std::time::{Duration, Instant};

use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::harness::{Env, JWT_SECRET};

pub async fn signup_login_and_refresh(env: Env) {
    let (access, refresh, body) = env.signup("ada@example.com").await;
    assert_eq!(body["user"]["email"], "ada@example.com");
    assert_eq!(body["organization"]["name"], "Test Org");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert!(env.call(Method::GET, "/v1/instances", Some(&access), None).await.status.is_success());

    // Emails are case-insensitive; a wrong password and an unknown email get the same answer.
    let login = env
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "ADA@example.com", "password": "a long passphrase"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    assert!(login.body["access_token"].is_string() && login.body["refresh_token"].is_string());
    let wrong = env
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "not the passphrase"})),
        )
        .await
        .problem(401);
    let unknown = env
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "bob@example.com", "password": "a long passphrase"})),
        )
        .await
        .problem(401);
    assert_eq!(wrong, unknown);

    // A refresh gives a working new pair.
    let refreshed = env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
    assert_ne!(refreshed.body["refresh_token"], json!(refresh));
    let new_access = refreshed.body["access_token"].as_str().unwrap();
    assert!(env.call(Method::GET, "/v1/instances", Some(new_access), None).await.status.is_success());
}

pub async fn refresh_token_reuse_revokes_the_family(env: Env) {
    let (_, first, _) = env.signup("eve@example.com").await;
    let second = env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": first}))).await;
    let second = second.body["refresh_token"].as_str().unwrap().to_string();
    // The spent token comes back: refused, and the token issued after it dies too.
    env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": first}))).await.problem(401);
    env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": second}))).await.problem(401);
    env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": "omr_made_up"}))).await.problem(401);
}

pub async fn malformed_requests_get_problem_documents(env: Env) {
    let detail = env.raw(Method::POST, "/v1/auth/signup", Some("application/json"), "{\"email\": ").await.problem(400);
    assert!(!detail.is_empty());
    let detail = env
        .raw(
            Method::POST,
            "/v1/auth/signup",
            Some("application/json"),
            r#"{"email": "a@example.com", "password": "a long passphrase"}"#,
        )
        .await
        .problem(422);
    assert!(detail.contains("organization_name"), "{detail}");
    env.raw(Method::POST, "/v1/auth/signup", Some("text/plain"), "{}").await.problem(415);
    env.raw(Method::POST, "/v1/auth/signup", None, "").await.problem(415);
    // Bodies over 2 MiB are refused whole, with or without an Idempotency-Key.
    // The server answers before reading them and closes the connection, so a
    // client may see it reset while still sending (such tries are repeated),
    // and the connection is not one to reuse (a client of its own).
    let huge = format!(r#"{{"email": "{}@example.com"}}"#, "a".repeat(3 << 20));
    for key in [None, Some("huge-1")] {
        let mut answered = None;
        for _ in 0..5 {
            let mut request = reqwest::Client::new()
                .post(format!("{}/v1/auth/signup", env.base))
                .header("content-type", "application/json")
                .body(huge.clone());
            if let Some(key) = key {
                request = request.header("idempotency-key", key);
            }
            if let Ok(response) = request.send().await {
                let status = response.status();
                answered = Some((status, response.json::<Value>().await.unwrap_or(Value::Null)));
                break;
            }
        }
        let (status, problem) = answered.expect("an answer to an oversized body");
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("larger than")), "{problem}");
    }

    let signup = |email: &str, password: &str| json!({"email": email, "password": password, "organization_name": "X"});
    let a = env.call(Method::POST, "/v1/auth/signup", None, Some(signup("not-an-email", "a long passphrase"))).await;
    assert_eq!(a.problem(422), a.body["detail"].as_str().unwrap());
    assert_eq!(a.body["field"], "email");
    let a = env.call(Method::POST, "/v1/auth/signup", None, Some(signup("x@example.com", "short"))).await;
    a.problem(422);
    assert_eq!(a.body["field"], "password");

    let (token, _, _) = env.signup("dup@example.com").await;
    let detail = env
        .call(Method::POST, "/v1/auth/signup", None, Some(signup("DUP@example.com", "another long passphrase")))
        .await
        .problem(409);
    assert!(detail.contains("already exists"), "{detail}");

    let create = |body: Value| env.call(Method::POST, "/v1/instances", Some(&token), Some(body));
    assert_eq!(create(json!({"name": "Bad_Name", "plan": "developer"})).await.body["field"], "name");
    assert_eq!(create(json!({"name": "ok", "plan": "platinum"})).await.body["field"], "plan");
    assert_eq!(create(json!({"name": "ok", "plan": "developer", "region": "mars"})).await.body["field"], "region");
    create(json!({"plan": "developer"})).await.problem(422);
    let unknown = create(json!({"name": "ok", "plan": "developer", "colour": "red"})).await;
    assert!(unknown.problem(422).contains("colour"), "{unknown:?}");
    env.call(Method::GET, "/v1/instances?page_size=0", Some(&token), None).await.problem(422);
    env.call(Method::GET, "/v1/instances?page_size=lots", Some(&token), None).await.problem(422);
    env.call(Method::GET, "/v1/instances?page_token=%%%", Some(&token), None).await.problem(422);
    env.call(Method::GET, "/v1/nothing-here", Some(&token), None).await.problem(404);
    env.call(Method::PUT, "/v1/instances", Some(&token), None).await.problem(405);
    env.call(Method::GET, "/v1/instances/no-such-id", Some(&token), None).await.problem(404);
}

pub async fn bad_tokens_are_refused(env: Env) {
    let (token, _, body) = env.signup("mallory@example.com").await;
    let user = body["user"]["id"].as_str().unwrap();
    let org = body["organization"]["id"].as_str().unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let mint = |iat: u64, exp: u64, key: &str| {
        let claims = json!({"sub": user, "org": org, "iss": "omnibus", "iat": iat, "exp": exp});
        jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
    };
    // Our own key accepts a fresh token: the minting is right.
    assert!(
        env.call(Method::GET, "/v1/instances", Some(&mint(now, now + 60, JWT_SECRET)), None).await.status.is_success()
    );

    let expired = mint(now - 3600, now - 600, JWT_SECRET);
    let forged = mint(now, now + 60, "some-other-key-some-other-key-some");
    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() - 3;
    tampered[i] = if tampered[i] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [expired.as_str(), forged.as_str(), tampered.as_str(), "garbage"] {
        env.call(Method::GET, "/v1/instances", Some(bad), None).await.problem(401);
    }
    env.call(Method::GET, "/v1/instances", None, None).await.problem(401);
}

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

pub async fn credentials_show_their_password_once(env: Env) {
    let (token, _, _) = env.signup("cred@example.com").await;
    let instance = env.create_instance(&token, "plant").await;
    let id = instance["id"].as_str().unwrap();
    let path = format!("/v1/instances/{id}/credentials");

    let created = env.call(Method::POST, &path, Some(&token), Some(json!({"name": "gateway"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let password = created.body["password"].as_str().unwrap();
    assert!(password.len() >= 32);
    assert!(created.body["username"].as_str().unwrap().starts_with("plant-"));
    assert_eq!(created.body["endpoints"]["mqtt"], instance["endpoints"]["mqtt"]);
    assert_eq!(created.body["acl"][0]["topic"], "#");
    let cid = created.body["id"].as_str().unwrap();

    let listed = env.call(Method::GET, &path, Some(&token), None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "gateway");
    assert!(items[0].get("password").is_none());
    assert!(!listed.body.to_string().contains(password), "the password leaks in the list");

    let second = env.call(Method::POST, &path, Some(&token), Some(json!({}))).await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_ne!(second.body["username"], created.body["username"]);
    assert_ne!(second.body["password"], created.body["password"]);

    let deleted = env.call(Method::DELETE, &format!("{path}/{cid}"), Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    env.call(Method::DELETE, &format!("{path}/{cid}"), Some(&token), None).await.problem(404);
    let listed = env.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

pub async fn credential_acl_is_validated(env: Env) {
    let (token, _, _) = env.signup("acl@example.com").await;
    let instance = env.create_instance(&token, "acl").await;
    let path = format!("/v1/instances/{}/credentials", instance["id"].as_str().unwrap());
    for acl in [
        json!([{"topic": "a/#/b", "actions": ["publish"]}]),
        json!([{"topic": "a", "actions": []}]),
        json!([{"topic": "", "actions": ["subscribe"]}]),
    ] {
        let a = env.call(Method::POST, &path, Some(&token), Some(json!({"acl": acl}))).await;
        a.problem(422);
        assert_eq!(a.body["field"], "acl");
    }
    env.call(Method::POST, &path, Some(&token), Some(json!({"acl": [{"topic": "a", "actions": ["fly"]}]})))
        .await
        .problem(422);
    let ok = env
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"acl": [{"topic": "sensors/+/temp", "actions": ["publish"]}]})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    assert_eq!(ok.body["acl"], json!([{"topic": "sensors/+/temp", "actions": ["publish"]}]));
}

pub async fn mappings_start_with_the_default_and_reach_the_fleet(env: Env) {
    let (token, _, _) = env.signup("bridge@example.com").await;
    let instance = env.create_instance(&token, "bridge").await;
    let id = instance["id"].as_str().unwrap();
    let path = format!("/v1/instances/{id}/mappings");

    // A new instance has the default mapping, and the broker has it already.
    let listed = env.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed:?}");
    let default = &items[0];
    assert_eq!(default["instance_id"], id);
    assert_eq!(
        (&default["mqtt_filter"], &default["kafka_topic"], &default["direction"], &default["mqtt_topic_prefix"]),
        (&json!("#"), &json!("mqtt"), &json!("both"), &json!(""))
    );
    assert!(default["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{default}");
    assert!(listed.body["next_page_token"].is_null());
    let default_id = default["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.broker_mappings(id),
        json!([{"id": default_id, "mqtt_filter": "#", "kafka_topic": "mqtt", "direction": "both"}])
    );

    // Create: 201 with the mapping and where it lives; the broker has the new set.
    let created = env
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"mqtt_filter": "sensors/+/temp", "kafka_topic": "temperatures", "direction": "mqtt_to_kafka"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["direction"], "mqtt_to_kafka");
    assert_eq!(created.body["mqtt_filter"], "sensors/+/temp");
    assert_eq!(created.body["kafka_topic"], "temperatures");
    let mid = created.body["id"].as_str().unwrap().to_string();
    let got = env.call(Method::GET, &format!("{path}/{mid}"), Some(&token), None).await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");
    assert_eq!(got.body, created.body);
    let broker = env.broker_mappings(id);
    assert_eq!(broker.as_array().unwrap().len(), 2, "{broker}");
    assert_eq!(
        broker[1],
        json!({"id": mid, "mqtt_filter": "sensors/+/temp", "kafka_topic": "temperatures", "direction": "mqtt_to_kafka"})
    );

    // The direction defaults to both.
    let commands = env
        .call(Method::POST, &path, Some(&token), Some(json!({"mqtt_filter": "cmd/#", "kafka_topic": "commands"})))
        .await;
    assert_eq!(commands.status, StatusCode::CREATED, "{commands:?}");
    assert_eq!(commands.body["direction"], "both");
    let commands_id = commands.body["id"].as_str().unwrap().to_string();
    // A topic prefix the Kafka side does not see reaches the broker, and "" removes it.
    let prefixed = env
        .call(Method::PATCH, &format!("{path}/{commands_id}"), Some(&token), Some(json!({"mqtt_topic_prefix": "cmd/"})))
        .await;
    assert_eq!(prefixed.body["mqtt_topic_prefix"], "cmd/", "{prefixed:?}");
    assert_eq!(env.broker_mappings(id)[2]["mqtt_topic_prefix"], "cmd/");
    let plain = env
        .call(Method::PATCH, &format!("{path}/{commands_id}"), Some(&token), Some(json!({"mqtt_topic_prefix": ""})))
        .await;
    assert_eq!(plain.body["mqtt_topic_prefix"], "", "{plain:?}");
    assert_eq!(env.broker_mappings(id)[2].get("mqtt_topic_prefix"), None);

    // Change: PATCH changes only what it names, and the broker follows.
    let changed = env
        .call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(json!({"direction": "kafka_to_mqtt"})))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["direction"], "kafka_to_mqtt");
    assert_eq!(changed.body["mqtt_filter"], "sensors/+/temp");
    assert_eq!(changed.body["created_at"], created.body["created_at"]);
    assert_eq!(env.broker_mappings(id)[1]["direction"], "kafka_to_mqtt");
    let moved =
        env.call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(json!({"kafka_topic": "temps.v2"}))).await;
    assert_eq!(moved.body["kafka_topic"], "temps.v2", "{moved:?}");
    assert_eq!(moved.body["direction"], "kafka_to_mqtt");
    // Onto another mapping's pair: 409; an unchanged PATCH is fine.
    let clash = json!({"mqtt_filter": "cmd/#", "kafka_topic": "commands"});
    let detail = env.call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(clash)).await.problem(409);
    assert!(detail.contains("already maps"), "{detail}");
    let same = env.call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(json!({}))).await;
    assert_eq!(same.body, moved.body);
    env.call(Method::PATCH, &format!("{path}/no-such-mapping"), Some(&token), Some(json!({}))).await.problem(404);

    // Pages, oldest first.
    let first = env.call(Method::GET, &format!("{path}?page_size=2"), Some(&token), None).await;
    let ids: Vec<_> = first.body["items"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, [json!(default_id), json!(mid)]);
    let next = first.body["next_page_token"].as_str().unwrap();
    let second = env.call(Method::GET, &format!("{path}?page_size=2&page_token={next}"), Some(&token), None).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["id"], json!(commands_id));

    // Delete, the default included: the broker is left with the rest, then none.
    let deleted = env.call(Method::DELETE, &format!("{path}/{default_id}"), Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    env.call(Method::GET, &format!("{path}/{default_id}"), Some(&token), None).await.problem(404);
    env.call(Method::DELETE, &format!("{path}/{default_id}"), Some(&token), None).await.problem(404);
    let left: Vec<_> = env.broker_mappings(id).as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(left, [json!(mid), json!(commands_id)]);
    for gone in [&mid, &commands_id] {
        let deleted = env.call(Method::DELETE, &format!("{path}/{gone}"), Some(&token), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    }
    assert_eq!(env.call(Method::GET, &path, Some(&token), None).await.body["items"], json!([]));
    assert_eq!(env.broker_mappings(id), json!([]));
    // A user may put the default back.
    let back =
        env.call(Method::POST, &path, Some(&token), Some(json!({"mqtt_filter": "#", "kafka_topic": "mqtt"}))).await;
    assert_eq!(back.status, StatusCode::CREATED, "{back:?}");
    assert_eq!(env.broker_mappings(id).as_array().unwrap().len(), 1);
}

pub async fn mapping_input_is_validated(env: Env) {
    let (token, _, _) = env.signup("mapcheck@example.com").await;
    let instance = env.create_instance(&token, "mapcheck").await;
    let path = format!("/v1/instances/{}/mappings", instance["id"].as_str().unwrap());
    let create = |body: Value| env.call(Method::POST, &path, Some(&token), Some(body));
    let long_topic = "t".repeat(250);
    for (body, field) in [
        (json!({"mqtt_filter": "a/#/b", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "a+", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "$share/g/a", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "$delayed/10/a", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "a", "kafka_topic": ""}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "."}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": ".."}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "a/b"}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "a b"}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": long_topic}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "t", "direction": "sideways"}), "body"),
        (json!({"mqtt_filter": "a/#", "kafka_topic": "t", "mqtt_topic_prefix": "a/+/"}), "mqtt_topic_prefix"),
        (json!({"mqtt_filter": "sensors/#", "kafka_topic": "t", "mqtt_topic_prefix": "devices/"}), "mqtt_topic_prefix"),
        (json!({"kafka_topic": "t"}), "body"),
    ] {
        let a = create(body.clone()).await;
        a.problem(422);
        assert_eq!(a.body["field"], field, "{body}: {a:?}");
    }
    let a = create(json!({"mqtt_filter": "a", "kafka_topic": "t".repeat(249)})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");

    // The same filter and topic twice: 409, whatever the direction.
    let first = create(json!({"mqtt_filter": "s/#", "kafka_topic": "s", "direction": "mqtt_to_kafka"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let detail =
        create(json!({"mqtt_filter": "s/#", "kafka_topic": "s", "direction": "kafka_to_mqtt"})).await.problem(409);
    assert!(detail.contains("already maps"), "{detail}");
    // A PATCH is checked like a create.
    let mapping = format!("{path}/{}", first.body["id"].as_str().unwrap());
    for (body, field) in [
        (json!({"mqtt_filter": "$share/g/s"}), "mqtt_filter"),
        (json!({"kafka_topic": ".."}), "kafka_topic"),
        (json!({"direction": "up"}), "body"),
        (json!({"mqtt_topic_prefix": "other/", "direction": "both"}), "mqtt_topic_prefix"),
    ] {
        let a = env.call(Method::PATCH, &mapping, Some(&token), Some(body.clone())).await;
        a.problem(422);
        assert_eq!(a.body["field"], field, "{body}: {a:?}");
    }
    assert_eq!(env.call(Method::GET, &mapping, Some(&token), None).await.body, first.body);
    // Nothing goes to MQTT, so the prefix only shortens keys: any prefix fits.
    let shortened = env.call(Method::PATCH, &mapping, Some(&token), Some(json!({"mqtt_topic_prefix": "other/"}))).await;
    assert_eq!(shortened.status, StatusCode::OK, "{shortened:?}");
    // Now records would reach MQTT under a prefix the filter does not match.
    let a = env.call(Method::PATCH, &mapping, Some(&token), Some(json!({"direction": "both"}))).await;
    a.problem(422);
    assert_eq!(a.body["field"], "mqtt_topic_prefix", "{a:?}");

    // At most 100 per instance: the default and the two above, then 97 more.
    for i in 0..97 {
        let a = create(json!({"mqtt_filter": format!("n/{i}"), "kafka_topic": "n"})).await;
        assert_eq!(a.status, StatusCode::CREATED, "{i}: {a:?}");
    }
    let detail = create(json!({"mqtt_filter": "n/last", "kafka_topic": "n"})).await.problem(409);
    assert!(detail.contains("at most 100"), "{detail}");
    let all = env.call(Method::GET, &format!("{path}?page_size=200"), Some(&token), None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 100);
}

pub async fn plans_are_public_priced_and_paged(env: Env) {
    let all = env.call(Method::GET, "/v1/plans", None, None).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    let items = all.body["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["developer", "standard", "business"]);
    assert!(all.body["next_page_token"].is_null());
    let prices: Vec<u64> = items.iter().map(|p| p["price"]["amount_cents"].as_u64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] < w[1]), "cheapest first: {prices:?}");
    for plan in items {
        assert_eq!(plan["price"]["currency"], "USD");
        assert_eq!(plan["price"]["period"], "month");
        assert!(plan["mqtt"]["max_connections"].as_u64().unwrap() > 0, "{plan}");
        assert!(plan["mqtt"]["max_packet_size"].as_u64().unwrap() >= 256 * 1024, "{plan}");
    }
    assert_eq!(items[0]["durability"], json!({"mode": "interval", "flush_interval_ms": 1000}));
    assert_eq!(items[1]["durability"], json!({"mode": "fsync"}));

    // Every plan the catalogue lists can be chosen.
    let (token, _, _) = env.signup("plans@example.com").await;
    for name in names {
        let created =
            env.call(Method::POST, "/v1/instances", Some(&token), Some(json!({"name": name, "plan": name}))).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        assert_eq!(created.body["plan"], name);
    }

    let first = env.call(Method::GET, "/v1/plans?page_size=2", None, None).await;
    let first_names: Vec<&str> =
        first.body["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(first_names, ["developer", "standard"]);
    let next = first.body["next_page_token"].as_str().expect("a second page");
    let second = env.call(Method::GET, &format!("/v1/plans?page_size=2&page_token={next}"), None, None).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["name"], "business");
    assert!(second.body["next_page_token"].is_null());
    env.call(Method::GET, "/v1/plans?page_token=bm9wZQ", None, None).await.problem(422);
    let regions = env.call(Method::GET, "/v1/regions", None, None).await;
    assert_eq!(regions.body["items"], json!([{"name": "local", "default": true}]), "{regions:?}");
    env.call(Method::GET, "/v1/plans?page_size=0", None, None).await.problem(422);
}

pub async fn requests_carry_an_id(env: Env) {
    let get = |path: &'static str, id: Option<&'static str>| {
        let mut request = env.http.get(format!("{}{path}", env.base));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        async move {
            let response = request.send().await.expect("request");
            let id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_string());
            (response.status(), id)
        }
    };
    // The caller's id is echoed, also on problem documents.
    assert_eq!(get("/healthz", Some("deploy-42.step-7")).await, (StatusCode::OK, Some("deploy-42.step-7".into())));
    assert_eq!(get("/v1/nothing-here", Some("lost-1")).await, (StatusCode::NOT_FOUND, Some("lost-1".into())));
    assert_eq!(get("/v1/instances", Some("anon-1")).await, (StatusCode::UNAUTHORIZED, Some("anon-1".into())));
    // Without one, each request gets a fresh UUID.
    let (_, a) = get("/v1/plans", None).await;
    let (_, b) = get("/v1/plans", None).await;
    let (a, b) = (a.expect("a generated id"), b.expect("a generated id"));
    assert_ne!(a, b);
    for id in [a, b] {
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id.chars().filter(|c| *c == '-').count(), 4, "{id}");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{id}");
    }
}

pub async fn posts_are_idempotent_with_a_key(env: Env) {
    let post = |path: String, token: Option<String>, key: &'static str, body: Value| {
        let mut request = env.http.post(format!("{}{path}", env.base)).header("idempotency-key", key).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("request");
            let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
            let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, replayed, location, body)
        }
    };
    let (ada, _, _) = env.signup("ada@example.com").await;
    let instance = json!({"name": "orders", "plan": "developer"});

    // A retry gets the first answer, and nothing is created twice.
    let (status, replayed, location, first) =
        post("/v1/instances".into(), Some(ada.clone()), "create-orders", instance.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
    let (status, replayed, again_location, again) =
        post("/v1/instances".into(), Some(ada.clone()), "create-orders", instance.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again, first);
    assert_eq!(again_location, location);
    let listed = env.call(Method::GET, "/v1/instances", Some(&ada), None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "{listed:?}");

    // The same key with another body is refused; another caller's same key is its own.
    let (status, _, _, problem) =
        post("/v1/instances".into(), Some(ada.clone()), "create-orders", json!({"name": "other", "plan": "developer"}))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "https://omnibus.dev/problems/idempotency-key-reused");
    let (bob, _, _) = env.signup("bob@example.com").await;
    let (status, replayed, _, bobs) =
        post("/v1/instances".into(), Some(bob.clone()), "create-orders", instance.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{bobs}");
    assert_ne!(bobs["id"], first["id"]);

    // A refusal is an answer too: the retry gets it again.
    let bad = json!({"name": "x", "plan": "gold"});
    let (status, replayed, _, refused) = post("/v1/instances".into(), Some(ada.clone()), "bad-plan", bad.clone()).await;
    assert_eq!((status, replayed), (StatusCode::UNPROCESSABLE_ENTITY, false));
    let (status, replayed, _, again) = post("/v1/instances".into(), Some(ada.clone()), "bad-plan", bad).await;
    assert_eq!((status, replayed, again), (StatusCode::UNPROCESSABLE_ENTITY, true, refused));

    // A credential's password is shown once, and again to the retry of the same call,
    // yet the database holds neither it nor the keys in clear.
    let credentials = format!("/v1/instances/{}/credentials", first["id"].as_str().unwrap());
    let (status, _, _, credential) =
        post(credentials.clone(), Some(ada.clone()), "cred-1", json!({"name": "gateway"})).await;
    assert_eq!(status, StatusCode::CREATED, "{credential}");
    let (_, replayed, _, again) = post(credentials, Some(ada.clone()), "cred-1", json!({"name": "gateway"})).await;
    assert!(replayed);
    assert_eq!(again["password"], credential["password"]);
    let password = credential["password"].as_str().unwrap();
    assert!(password.len() >= 16);

    // Calls without a token (sign-up) are idempotent too.
    let signup = json!({"email": "cy@example.com", "password": "a long passphrase", "organization_name": "Cy"});
    let (status, _, _, first_signup) = post("/v1/auth/signup".into(), None, "signup-cy", signup.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first_signup}");
    let (status, replayed, _, again) = post("/v1/auth/signup".into(), None, "signup-cy", signup).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(again["user"]["id"], first_signup["user"]["id"]);

    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&env.database_url).await.expect("open the database");
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT key_hash, request_hash, response FROM idempotency_keys")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 5, "one row per key and caller");
    let refresh = first_signup["refresh_token"].as_str().unwrap();
    for (key_hash, request_hash, response) in &rows {
        let stored = format!("{key_hash} {request_hash} {}", response.as_deref().unwrap_or_default());
        for secret in [password, refresh, "create-orders", "cred-1", "signup-cy", "a long passphrase"] {
            assert!(!stored.contains(secret), "{secret:?} is stored in clear");
        }
    }

    // Keys must be 1-255 visible characters.
    let long = env
        .http
        .post(format!("{}/v1/instances", env.base))
        .bearer_auth(&ada)
        .header("idempotency-key", "k".repeat(256))
        .json(&instance)
        .send()
        .await
        .unwrap();
    assert_eq!(long.status(), StatusCode::BAD_REQUEST);
}

pub async fn api_docs_are_served_offline(env: Env) {
    let get = |path: String| {
        let request = env.http.get(format!("{}{path}", env.base));
        async move {
            let response = request.send().await.expect("request");
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };
    let (status, page) = get("/docs/".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("swagger-ui"), "{page}");
    // Every script and style the page loads comes from this server.
    let assets: Vec<String> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| page.split(attribute).skip(1).map(|rest| rest.split('"').next().unwrap().to_string()))
        .collect();
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{assets:?}");
    for asset in &assets {
        assert!(!asset.contains("//"), "{asset} is not served by the control plane");
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let (status, body) = get(path.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains("https://unpkg.com") && !body.contains("cdn.jsdelivr"), "{path} loads from a CDN");
    }
    // And it shows this API's document.
    let (_, initializer) = get("/docs/swagger-initializer.js".into()).await;
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    let (status, document) = get("/openapi.json".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document.contains("Omnibus management API"));
}

pub async fn conditional_requests_use_etags(env: Env) {
    let (token, _, _) = env.signup("etag@example.com").await;
    let send = |method: Method, path: String, header: Option<(&'static str, String)>, body: Option<Value>| {
        let mut request = env.http.request(method, format!("{}{path}", env.base)).bearer_auth(&token);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("request");
            let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
            let status = response.status();
            (status, etag, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let instance = env.create_instance(&token, "cond").await;
    let path = format!("/v1/instances/{}", instance["id"].as_str().unwrap());

    let (status, tag, body) = send(Method::GET, path.clone(), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let tag = tag.expect("GET answers an ETag");
    assert_eq!(send(Method::GET, path.clone(), None, None).await.1.as_ref(), Some(&tag), "stable while unchanged");
    let (status, again, _) = send(Method::GET, path.clone(), Some(("if-none-match", tag.clone())), None).await;
    assert_eq!((status, again.as_ref()), (StatusCode::NOT_MODIFIED, Some(&tag)));
    let weak = format!("\"x\", W/{tag}");
    assert_eq!(send(Method::GET, path.clone(), Some(("if-none-match", weak)), None).await.0, StatusCode::NOT_MODIFIED);
    let (status, _, fresh) = send(Method::GET, path.clone(), Some(("if-none-match", "\"x\"".into())), None).await;
    assert_eq!((status, &fresh), (StatusCode::OK, &body));

    // A DELETE on a stale copy is refused and deletes nothing.
    let (status, _, problem) = send(Method::DELETE, path.clone(), Some(("if-match", "\"stale\"".into())), None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    assert_eq!(problem["type"], "https://omnibus.dev/problems/precondition-failed");
    assert_eq!(send(Method::GET, path.clone(), None, None).await.2["status"], "ready");

    // A mapping: PATCH needs the current tag, and answers the new one.
    let (_, _, mappings) = send(Method::GET, format!("{path}/mappings"), None, None).await;
    let mapping = format!("{path}/mappings/{}", mappings["items"][0]["id"].as_str().unwrap());
    let (_, first, _) = send(Method::GET, mapping.clone(), None, None).await;
    let first = first.expect("an ETag");
    let change = json!({"kafka_topic": "telemetry"});
    let (status, second, changed) =
        send(Method::PATCH, mapping.clone(), Some(("if-match", first.clone())), Some(change.clone())).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let second = second.expect("PATCH answers the new ETag");
    assert_ne!(second, first);
    assert_eq!(send(Method::GET, mapping.clone(), None, None).await.1, Some(second.clone()));
    let stale = json!({"kafka_topic": "lost-update"});
    let (status, _, _) = send(Method::PATCH, mapping.clone(), Some(("if-match", first.clone())), Some(stale)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(send(Method::GET, mapping.clone(), None, None).await.2["kafka_topic"], "telemetry");
    assert_eq!(
        send(Method::DELETE, mapping.clone(), Some(("if-match", first)), None).await.0,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(send(Method::DELETE, mapping.clone(), Some(("if-match", second)), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(Method::GET, mapping, None, None).await.0, StatusCode::NOT_FOUND);

    // The instance's own tag still stands: its DELETE goes through.
    let (_, current, _) = send(Method::GET, path.clone(), None, None).await;
    let (status, _, deleted) = send(Method::DELETE, path.clone(), Some(("if-match", current.unwrap())), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{deleted}");
    assert_eq!(deleted["status"], "deleting");
}

pub async fn logins_are_rate_limited(env: Env) {
    env.signup("ada@example.com").await;
    env.signup("bob@example.com").await;
    let login = |email: String, password: &'static str| {
        let request =
            env.http.post(format!("{}/v1/auth/login", env.base)).json(&json!({"email": email, "password": password}));
        async move {
            let response = request.send().await.expect("request");
            let retry_after =
                response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (response.status(), retry_after, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Ten wrong passwords for an account, then even the right one waits.
    for _ in 0..10 {
        assert_eq!(login("ada@example.com".into(), "not the passphrase").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, retry_after, problem) = login("ADA@example.com".into(), "a long passphrase").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(retry_after.is_some_and(|s| (1..=900).contains(&s)), "{retry_after:?}");
    assert_eq!(problem["type"], "https://omnibus.dev/problems/rate-limited");
    assert!(problem["detail"].as_str().unwrap().contains("failed logins to this account"), "{problem}");
    // Other accounts are not held back by it.
    assert_eq!(login("bob@example.com".into(), "a long passphrase").await.0, StatusCode::OK);

    // A hundred failures from one address, whatever the accounts, hold the address back.
    for i in 0..90 {
        assert_eq!(login(format!("nobody{i}@example.com"), "guess").await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, retry_after, problem) = login("bob@example.com".into(), "a long passphrase").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(retry_after.is_some());
    assert!(problem["detail"].as_str().unwrap().contains("failed logins from this address"), "{problem}");
}

pub async fn me_logout_and_change_password(env: Env) {
    let (access, refresh, signup) = env.signup("ada@example.com").await;
    let me = env.call(Method::GET, "/v1/me", Some(&access), None).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["user"]["email"], "ada@example.com");
    assert_eq!(me.body["user"]["id"], signup["user"]["id"]);
    assert_eq!(me.body["organization_id"], signup["organization"]["id"]);
    assert_eq!(me.body["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me.body["memberships"][0]["role"], "owner");
    assert_eq!(me.body["memberships"][0]["organization"]["name"], "Test Org");
    env.call(Method::GET, "/v1/me", None, None).await.problem(401);

    // Logging out ends the login: its refresh token no longer works.
    let out = env.call(Method::POST, "/v1/auth/logout", None, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await.problem(401);
    let again = env.call(Method::POST, "/v1/auth/logout", None, Some(json!({"refresh_token": "omr_unknown"}))).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);

    let login = |password: &'static str| {
        env.call(Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": password})))
    };
    let first = login("a long passphrase").await;
    let second = login("a long passphrase").await;
    let token = first.body["access_token"].as_str().unwrap().to_string();
    let change = |current: &'static str, new: &'static str| {
        env.call(
            Method::POST,
            "/v1/auth/change-password",
            Some(&token),
            Some(json!({"current_password": current, "new_password": new})),
        )
    };
    change("not the passphrase", "a brand new passphrase").await.problem(403);
    let short = change("a long passphrase", "short").await;
    short.problem(422);
    assert_eq!(short.body["field"], "new_password");
    assert_eq!(change("a long passphrase", "a brand new passphrase").await.status, StatusCode::NO_CONTENT);
    // Every login's refresh token is revoked; only the new password logs in.
    for pair in [&first, &second] {
        let refresh = pair.body["refresh_token"].as_str().unwrap();
        env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await.problem(401);
    }
    login("a long passphrase").await.problem(401);
    assert_eq!(login("a brand new passphrase").await.status, StatusCode::OK);
}

pub async fn api_keys_are_shown_once_and_work_until_revoked(env: Env) {
    let (owner, _, _) = env.signup("ops@example.com").await;
    let made = env
        .call(Method::POST, "/v1/api-keys", Some(&owner), Some(json!({"name": "terraform", "role": "developer"})))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let key = made.body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("omk_") && key.len() > 40, "{key}");
    assert!(key.starts_with(made.body["prefix"].as_str().unwrap()));
    assert_eq!(made.body["role"], "developer");
    assert!(made.body["created_by"].as_str().unwrap().starts_with("user:"));
    let id = made.body["id"].as_str().unwrap().to_string();

    // The key is a bearer token with its role: it builds, it does not manage keys.
    let instance =
        env.call(Method::POST, "/v1/instances", Some(&key), Some(json!({"name": "ci", "plan": "developer"}))).await;
    assert_eq!(instance.status, StatusCode::CREATED, "{instance:?}");
    let detail = env.call(Method::GET, "/v1/api-keys", Some(&key), None).await.problem(403);
    assert!(detail.contains("api_keys:read"), "{detail}");
    env.call(Method::GET, "/v1/me", Some(&key), None).await.problem(403);

    let one = env.http.get(format!("{}/v1/api-keys/{id}", env.base)).bearer_auth(&owner).send().await.unwrap();
    assert!(one.headers().contains_key("etag"));

    // Listed without the secret, with when it was last used.
    let listed = env.call(Method::GET, "/v1/api-keys", Some(&owner), None).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].get("key").is_none(), "{listed:?}");
    assert!(items[0]["last_used_at"].is_string(), "{listed:?}");
    assert!(!listed.body.to_string().contains(&key[8..]));

    // Rotation without a gap: a second key works beside the first, then the first goes.
    let second = env
        .call(Method::POST, "/v1/api-keys", Some(&owner), Some(json!({"name": "terraform-2", "role": "developer"})))
        .await;
    let second_key = second.body["key"].as_str().unwrap().to_string();
    assert!(env.call(Method::GET, "/v1/instances", Some(&key), None).await.status.is_success());
    assert!(env.call(Method::GET, "/v1/instances", Some(&second_key), None).await.status.is_success());
    let revoked = env.call(Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&owner), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    env.call(Method::GET, "/v1/instances", Some(&key), None).await.problem(401);
    assert!(env.call(Method::GET, "/v1/instances", Some(&second_key), None).await.status.is_success());
    env.call(Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&owner), None).await.problem(404);

    // Expiry: in the past is refused, a near one stops the key.
    let past = json!({"name": "old", "role": "viewer", "expires_at": "2020-01-01T00:00:00Z"});
    assert_eq!(env.call(Method::POST, "/v1/api-keys", Some(&owner), Some(past)).await.body["field"], "expires_at");
    let soon = (time::OffsetDateTime::now_utc() + Duration::from_secs(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let short = env
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(&owner),
            Some(json!({"name": "brief", "role": "viewer", "expires_at": soon})),
        )
        .await;
    assert_eq!(short.status, StatusCode::CREATED, "{short:?}");
    let short_key = short.body["key"].as_str().unwrap().to_string();
    assert!(env.call(Method::GET, "/v1/instances", Some(&short_key), None).await.status.is_success());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    env.call(Method::GET, "/v1/instances", Some(&short_key), None).await.problem(401);

    // Keys act only in their organization; another organization's key id is 404.
    let (other, _, _) = env.signup("other@example.com").await;
    let second_id = second.body["id"].as_str().unwrap();
    env.call(Method::DELETE, &format!("/v1/api-keys/{second_id}"), Some(&other), None).await.problem(404);
    env.call(Method::GET, &format!("/v1/api-keys/{second_id}"), Some(&other), None).await.problem(404);
    let theirs = env.call(Method::GET, "/v1/instances", Some(&other), None).await;
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 0);

    // Only digests are stored.
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&env.database_url).await.expect("open the database");
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT key_hash, prefix FROM api_keys").fetch_all(&mut db).await.unwrap();
    assert_eq!(stored.len(), 3);
    for (hash, prefix) in stored {
        assert_eq!(prefix.len(), 8);
        for secret in [&key, &second_key, &short_key] {
            assert!(!hash.contains(&secret[4..]), "a key is stored in clear");
        }
    }
}

/// Walks `docs/roles.md`: for each role a key of it, and for each permission a
/// call that needs it, answered 2xx when the table says yes and 403 when no.
pub async fn every_endpoint_checks_the_roles_table(env: Env) {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/roles.md")).unwrap();
    let mut lines = doc.lines().skip_while(|l| !l.starts_with("| permission"));
    let header: Vec<String> = lines.next().unwrap().split('|').map(|c| c.trim().to_string()).collect();
    let roles: Vec<String> = header[3..header.len() - 1].to_vec();
    assert_eq!(roles, ["owner", "admin", "developer", "viewer", "billing"]);
    let rows: Vec<(String, Vec<bool>)> = lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let allowed = cells[3..cells.len() - 1].iter().map(|c| *c == "yes").collect();
            (cells[1].trim_matches('`').to_string(), allowed)
        })
        .collect();
    assert_eq!(rows.len(), 14, "{rows:?}");

    let (owner, _, signup) = env.signup("table@example.com").await;
    let org = signup["organization"]["id"].as_str().unwrap().to_string();
    let instance = env.create_instance(&owner, "shared").await;
    let instance_id = instance["id"].as_str().unwrap().to_string();
    for (column, role) in roles.iter().enumerate() {
        let made =
            env.call(Method::POST, "/v1/api-keys", Some(&owner), Some(json!({"name": role, "role": role}))).await;
        assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
        let key = made.body["key"].as_str().unwrap().to_string();
        for (permission, allowed) in &rows {
            let base = format!("/v1/instances/{instance_id}");
            let (method, path, body) = match permission.as_str() {
                "instances:read" => (Method::GET, "/v1/instances".to_string(), None),
                "instances:write" => (
                    Method::POST,
                    "/v1/instances".to_string(),
                    Some(json!({"name": format!("by-{role}"), "plan": "developer"})),
                ),
                "credentials:read" => (Method::GET, format!("{base}/credentials"), None),
                "credentials:write" => (Method::POST, format!("{base}/credentials"), Some(json!({"name": role}))),
                "mappings:read" => (Method::GET, format!("{base}/mappings"), None),
                "mappings:write" => (
                    Method::POST,
                    format!("{base}/mappings"),
                    Some(json!({"mqtt_filter": format!("{role}/#"), "kafka_topic": format!("t-{role}")})),
                ),
                "topics:read" => (Method::GET, format!("{base}/topics"), None),
                "topics:write" => {
                    (Method::POST, format!("{base}/topics"), Some(json!({"name": format!("topic-{role}")})))
                }
                "api_keys:read" => (Method::GET, "/v1/api-keys".to_string(), None),
                "api_keys:write" => {
                    (Method::POST, "/v1/api-keys".to_string(), Some(json!({"name": "child", "role": "viewer"})))
                }
                "audit:read" => (Method::GET, "/v1/audit-events".to_string(), None),
                "members:read" => (Method::GET, format!("/v1/organizations/{org}/members"), None),
                "members:write" => (
                    Method::POST,
                    format!("/v1/organizations/{org}/invitations"),
                    Some(json!({"email": format!("{role}-invitee@example.com"), "role": "viewer"})),
                ),
                "organization:write" => (
                    Method::PATCH,
                    format!("/v1/organizations/{org}"),
                    Some(json!({"name": format!("Renamed by {role}")})),
                ),
                other => panic!("the table has a permission this test does not know: {other}"),
            };
            let answer = env.call(method.clone(), &path, Some(&key), body).await;
            if allowed[column] {
                assert!(answer.status.is_success(), "{role} {method} {path}: {answer:?}");
            } else {
                let detail = answer.problem(403);
                assert!(detail.contains(permission.as_str()), "{role} {method} {path}: {detail}");
            }
        }
    }
    // An admin cannot mint or revoke an owner key.
    let admin = env.call(Method::POST, "/v1/api-keys", Some(&owner), Some(json!({"name": "a", "role": "admin"}))).await;
    let admin_key = admin.body["key"].as_str().unwrap().to_string();
    env.call(Method::POST, "/v1/api-keys", Some(&admin_key), Some(json!({"name": "x", "role": "owner"})))
        .await
        .problem(403);
    let boss = env.call(Method::POST, "/v1/api-keys", Some(&owner), Some(json!({"name": "b", "role": "owner"}))).await;
    let boss_id = boss.body["id"].as_str().unwrap();
    env.call(Method::DELETE, &format!("/v1/api-keys/{boss_id}"), Some(&admin_key), None).await.problem(403);
}

pub async fn the_audit_log_records_calls_and_sign_ins(env: Env) {
    let (ada, _, signup) = env.signup("ada@example.com").await;
    let ada_id = format!("user:{}", signup["user"]["id"].as_str().unwrap());
    let login = |password: &'static str| {
        env.call(Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": password})))
    };
    login("not the passphrase").await.problem(401);
    assert_eq!(login("a long passphrase").await.status, StatusCode::OK);
    let post = |body: Value, id: &'static str, key: Option<&'static str>| {
        let mut request = env
            .http
            .post(format!("{}/v1/instances", env.base))
            .bearer_auth(&ada)
            .header("x-request-id", id)
            .json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        async move { request.send().await.unwrap().status() }
    };
    let good = json!({"name": "audited", "plan": "developer"});
    assert_eq!(post(good.clone(), "audit-1", Some("k1")).await, StatusCode::CREATED);
    assert_eq!(post(good, "audit-2", Some("k1")).await, StatusCode::CREATED);
    assert_eq!(post(json!({"name": "bad", "plan": "gold"}), "audit-3", None).await, StatusCode::UNPROCESSABLE_ENTITY);
    env.call(Method::GET, "/v1/instances", Some(&ada), None).await;

    let events = env.call(Method::GET, "/v1/audit-events", Some(&ada), None).await;
    assert_eq!(events.status, StatusCode::OK, "{events:?}");
    let items = events.body["items"].as_array().unwrap().clone();
    let summary: Vec<(String, String, String)> = items
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
                e["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("POST /v1/instances", "failure", ada_id.as_str()),
        ("POST /v1/instances", "replayed", ada_id.as_str()),
        ("POST /v1/instances", "success", ada_id.as_str()),
        ("POST /v1/auth/login", "success", ada_id.as_str()),
        ("POST /v1/auth/login", "failure", ada_id.as_str()),
        ("POST /v1/auth/signup", "success", ada_id.as_str()),
    ]
    .iter()
    .map(|(a, o, w)| (a.to_string(), o.to_string(), w.to_string()))
    .collect();
    assert_eq!(summary, expected, "newest first, GETs not recorded");
    let created = &items[2];
    assert!(created["target"].as_str().unwrap().starts_with("/v1/instances/"), "{created}");
    assert_eq!(created["request_id"], "audit-1");
    assert_eq!(created["status"], 201);
    assert_eq!(created["source_address"], "127.0.0.1");
    assert_eq!(items[1]["request_id"], "audit-2");

    // Filters and pages.
    let failures = env.call(Method::GET, "/v1/audit-events?outcome=failure", Some(&ada), None).await;
    assert_eq!(failures.body["items"].as_array().unwrap().len(), 2);
    let creates = env.call(Method::GET, "/v1/audit-events?action=POST%20/v1/instances", Some(&ada), None).await;
    assert_eq!(creates.body["items"].as_array().unwrap().len(), 3);
    let first = env.call(Method::GET, "/v1/audit-events?page_size=4", Some(&ada), None).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 4);
    let token = first.body["next_page_token"].as_str().expect("a second page");
    let second =
        env.call(Method::GET, &format!("/v1/audit-events?page_size=4&page_token={token}"), Some(&ada), None).await;
    let rest = second.body["items"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1]["action"], "POST /v1/auth/signup");
    assert!(second.body["next_page_token"].is_null());
    let future = env.call(Method::GET, "/v1/audit-events?since=2999-01-01T00:00:00Z", Some(&ada), None).await;
    assert_eq!(future.body["items"].as_array().unwrap().len(), 0);
    let past = env.call(Method::GET, "/v1/audit-events?until=2000-01-01T00:00:00Z", Some(&ada), None).await;
    assert_eq!(past.body["items"].as_array().unwrap().len(), 0);
    env.call(Method::GET, "/v1/audit-events?since=yesterday", Some(&ada), None).await.problem(422);

    // Another organization sees only its own.
    let (bob, _, _) = env.signup("bob@example.com").await;
    let theirs = env.call(Method::GET, "/v1/audit-events", Some(&bob), None).await;
    let theirs = theirs.body["items"].as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["action"], "POST /v1/auth/signup");
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

pub async fn credentials_rotate_and_change_their_acl_on_the_fleet(env: Env) {
    let (token, _, _) = env.signup("rot@example.com").await;
    let instance = env.create_instance(&token, "plant").await;
    let path = format!("/v1/instances/{}/credentials", instance["id"].as_str().unwrap());
    let created = env.call(Method::POST, &path, Some(&token), Some(json!({"name": "gateway"}))).await;
    let (username, first) = (created.body["username"].as_str().unwrap(), created.body["password"].as_str().unwrap());
    let credential = format!("{path}/{}", created.body["id"].as_str().unwrap());
    assert_eq!(env.mqtt_connect_code(username, first).await, 0);

    // A rotation answers a new password; the fleet takes it and refuses the old one.
    let rotated = env.call(Method::POST, &format!("{credential}/rotate"), Some(&token), None).await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    let second = rotated.body["password"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(rotated.body["username"], username);
    assert_eq!(env.mqtt_connect_code(username, first).await, 4, "the old password still works");
    assert_eq!(env.mqtt_connect_code(username, second).await, 0);

    // A new ACL and name.
    let acl = json!([{"topic": "sensors/#", "actions": ["publish"]}]);
    let changed =
        env.call(Method::PATCH, &credential, Some(&token), Some(json!({"name": "sensor-gw", "acl": acl}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["acl"], acl);
    assert!(changed.body.get("password").is_none());
    let listed = env.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(listed.body["items"][0]["name"], "sensor-gw");
    assert_eq!(listed.body["items"][0]["acl"], acl);
    assert_eq!(env.mqtt_connect_code(username, second).await, 0, "the password survives an ACL change");
    let bad = env
        .call(Method::PATCH, &credential, Some(&token), Some(json!({"acl": [{"topic": "a/#/b", "actions": []}]})))
        .await;
    bad.problem(422);

    // Another organization can neither rotate nor change it.
    let (other, _, _) = env.signup("eve@example.com").await;
    env.call(Method::POST, &format!("{credential}/rotate"), Some(&other), None).await.problem(404);
    env.call(Method::PATCH, &credential, Some(&other), Some(json!({"name": "mine"}))).await.problem(404);
    assert_eq!(env.mqtt_connect_code(username, second).await, 0);
}

pub async fn organizations_members_and_invitations(env: Env) {
    let (ada, _, signup) = env.signup("ada@example.com").await;
    let org = signup["organization"]["id"].as_str().unwrap().to_string();
    let members = format!("/v1/organizations/{org}/members");

    // Its representation has an ETag like every single resource.
    let fetched = env.http.get(format!("{}/v1/organizations/{org}", env.base)).bearer_auth(&ada).send().await.unwrap();
    let tag = fetched.headers()["etag"].to_str().unwrap().to_string();
    let cached = env
        .http
        .get(format!("{}/v1/organizations/{org}", env.base))
        .bearer_auth(&ada)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // A second organization of one's own.
    let second = env.call(Method::POST, "/v1/organizations", Some(&ada), Some(json!({"name": "Side project"}))).await;
    assert_eq!(second.status, StatusCode::CREATED, "{second:?}");
    let mine = env.call(Method::GET, "/v1/organizations", Some(&ada), None).await;
    let names: Vec<&str> =
        mine.body["items"].as_array().unwrap().iter().map(|m| m["organization"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Test Org", "Side project"]);
    assert!(mine.body["items"].as_array().unwrap().iter().all(|m| m["role"] == "owner"));

    // An invitation goes out by email only.
    let invited = env
        .call(
            Method::POST,
            &format!("/v1/organizations/{org}/invitations"),
            Some(&ada),
            Some(json!({"email": "Grace@Example.com", "role": "developer"})),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{invited:?}");
    assert!(invited.body.get("token").is_none());
    assert_eq!(invited.body["email"], "grace@example.com");
    let mails: Vec<String> = env.outbox().into_iter().filter(|m| m.contains("invited")).collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("To: grace@example.com") && mails[0].contains("Test Org"), "{}", mails[0]);
    let token = mails[0].split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    assert!(token.starts_with("omi_"));
    let open = env.call(Method::GET, &format!("/v1/organizations/{org}/invitations"), Some(&ada), None).await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 1);

    // Only the invited address can accept, once.
    let (bob, _, _) = env.signup("bob@example.com").await;
    env.call(Method::POST, "/v1/invitations/accept", Some(&bob), Some(json!({"token": token}))).await.problem(403);
    env.call(Method::GET, &format!("/v1/organizations/{org}"), Some(&bob), None).await.problem(404);
    let (grace, _, grace_signup) = env.signup("grace@example.com").await;
    let grace_id = grace_signup["user"]["id"].as_str().unwrap().to_string();
    let joined = env.call(Method::POST, "/v1/invitations/accept", Some(&grace), Some(json!({"token": token}))).await;
    assert_eq!(joined.status, StatusCode::OK, "{joined:?}");
    assert_eq!(
        (joined.body["role"].as_str(), joined.body["organization"]["id"].as_str()),
        (Some("developer"), Some(org.as_str()))
    );
    env.call(Method::POST, "/v1/invitations/accept", Some(&grace), Some(json!({"token": token}))).await.problem(404);
    let listed = env.call(Method::GET, &members, Some(&ada), None).await;
    let roles: Vec<(&str, &str)> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles.len(), 2);
    assert!(roles.contains(&("ada@example.com", "owner")) && roles.contains(&("grace@example.com", "developer")));

    // Grace, acting in the organization, builds but does not manage members.
    let login = env
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "grace@example.com", "password": "a long passphrase", "organization_id": org})),
        )
        .await;
    let grace_in = login.body["access_token"].as_str().unwrap().to_string();
    let made = env
        .call(Method::POST, "/v1/instances", Some(&grace_in), Some(json!({"name": "by-grace", "plan": "developer"})))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let invite = json!({"email": "x@example.com", "role": "viewer"});
    env.call(Method::POST, &format!("/v1/organizations/{org}/invitations"), Some(&grace_in), Some(invite))
        .await
        .problem(403);

    // A role change takes effect on her next call.
    let member = format!("{members}/{grace_id}");
    let changed = env.call(Method::PATCH, &member, Some(&ada), Some(json!({"role": "viewer"}))).await;
    assert_eq!(changed.body["role"], "viewer", "{changed:?}");
    let refused = env
        .call(Method::POST, "/v1/instances", Some(&grace_in), Some(json!({"name": "again", "plan": "developer"})))
        .await;
    assert!(refused.problem(403).contains("instances:write"));

    // The last owner stays.
    let ada_id = signup["user"]["id"].as_str().unwrap();
    assert!(
        env.call(Method::PATCH, &format!("{members}/{ada_id}"), Some(&ada), Some(json!({"role": "admin"})))
            .await
            .problem(409)
            .contains("owner")
    );
    env.call(Method::DELETE, &format!("{members}/{ada_id}"), Some(&ada), None).await.problem(409);

    // Removed, her token for the organization stops working.
    assert_eq!(env.call(Method::DELETE, &member, Some(&ada), None).await.status, StatusCode::NO_CONTENT);
    env.call(Method::GET, "/v1/instances", Some(&grace_in), None).await.problem(401);
    assert_eq!(
        env.call(Method::GET, "/v1/instances", Some(&grace), None).await.status,
        StatusCode::OK,
        "her own organization"
    );

    // A revoked invitation's token is dead.
    env.call(
        Method::POST,
        &format!("/v1/organizations/{org}/invitations"),
        Some(&ada),
        Some(json!({"email": "bob@example.com", "role": "viewer"})),
    )
    .await;
    let mails = env.outbox();
    let late = mails.iter().find(|m| m.contains("To: bob@example.com") && m.contains("invited")).unwrap();
    let late_token = late.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let open = env.call(Method::GET, &format!("/v1/organizations/{org}/invitations"), Some(&ada), None).await;
    let id = open.body["items"][0]["id"].as_str().unwrap().to_string();
    let revoked =
        env.call(Method::DELETE, &format!("/v1/organizations/{org}/invitations/{id}"), Some(&ada), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    env.call(Method::POST, "/v1/invitations/accept", Some(&bob), Some(json!({"token": late_token}))).await.problem(404);

    // Nothing of it is visible from outside.
    env.call(Method::GET, &members, Some(&bob), None).await.problem(404);
    env.call(Method::PATCH, &format!("/v1/organizations/{org}"), Some(&bob), Some(json!({"name": "mine"})))
        .await
        .problem(404);
}

pub async fn topics_are_managed_on_the_fleet_through_the_api(env: Env) {
    let (token, _, _) = env.signup("kafka@example.com").await;
    let instance = env.create_instance(&token, "stream").await;
    let id = instance["id"].as_str().unwrap().to_string();
    let topics = format!("/v1/instances/{id}/topics");

    let made = env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "telemetry", "partitions": 3}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(
        made.body,
        json!({"name": "telemetry", "partitions": 3, "retention_ms": 604_800_000, "retention_bytes": -1})
    );
    // The broker's catalog has it.
    let catalog = std::fs::read_to_string(env.broker_dir.join("catalog.json")).expect("the broker's catalog");
    let catalog: Value = serde_json::from_str(&catalog).unwrap();
    assert_eq!(catalog["namespaces"][&id]["telemetry"]["partitions"], 3, "{catalog}");

    let listed = env.call(Method::GET, &topics, Some(&token), None).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|t| t["name"] == "telemetry"), "{listed:?}");
    env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "telemetry"}))).await.problem(409);
    env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "no spaces"}))).await.problem(422);
    env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "zero", "partitions": 0}))).await.problem(422);

    let topic = format!("{topics}/telemetry");
    let grown =
        env.call(Method::PATCH, &topic, Some(&token), Some(json!({"partitions": 6, "retention_ms": 3_600_000}))).await;
    assert_eq!(grown.status, StatusCode::OK, "{grown:?}");
    assert_eq!((grown.body["partitions"].as_i64(), grown.body["retention_ms"].as_i64()), (Some(6), Some(3_600_000)));
    assert!(
        env.call(Method::PATCH, &topic, Some(&token), Some(json!({"partitions": 2})))
            .await
            .problem(422)
            .contains("partitions")
    );
    assert_eq!(env.call(Method::GET, &topic, Some(&token), None).await.body["partitions"], 6);

    // Another organization neither sees nor touches it.
    let (other, _, _) = env.signup("eve@example.com").await;
    env.call(Method::GET, &topics, Some(&other), None).await.problem(404);
    env.call(Method::DELETE, &topic, Some(&other), None).await.problem(404);

    assert_eq!(env.call(Method::DELETE, &topic, Some(&token), None).await.status, StatusCode::NO_CONTENT);
    env.call(Method::GET, &topic, Some(&token), None).await.problem(404);
    env.call(Method::DELETE, &topic, Some(&token), None).await.problem(404);
    env.call(Method::PATCH, &topic, Some(&token), Some(json!({"partitions": 9}))).await.problem(404);
}

pub async fn passwords_reset_and_addresses_verify_by_email(env: Env) {
    let (access, refresh, _) = env.signup("ada@example.com").await;
    let token_in = |mail: &str| mail.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();

    // Sign-up mails a verification link; following it verifies the address.
    assert_eq!(env.call(Method::GET, "/v1/me", Some(&access), None).await.body["email_verified"], false);
    let mails = env.outbox();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("To: ada@example.com") && mails[0].contains("verify-email"), "{}", mails[0]);
    let verify = token_in(&mails[0]);
    let confirm = |path: &'static str, body: Value| env.call(Method::POST, path, None, Some(body));
    assert_eq!(confirm("/v1/auth/verify-email/confirm", json!({"token": verify})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(env.call(Method::GET, "/v1/me", Some(&access), None).await.body["email_verified"], true);
    confirm("/v1/auth/verify-email/confirm", json!({"token": verify})).await.problem(422);
    env.call(Method::POST, "/v1/auth/verify-email", Some(&access), None).await.problem(409);

    // A reset for an unknown address answers alike and mails nothing.
    let asked = confirm("/v1/auth/password-reset", json!({"email": "nobody@example.com"})).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    assert_eq!(env.outbox().len(), 1);
    assert_eq!(
        confirm("/v1/auth/password-reset", json!({"email": "ADA@example.com"})).await.status,
        StatusCode::ACCEPTED
    );
    let mails = env.outbox();
    let reset_mail = mails.iter().find(|m| m.contains("password-reset")).expect("a reset mail");
    let reset = token_in(reset_mail);
    // A second request makes the first link stop working.
    confirm("/v1/auth/password-reset", json!({"email": "ada@example.com"})).await;
    let body = json!({"token": reset, "new_password": "a brand new passphrase"});
    confirm("/v1/auth/password-reset/confirm", body).await.problem(422);
    let latest = env
        .outbox()
        .into_iter()
        .filter(|m| m.contains("password-reset"))
        .map(|m| token_in(&m))
        .find(|t| *t != reset)
        .unwrap();
    let short = confirm("/v1/auth/password-reset/confirm", json!({"token": latest, "new_password": "short"})).await;
    assert_eq!(short.body["field"], "new_password");
    let done =
        confirm("/v1/auth/password-reset/confirm", json!({"token": latest, "new_password": "a brand new passphrase"}))
            .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{done:?}");

    // The old password and the old logins are done; the new one logs in.
    env.call(Method::POST, "/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await.problem(401);
    let login = |password: &'static str| {
        env.call(Method::POST, "/v1/auth/login", None, Some(json!({"email": "ada@example.com", "password": password})))
    };
    login("a long passphrase").await.problem(401);
    assert_eq!(login("a brand new passphrase").await.status, StatusCode::OK);
    let again = json!({"token": latest, "new_password": "yet another passphrase"});
    confirm("/v1/auth/password-reset/confirm", again).await.problem(422);
    for mail in env.outbox() {
        assert!(!mail.contains("a brand new passphrase"));
    }
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
    let free: Option<String> = sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
        .bind(format!("instance:{id}"))
        .fetch_optional(&mut db)
        .await
        .unwrap();
    assert_eq!(free, None, "the lease is given back after the pass");
}
