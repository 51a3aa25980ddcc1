//! Instance credentials: shown once, ACLs, rotation, as the broker sees them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::Env;

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
