//! Sign-up, login, tokens, the login limits, `me`, logout and password changes, resets and address checks.

use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Env, JWT_SECRET, SmtpServer};

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

pub async fn mail_goes_out_over_smtp(env: Env, smtp: SmtpServer) {
    let (access, _, _) = env.signup("smtp@example.com").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mails = loop {
        let mails = smtp.received();
        if !mails.is_empty() {
            break mails;
        }
        assert!(std::time::Instant::now() < deadline, "the SMTP server received nothing");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("To: smtp@example.com"), "{mail}");
    assert!(mail.contains("From: Omnibus <no-reply@localhost>"), "{mail}");
    assert!(mail.contains("Subject: "), "{mail}");
    // The body is quoted-printable (its lines are long); read it as a mail client would.
    let body = quoted_printable(mail.split_once("\n\n").map_or("", |(_, body)| body));
    assert!(body.contains("verify-email?token="), "{body}");
    let token = body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let confirmed = env.call(Method::POST, "/v1/auth/verify-email/confirm", None, Some(json!({"token": token}))).await;
    assert_eq!(confirmed.status, StatusCode::NO_CONTENT, "{confirmed:?} for {token:?} in {body}");
    assert_eq!(env.call(Method::GET, "/v1/me", Some(&access), None).await.body["email_verified"], true);
    assert!(env.outbox().is_empty(), "nothing went to the outbox");
}

/// Decodes a quoted-printable body (RFC 2045 §6.7): soft line breaks and `=XX` octets.
fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(octet)) => {
                out.push(octet);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 text")
}

pub async fn mail_requests_are_rate_limited(env: Env) {
    env.signup("ada@example.com").await;
    let reset = |email: String| {
        let request = env.http.post(format!("{}/v1/auth/password-reset", env.base)).json(&json!({"email": email}));
        async move {
            let response = request.send().await.expect("request");
            let retry_after =
                response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (response.status(), retry_after, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let resets = |env: &Env| env.outbox().iter().filter(|m| m.contains("password-reset")).count();
    // Five resets for one address, then no more mail for it within the hour.
    for _ in 0..5 {
        assert_eq!(reset("ada@example.com".into()).await.0, StatusCode::ACCEPTED);
    }
    let (status, retry_after, problem) = reset("ADA@example.com".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(retry_after.is_some_and(|s| (1..=3600).contains(&s)), "{retry_after:?}");
    assert!(problem["detail"].as_str().unwrap().contains("mails asked for this address"), "{problem}");
    assert_eq!(resets(&env), 5, "the refused request mailed nothing");
    // An address without an account is limited alike, so the limit tells nothing either.
    for _ in 0..5 {
        assert_eq!(reset("nobody@example.com".into()).await.0, StatusCode::ACCEPTED);
    }
    assert_eq!(reset("nobody@example.com".into()).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Fifty requests from one source address, whatever the addresses, hold it back.
    for i in 0..40 {
        assert_eq!(reset(format!("someone{i}@example.com")).await.0, StatusCode::ACCEPTED);
    }
    let (status, _, problem) = reset("fresh@example.com".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("mails asked from this address"), "{problem}");
}

pub async fn addresses_forwarded_by_trusted_proxies(env: Env) {
    let (token, _, _) = env.signup("proxied@example.com").await;
    let login = |forwarded: &'static str| {
        env.http
            .post(format!("{}/v1/auth/login", env.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": "proxied@example.com", "password": "a long passphrase"}))
            .send()
    };
    // The client's own entry (left) is not believed; the proxy's (right) is.
    assert_eq!(login("1.1.1.1, 198.51.100.7").await.unwrap().status(), StatusCode::OK);
    let log = env.call(Method::GET, "/v1/audit-events?action=POST%20/v1/auth/login", Some(&token), None).await;
    assert_eq!(log.body["items"][0]["source_address"], "198.51.100.7", "{log:?}");
    // The login limit counts per forwarded address: one client's failures do not hold back another's.
    let wrong = |forwarded: &'static str, i: usize| {
        env.http
            .post(format!("{}/v1/auth/login", env.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": format!("nobody{i}@example.com"), "password": "guess"}))
            .send()
    };
    for i in 0..100 {
        assert_eq!(wrong("198.51.100.8", i).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(wrong("198.51.100.8", 100).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login("198.51.100.9").await.unwrap().status(), StatusCode::OK);
}
