//! Conditional requests (RFC 9110 §13): each single resource's `ETag`, a hash
//! of its representation, so it changes whenever what a GET shows changes
//! (also when the reconciler moves an instance's status); `If-None-Match` on
//! GET (304) and `If-Match` on PATCH and DELETE (412 when the resource is no
//! longer the one the client saw). The handlers make the write itself
//! conditional on the row they compared, so a change in between is a 412
//! too, not a lost update.

use axum::extract::FromRequestParts;
use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The strong entity tag of a representation.
pub fn etag<T: Serialize>(representation: &T) -> String {
    let json = serde_json::to_vec(representation).unwrap_or_default();
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&Sha256::digest(&json)[..16]))
}

/// A request's `If-Match` and `If-None-Match`.
pub struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Preconditions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name: axum::http::HeaderName| -> Result<Option<String>, ApiError> {
            parts
                .headers
                .get(&name)
                .map(|v: &HeaderValue| v.to_str().map(str::to_owned))
                .transpose()
                .map_err(|_| ApiError::BadRequest { detail: format!("{name} must be visible ASCII") })
        };
        Ok(Preconditions { if_match: header(IF_MATCH)?, if_none_match: header(IF_NONE_MATCH)? })
    }
}

impl Preconditions {
    /// No preconditions: for answers that carry a representation just made.
    pub fn none() -> Preconditions {
        Preconditions { if_match: None, if_none_match: None }
    }

    /// Whether the request is conditional on the resource's state.
    pub fn has_if_match(&self) -> bool {
        self.if_match.is_some()
    }

    /// `Ok` unless `If-Match` names tags of which none is `current`.
    pub fn check(&self, current: &str) -> Result<(), ApiError> {
        match &self.if_match {
            Some(tags) if !matches(tags, current, false) => Err(ApiError::PreconditionFailed),
            _ => Ok(()),
        }
    }

    /// Whether the client's copy (`If-None-Match`) is `current`.
    pub fn not_modified(&self, current: &str) -> bool {
        self.if_none_match.as_deref().is_some_and(|tags| matches(tags, current, true))
    }
}

/// Whether a comma-separated list of entity tags (or `*`) matches `current`;
/// `weak` comparison (for `If-None-Match`) ignores a `W/` prefix.
fn matches(tags: &str, current: &str, weak: bool) -> bool {
    tags.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current || (weak && tag.strip_prefix("W/").is_some_and(|tag| tag == current)))
}

/// A representation with its `ETag`, or 304 when the client has it already.
pub fn with_etag<T: Serialize>(preconditions: &Preconditions, representation: T) -> Response {
    let tag = etag(&representation);
    let mut response = if preconditions.not_modified(&tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        axum::Json(representation).into_response()
    };
    set_etag(response.headers_mut(), &tag);
    response
}

/// Sets the `ETag` header of an answer carrying the representation `tag` is of.
pub fn set_etag(headers: &mut HeaderMap, tag: &str) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(ETAG, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_compare_as_rfc_9110_says() {
        let current = etag(&serde_json::json!({"a": 1}));
        assert_ne!(current, etag(&serde_json::json!({"a": 2})));
        assert!(current.starts_with('"') && current.ends_with('"'));
        assert!(matches(&current, &current, false));
        assert!(matches(&format!("\"other\", {current}"), &current, false));
        assert!(matches("*", &current, false));
        assert!(!matches(&format!("W/{current}"), &current, false), "If-Match compares strongly");
        assert!(matches(&format!("W/{current}"), &current, true), "If-None-Match compares weakly");
        assert!(!matches("\"other\"", &current, true));
    }
}
