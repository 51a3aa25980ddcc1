//! A small client of the management REST API, as a script would use it.

use serde_json::{Value, json};

/// The password every test account signs up with.
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Api {
    pub base: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        Api { base, token: None, http: reqwest::Client::new() }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "POST {path}: {status} {body}");
        body
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Signs up and keeps the access token.
    pub async fn signup(&mut self, email: &str, organization: &str) -> Value {
        let body = self
            .post("/v1/auth/signup", json!({"email": email, "password": PASSWORD, "organization_name": organization}))
            .await;
        self.token = Some(body["access_token"].as_str().expect("access_token").to_string());
        body
    }

    pub async fn login(&mut self, email: &str) {
        self.login_with(email, PASSWORD).await;
    }

    pub async fn login_with(&mut self, email: &str, password: &str) {
        let body = self.post("/v1/auth/login", json!({"email": email, "password": password})).await;
        self.token = Some(body["access_token"].as_str().expect("access_token").to_string());
    }

    /// Creates an instance on the developer plan and a credential for it;
    /// returns (instance, credential).
    pub async fn instance_with_credential(&self, name: &str) -> (Value, Value) {
        self.instance_on_plan_with_credential(name, "developer").await
    }

    /// Creates an instance on `plan` and a credential for it; returns
    /// (instance, credential).
    pub async fn instance_on_plan_with_credential(&self, name: &str, plan: &str) -> (Value, Value) {
        let instance = self.post("/v1/instances", json!({"name": name, "plan": plan})).await;
        let id = instance["id"].as_str().expect("id");
        let credential = self.post(&format!("/v1/instances/{id}/credentials"), json!({"name": "e2e"})).await;
        (instance, credential)
    }
}

/// Sets an instance's quota overrides as a platform operator would: signs up
/// `operator@example.com` on `omnibus` (or logs in, from the second call on),
/// grants it with `omnibus grant-operator`, and PUTs `overrides`; answers the
/// instance's quotas.
pub async fn override_quotas(omnibus: &crate::process::Omnibus, instance: &Value, overrides: Value) -> Value {
    let mut operator = Api::new(omnibus.base_url());
    let signup = json!({"email": "operator@example.com", "password": PASSWORD, "organization_name": "Platform"});
    let (status, body) = operator.call(reqwest::Method::POST, "/v1/auth/signup", Some(signup)).await;
    assert!((200..300).contains(&status) || status == 409, "operator sign-up: {status} {body}");
    operator.login("operator@example.com").await;
    omnibus.grant_operator("operator@example.com");
    let path = format!("/v1/operator/instances/{}/quotas", instance["id"].as_str().expect("an instance id"));
    let (status, quotas) = operator.call(reqwest::Method::PUT, &path, Some(overrides)).await;
    assert_eq!(status, 200, "PUT {path}: {quotas}");
    quotas
}
