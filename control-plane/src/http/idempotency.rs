//! `Idempotency-Key` on POST: a retry with the same key and the same request
//! gets the first answer again (marked `Idempotent-Replayed: true`) and does
//! nothing twice; the same key with another method, path or body is 422; a
//! retry while the first request still runs is 409 with `Retry-After`. Keys
//! are scoped to the caller (the token's user and organization, or anyone
//! for calls without one, whose bodies carry their own secrets), and kept a
//! day. Answers our side failed (5xx) are not kept, so their retry runs.
//!
//! Owns the key format, the hashes and the sealing of kept answers; the rows
//! are `Store`'s. Several control planes sharing one database agree through
//! its primary key, not through anything in memory.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::LengthLimitError;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::extract::BODY_LIMIT;
use crate::auth::Caller;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult, InternalError};
use crate::store::Claim;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// How long a key is remembered.
const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Headers of an answer that belong to the request that got it, not to the answer.
const NOT_KEPT: [HeaderName; 4] =
    [header::DATE, header::CONTENT_LENGTH, header::TRANSFER_ENCODING, HeaderName::from_static("x-request-id")];

/// The keys the hashes and seals are made with, derived from the server's
/// token secret, so what the table holds is worthless without it: a key the
/// client chose is never stored, nor a hash of a body an attacker could
/// guess (a password), nor an answer in clear (a password or tokens shown
/// once).
#[derive(Clone)]
pub struct IdempotencyKeys {
    hashes: hmac::Key,
    seals: hmac::Key,
    random: SystemRandom,
}

impl IdempotencyKeys {
    pub fn new(secret: &[u8]) -> IdempotencyKeys {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, label).as_ref());
        IdempotencyKeys {
            hashes: derive(b"omnibus idempotency hashes v1"),
            seals: derive(b"omnibus idempotency seals v1"),
            random: SystemRandom::new(),
        }
    }

    fn key_hash(&self, scope: &str, key: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.hashes, &framed(&[b"key", scope.as_bytes(), key.as_bytes()])))
    }

    fn request_hash(&self, method: &Method, uri: &str, body: &[u8]) -> String {
        let framed = framed(&[b"request", method.as_str().as_bytes(), uri.as_bytes(), body]);
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.hashes, &framed))
    }

    /// The AEAD key of one idempotency key's answer.
    fn sealing_key(&self, scope: &str, key: &str) -> LessSafeKey {
        let derived = hmac::sign(&self.seals, &framed(&[b"seal", scope.as_bytes(), key.as_bytes()]));
        // An HMAC-SHA256 tag is exactly ChaCha20-Poly1305's 32-byte key.
        LessSafeKey::new(UnboundKey::new(&aead::CHACHA20_POLY1305, derived.as_ref()).expect("a 32-byte key"))
    }

    fn seal(&self, scope: &str, key: &str, key_hash: &str, mut plain: Vec<u8>) -> Option<String> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        self.sealing_key(scope, key)
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(key_hash.as_bytes()), &mut plain)
            .ok()?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&plain);
        Some(STANDARD.encode(sealed))
    }

    fn open(&self, scope: &str, key: &str, key_hash: &str, sealed: &str) -> Option<Vec<u8>> {
        let sealed = STANDARD.decode(sealed).ok()?;
        let (nonce, ciphertext) = sealed.split_at_checked(aead::NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain =
            self.sealing_key(scope, key).open_in_place(nonce, Aad::from(key_hash.as_bytes()), &mut buffer).ok()?;
        Some(plain.to_vec())
    }
}

/// Each part preceded by its length, so no two lists frame alike.
fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// A kept answer, as sealed.
#[derive(Serialize, Deserialize)]
struct Kept {
    status: u16,
    headers: Vec<(String, String)>,
    /// Base64.
    body: String,
}

/// The middleware: POSTs with an `Idempotency-Key` go through [`keyed`].
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    let Some(key) = key.to_str().ok().filter(|k| (1..=255).contains(&k.len())).map(str::to_owned) else {
        let detail = "Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned();
        return ApiError::BadRequest { detail }.into_response();
    };
    keyed(&state, &key, request, next).await.unwrap_or_else(IntoResponse::into_response)
}

async fn keyed(state: &AppState, key: &str, request: Request, next: Next) -> ApiResult<Response> {
    let keys = &state.idempotency;
    let caller = match request.extensions().get::<Caller>() {
        Some(found) => Some(found.clone()),
        None => Caller::of(request.headers(), state).await.ok(),
    };
    let scope = match caller {
        Some(caller) => format!("{} in {}", caller.actor, caller.organization_id),
        None => "anonymous".to_owned(),
    };
    let (parts, body) = request.into_parts();
    let body = read(body, &parts.headers).await?;
    let uri = parts.uri.path_and_query().map_or(parts.uri.path(), |pq| pq.as_str());
    let request_hash = keys.request_hash(&parts.method, uri, &body);
    let key_hash = keys.key_hash(&scope, key);
    let now = now_ms();
    match state.store.claim_idempotency_key(&key_hash, &request_hash, now, now - RETENTION_MS).await? {
        Claim::Taken { request_hash: first, .. } if first != request_hash => Err(ApiError::IdempotencyKeyReused),
        Claim::Taken { response: None, .. } => Err(ApiError::IdempotencyKeyInUse),
        Claim::Taken { response: Some(sealed), .. } => {
            let kept = keys.open(&scope, key, &key_hash, &sealed).and_then(|plain| serde_json::from_slice(&plain).ok());
            let kept = kept.ok_or_else(|| InternalError::Corrupt("a kept idempotent answer does not open".into()))?;
            replay(kept)
        }
        Claim::Claimed => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            if response.status().is_server_error() {
                state.store.release_idempotency_key(&key_hash).await?;
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .map_err(|e| InternalError::Corrupt(format!("an answer's body cannot be read: {e}")))?;
            let kept = Kept {
                status: parts.status.as_u16(),
                headers: kept_headers(&parts.headers),
                body: STANDARD.encode(&body),
            };
            let plain = serde_json::to_vec(&kept).map_err(|e| InternalError::Corrupt(e.to_string()))?;
            match keys.seal(&scope, key, &key_hash, plain) {
                Some(sealed) => state.store.complete_idempotency_key(&key_hash, &sealed).await?,
                None => tracing::error!("cannot seal an idempotent answer; a retry will wait for the key to lapse"),
            }
            Ok(Response::from_parts(parts, Body::from(body)))
        }
    }
}

/// The request body, at most [`BODY_LIMIT`] bytes of it.
async fn read(body: Body, headers: &HeaderMap) -> ApiResult<Bytes> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT) {
        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
    }
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|e| match e.into_inner().downcast::<LengthLimitError>() {
        Ok(_) => ApiError::PayloadTooLarge { limit: BODY_LIMIT },
        Err(e) => ApiError::BadRequest { detail: format!("the request body cannot be read: {e}") },
    })
}

fn kept_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !NOT_KEPT.contains(name))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

fn replay(kept: Kept) -> ApiResult<Response> {
    let corrupt = |what: &str| InternalError::Corrupt(format!("a kept idempotent answer has a bad {what}"));
    let status = StatusCode::from_u16(kept.status).map_err(|_| corrupt("status"))?;
    let body = STANDARD.decode(kept.body).map_err(|_| corrupt("body"))?;
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in kept.headers {
        let name = HeaderName::try_from(name).map_err(|_| corrupt("header name"))?;
        let value = HeaderValue::try_from(value).map_err(|_| corrupt("header value"))?;
        headers.append(name, value);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}
