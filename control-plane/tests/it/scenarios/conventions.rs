//! What every endpoint does alike: problem documents, request ids, idempotency keys, ETags, the docs, and the public plan catalogue.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::harness::Env;

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

/// Every PATCH and DELETE refuses a stale `If-Match` with 412 and changes
/// nothing; the current tag (from a GET) lets the change through.
pub async fn every_write_honours_if_match(env: Env) {
    let (token, _, signup) = env.signup("match@example.com").await;
    let org = signup["organization"]["id"].as_str().unwrap().to_string();
    let me = signup["user"]["id"].as_str().unwrap().to_string();
    let instance = env.create_instance(&token, "matched").await;
    let id = instance["id"].as_str().unwrap().to_string();
    let stale = ("if-match", "\"stale\"");
    let tag_of = |path: String| {
        let env = &env;
        let token = &token;
        async move {
            let (got, tag) = env.call_with(Method::GET, &path, token, ("if-none-match", "\"none\""), None).await;
            assert_eq!(got.status, StatusCode::OK, "{path}: {got:?}");
            (got.body, tag.unwrap_or_else(|| panic!("{path} answers no ETag")))
        }
    };

    // A credential: its name and ACL.
    let made = env
        .call(Method::POST, &format!("/v1/instances/{id}/credentials"), Some(&token), Some(json!({"name": "dev"})))
        .await;
    let credential = format!("/v1/instances/{id}/credentials/{}", made.body["id"].as_str().unwrap());
    let (before, tag) = tag_of(credential.clone()).await;
    assert!(before.get("password").is_none(), "{before}");
    let (a, _) = env.call_with(Method::PATCH, &credential, &token, stale, Some(json!({"name": "lost"}))).await;
    a.problem(412);
    assert_eq!(tag_of(credential.clone()).await.0["name"], "dev");
    let (a, new_tag) =
        env.call_with(Method::PATCH, &credential, &token, ("if-match", &tag), Some(json!({"name": "prod"}))).await;
    assert_eq!((a.status, &a.body["name"]), (StatusCode::OK, &json!("prod")), "{a:?}");
    let new_tag = new_tag.expect("PATCH answers the new ETag");
    assert_ne!(new_tag, tag);
    // The old tag is now stale for a delete too.
    env.call_with(Method::DELETE, &credential, &token, ("if-match", &tag), None).await.0.problem(412);
    let (a, _) = env.call_with(Method::DELETE, &credential, &token, ("if-match", &new_tag), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{a:?}");
    env.call(Method::GET, &credential, Some(&token), None).await.problem(404);

    // A topic, as the fleet has it.
    let topics = format!("/v1/instances/{id}/topics");
    let made = env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "orders", "partitions": 1}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let topic = format!("{topics}/orders");
    let (_, tag) = tag_of(topic.clone()).await;
    env.call_with(Method::PATCH, &topic, &token, stale, Some(json!({"partitions": 2}))).await.0.problem(412);
    assert_eq!(tag_of(topic.clone()).await.0["partitions"], 1);
    let (a, _) = env.call_with(Method::PATCH, &topic, &token, ("if-match", &tag), Some(json!({"partitions": 2}))).await;
    assert_eq!((a.status, &a.body["partitions"]), (StatusCode::OK, &json!(2)), "{a:?}");
    env.call_with(Method::DELETE, &topic, &token, ("if-match", &tag), None).await.0.problem(412);
    let (_, tag) = tag_of(topic.clone()).await;
    assert_eq!(
        env.call_with(Method::DELETE, &topic, &token, ("if-match", &tag), None).await.0.status,
        StatusCode::NO_CONTENT
    );

    // An API key.
    let made =
        env.call(Method::POST, "/v1/api-keys", Some(&token), Some(json!({"name": "ci", "role": "viewer"}))).await;
    let key = format!("/v1/api-keys/{}", made.body["id"].as_str().unwrap());
    let (_, tag) = tag_of(key.clone()).await;
    env.call_with(Method::DELETE, &key, &token, stale, None).await.0.problem(412);
    assert!(tag_of(key.clone()).await.0["revoked_at"].is_null());
    assert_eq!(
        env.call_with(Method::DELETE, &key, &token, ("if-match", &tag), None).await.0.status,
        StatusCode::NO_CONTENT
    );

    // The organization.
    let organization = format!("/v1/organizations/{org}");
    let (_, tag) = tag_of(organization.clone()).await;
    env.call_with(Method::PATCH, &organization, &token, stale, Some(json!({"name": "Lost"}))).await.0.problem(412);
    let (a, _) =
        env.call_with(Method::PATCH, &organization, &token, ("if-match", &tag), Some(json!({"name": "Renamed"}))).await;
    assert_eq!((a.status, &a.body["name"]), (StatusCode::OK, &json!("Renamed")), "{a:?}");
    env.call_with(Method::PATCH, &organization, &token, ("if-match", &tag), Some(json!({"name": "Again"})))
        .await
        .0
        .problem(412);

    // A member (here the only owner, whom a stale tag does not even reach the owner rule for).
    let member = format!("/v1/organizations/{org}/members/{me}");
    let (body, tag) = tag_of(member.clone()).await;
    assert_eq!(body["role"], "owner");
    env.call_with(Method::PATCH, &member, &token, stale, Some(json!({"role": "admin"}))).await.0.problem(412);
    env.call_with(Method::DELETE, &member, &token, stale, None).await.0.problem(412);
    let (a, _) =
        env.call_with(Method::PATCH, &member, &token, ("if-match", &tag), Some(json!({"role": "admin"}))).await;
    assert!(a.problem(409).contains("at least one owner"), "{a:?}");

    // An invitation.
    let invitations = format!("/v1/organizations/{org}/invitations");
    let made = env
        .call(Method::POST, &invitations, Some(&token), Some(json!({"email": "new@example.com", "role": "viewer"})))
        .await;
    let invitation = format!("{invitations}/{}", made.body["id"].as_str().unwrap());
    let (_, tag) = tag_of(invitation.clone()).await;
    env.call_with(Method::DELETE, &invitation, &token, stale, None).await.0.problem(412);
    assert_eq!(
        env.call_with(Method::DELETE, &invitation, &token, ("if-match", &tag), None).await.0.status,
        StatusCode::NO_CONTENT
    );
    env.call(Method::GET, &invitation, Some(&token), None).await.problem(404);
}
