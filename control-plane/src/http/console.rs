//! Serves the web console (built into the binary by `omnibus-web-console`)
//! on every path the API does not own: a file of the build by its path, and
//! the console's `index.html` for the console's own routes (`/instances/…`),
//! so links and reloads work. Hashed files under `/assets/` are cached for a
//! year; everything else is revalidated by ETag. Paths under `/v1/`, and any
//! method but GET and HEAD, stay the API's 404 problem document.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// What the console's pages may load: only from this origin, MQTT over
/// WebSocket to the brokers (any host: the instance's endpoint), inline
/// styles (the charts set them), nothing framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/v1/") || path == "/v1" {
        return ApiError::NotFound("no such resource").into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return ApiError::NotFound("no such resource").into_response();
    }
    let file = path.trim_start_matches('/');
    let (asset, immutable) = match omnibus_web_console::asset(file) {
        Some(asset) => (asset, file.starts_with("assets/")),
        // A console route (no extension): the app decides what it shows.
        None if !file.rsplit('/').next().unwrap_or_default().contains('.') => {
            match omnibus_web_console::asset("index.html") {
                Some(index) => (index, false),
                None => return ApiError::NotFound("no such resource").into_response(),
            }
        }
        None => return ApiError::NotFound("no such file").into_response(),
    };
    let etag = format!("\"{}\"", asset.digest);
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let status = if fresh { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let body = if fresh { Vec::new() } else { asset.bytes.into_owned() };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::CONTENT_TYPE, &asset.content_type);
    set(headers, header::ETAG, &etag);
    set(headers, header::CACHE_CONTROL, cache);
    set(headers, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    response
}
