//! Who may do what: organizations, members and invitations, API keys, the roles table, and the audit log.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::harness::Env;

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

    // Or she switches with her refresh token, as the console does: not into an
    // organization she is not in (the token stays good), into Ada's.
    let refresh = grace_signup["refresh_token"].as_str().unwrap();
    let bob_org = env.call(Method::GET, "/v1/me", Some(&bob), None).await.body["organization_id"].clone();
    let switch =
        |organization_id: serde_json::Value| json!({"refresh_token": refresh, "organization_id": organization_id});
    assert!(
        env.call(Method::POST, "/v1/auth/refresh", None, Some(switch(bob_org)))
            .await
            .problem(422)
            .contains("not a member")
    );
    let switched = env.call(Method::POST, "/v1/auth/refresh", None, Some(switch(json!(org)))).await;
    assert_eq!(switched.status, StatusCode::OK, "{switched:?}");
    let me = env.call(Method::GET, "/v1/me", Some(switched.body["access_token"].as_str().unwrap()), None).await;
    assert_eq!(me.body["organization_id"], org.as_str());
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
    assert_eq!(rows.len(), 18, "{rows:?}");

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
                "messages:read" => (Method::GET, format!("{base}/topics/mqtt/messages"), None),
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
                "usage:read" => (Method::GET, format!("{base}/usage"), None),
                "billing:read" => (Method::GET, "/v1/invoices".to_string(), None),
                "billing:write" => {
                    (Method::POST, "/v1/spend-alerts".to_string(), Some(json!({"threshold": 1000 + column})))
                }
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
