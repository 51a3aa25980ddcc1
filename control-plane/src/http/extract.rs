//! Extractors whose rejections are problem documents: `ApiJson` for bodies,
//! `ApiQuery` for query strings, and page-token helpers.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; malformed JSON is 400, a wrong shape 422, a missing
/// `Content-Type: application/json` 415.
pub struct ApiJson<T>(pub T);

/// The largest request body read: axum's default limit.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::validation("body", body_text(&e))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT })
            }
            Err(e) => Err(ApiError::BadRequest { detail: body_text(&e) }),
        }
    }
}

/// The innermost message of a rejection (serde's "missing field `x` at line 1").
fn body_text(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        message = inner.to_string();
        source = inner.source();
    }
    message
}

/// A query string; a wrong one is 422.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::validation("query", body_text(&e)))
    }
}

/// A display name (of a credential, an API key, an organization): trimmed,
/// 1-100 characters.
/// An optional RFC 3339 time of a query, as unix milliseconds; one that is
/// not a time is a validation problem naming `field`.
pub fn time_param(field: &'static str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|t| {
        crate::clock::parse_rfc3339(t)
            .ok_or_else(|| ApiError::validation(field, format!("{field} must be an RFC 3339 time")))
    })
    .transpose()
}

pub fn display_name(field: &'static str, name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::validation(field, format!("{field} must be 1-100 characters")));
    }
    Ok(name.to_owned())
}

/// A DNS label (an instance's, a fleet's or a region's name): it becomes part
/// of credential usernames and host names.
pub fn dns_label(field: &'static str, name: &str) -> Result<(), ApiError> {
    let bytes = name.as_bytes();
    let valid = (1..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::validation(
            field,
            format!(
                "{field} must be 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"
            ),
        ))
    }
}

/// `?page_size=&page_token=` of list endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1-200. Default 50.
    pub page_size: Option<u32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

pub struct Page {
    pub after: Option<String>,
    pub size: i64,
}

impl PageParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let size = self.page_size.unwrap_or(50);
        if !(1..=200).contains(&size) {
            return Err(ApiError::validation("page_size", "page_size must be between 1 and 200"));
        }
        let after = match &self.page_token {
            None => None,
            Some(token) => Some(
                URL_SAFE_NO_PAD
                    .decode(token)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| ApiError::validation("page_token", "page_token is not one this API issued"))?,
            ),
        };
        Ok(Page { after, size: i64::from(size) })
    }
}

/// Trims a fetch of `size + 1` rows to a page and the token of the next one.
pub fn paginate<T>(mut rows: Vec<T>, size: i64, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if rows.len() > size {
        rows.truncate(size);
        let next = rows.last().map(|row| URL_SAFE_NO_PAD.encode(id(row)));
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::dns_label;

    #[test]
    fn names_are_dns_labels() {
        for good in ["a", "sensors", "plant-7", "0x1"] {
            assert!(dns_label("name", good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "Sensors", "a_b", "a.b", &"a".repeat(64)] {
            assert!(dns_label("name", bad).is_err(), "{bad}");
        }
    }
}
