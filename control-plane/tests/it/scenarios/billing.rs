//! Usage, invoices, spend alerts and the price book over REST, as a tenant
//! and a platform operator check them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::Env;

/// The current UTC month, `YYYY-MM`, and the first instant of the next one.
fn months() -> (String, String) {
    let now = time::OffsetDateTime::now_utc();
    let this = format!("{:04}-{:02}", now.year(), now.month() as u8);
    let next = now.month().next();
    let year = if next == time::Month::January { now.year() + 1 } else { now.year() };
    (this, format!("{year:04}-{:02}-01T00:00:00Z", next as u8))
}

pub async fn invoices_and_spend_alerts_read_the_organizations_own(env: Env) {
    let (owner, _, _) = env.signup("payer@example.com").await;
    let (other, _, _) = env.signup("stranger@example.com").await;
    let created =
        env.call(Method::POST, "/v1/instances", Some(&owner), Some(json!({"name": "prod", "plan": "standard"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let id = created.body["id"].as_str().unwrap().to_string();
    let (month, _) = months();

    // The month's draft: the running instance's hours so far, and a forecast
    // of the whole month (about 730 hours at 4900/730 cents).
    let list = env.call(Method::GET, "/v1/invoices", Some(&owner), None).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let first = &list.body["items"][0];
    assert_eq!((first["id"].as_str(), first["status"].as_str()), (Some(month.as_str()), Some("draft")));
    assert_eq!(first["currency"], "USD");
    let forecast = first["forecast_total"].as_u64().unwrap();
    assert!((4_000..=5_200).contains(&forecast), "{first}");
    let invoice = env.call(Method::GET, &format!("/v1/invoices/{month}"), Some(&owner), None).await;
    assert_eq!(invoice.status, StatusCode::OK, "{invoice:?}");
    let line = &invoice.body["lines"][0];
    assert_eq!((line["instance_id"].as_str(), line["dimension"].as_str()), (Some(id.as_str()), Some("instance_hours")));
    assert_eq!(
        (line["plan"].as_str(), line["unit"].as_str(), line["unit_size"].as_u64()),
        (Some("standard"), Some("hour"), Some(3_600_000))
    );
    assert_eq!(line["unit_price_micros"], 6_712_328);
    assert!(line["quantity"].as_u64().unwrap() > 0);
    assert_eq!(invoice.body["price_book_version"], 1);

    // Another organization sees nothing of it.
    let theirs = env.call(Method::GET, &format!("/v1/invoices/{month}"), Some(&other), None).await;
    assert_eq!(theirs.body["lines"], json!([]), "{theirs:?}");
    assert_eq!(theirs.body["total"], 0);
    env.call(Method::GET, &format!("/v1/instances/{id}/usage"), Some(&other), None).await.problem(404);
    env.call(Method::GET, "/v1/invoices/2999-01", Some(&owner), None).await.problem(404);
    env.call(Method::GET, "/v1/invoices/last-month", Some(&owner), None).await.problem(422);

    // Usage: series per dimension, JSON or CSV; bad queries are 422.
    let usage =
        env.call(Method::GET, &format!("/v1/instances/{id}/usage?granularity=minute"), Some(&owner), None).await;
    assert_eq!(usage.status, StatusCode::OK, "{usage:?}");
    assert_eq!(usage.body["granularity"], "minute");
    let series = usage.body["series"].as_array().unwrap();
    assert_eq!(series.len(), 11, "{usage:?}");
    assert!(series.iter().all(|s| s["instance_id"] == id.as_str()));
    let csv = env.http.get(format!("{}/v1/usage?format=csv", env.base)).bearer_auth(&owner).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(csv.text().await.unwrap().starts_with("instance_id,dimension,unit,start,value\n"));
    for query in [
        "granularity=week",
        "from=yesterday",
        "dimension=sparkles",
        "format=xml",
        "from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z&granularity=minute",
    ] {
        env.call(Method::GET, &format!("/v1/usage?{query}"), Some(&owner), None).await.problem(422);
    }

    // Spend alerts: one per threshold, the organization's own.
    env.call(Method::POST, "/v1/spend-alerts", Some(&owner), Some(json!({"threshold": 0}))).await.problem(422);
    let alert = env.call(Method::POST, "/v1/spend-alerts", Some(&owner), Some(json!({"threshold": 50_000}))).await;
    assert_eq!(alert.status, StatusCode::CREATED, "{alert:?}");
    assert_eq!((alert.body["threshold"].as_u64(), alert.body["currency"].as_str()), (Some(50_000), Some("USD")));
    env.call(Method::POST, "/v1/spend-alerts", Some(&owner), Some(json!({"threshold": 50_000}))).await.problem(409);
    let alert_id = alert.body["id"].as_str().unwrap();
    let listed = env.call(Method::GET, "/v1/spend-alerts", Some(&owner), None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["items"][0]["events"], json!([]), "not crossed");
    assert_eq!(env.call(Method::GET, "/v1/spend-alerts", Some(&other), None).await.body["items"], json!([]));
    env.call(Method::DELETE, &format!("/v1/spend-alerts/{alert_id}"), Some(&other), None).await.problem(404);
    let deleted = env.call(Method::DELETE, &format!("/v1/spend-alerts/{alert_id}"), Some(&owner), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

pub async fn operators_publish_price_book_versions_for_later_months(env: Env) {
    let (tenant, _, _) = env.signup("prices-tenant@example.com").await;
    let (operator, _, _) = env.signup("prices-ops@example.com").await;
    env.grant_operator("prices-ops@example.com", true).await;
    let (month, next_month) = months();

    // Public: the first version, in effect since forever.
    let books = env.call(Method::GET, "/v1/price-books", None, None).await;
    assert_eq!(books.status, StatusCode::OK, "{books:?}");
    let first = books.body["items"][0].clone();
    assert_eq!((first["version"].as_u64(), first["currency"].as_str()), (Some(1), Some("USD")));
    assert_eq!(first["plans"]["standard"]["bytes_in"], json!({"unit_price_micros": 5_000_000, "free_units": 100}));

    let mut plans = first["plans"].clone();
    plans["standard"]["instance_hour_micros"] = json!(9_000_000);
    let new = |from: &str| json!({"effective_from": from, "currency": "USD", "plans": plans.clone()});
    let post = |token: String, body: serde_json::Value| {
        let env = &env;
        async move { env.call(Method::POST, "/v1/operator/price-books", Some(&token), Some(body)).await }
    };
    post(tenant.clone(), new(&next_month)).await.problem(403);
    post(operator.clone(), new(&format!("{month}-01T00:00:00Z"))).await.problem(422);
    post(operator.clone(), new("2099-01-15T00:00:00Z")).await.problem(422);
    let mut missing = new(&next_month);
    missing["plans"].as_object_mut().unwrap().remove("business");
    post(operator.clone(), missing).await.problem(422);

    let made = post(operator.clone(), new(&next_month)).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.body["version"], 2);
    let location = format!("/v1/price-books/{}", made.body["version"]);
    assert_eq!(env.call(Method::GET, &location, None, None).await.body["effective_from"], next_month.as_str());
    post(operator.clone(), new(&next_month)).await.problem(409);

    // This month's invoice keeps the version it began with.
    env.create_instance(&tenant, "still-v1").await;
    let invoice = env.call(Method::GET, &format!("/v1/invoices/{month}"), Some(&tenant), None).await;
    assert_eq!(invoice.body["price_book_version"], 1, "{invoice:?}");
}
