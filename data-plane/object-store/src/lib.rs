//! Object storage for the tiered log: one small trait, [`ObjectStore`], and its two backends — S3 through
//! aws-sdk-s3 ([`s3::S3Store`]) and a local directory, the embedded default ([`local::LocalDir`]) — chosen by
//! a URL ([`open`]: `file:///path` or `s3://bucket/prefix`).
//!
//! Owns keys, bodies and the backends' failure modes; knows nothing of logs, segments or manifests. Every
//! write is whole or absent: a reader never sees half an object, and writing a key again replaces it, so a
//! retried upload is idempotent.

pub mod local;
pub mod s3;

use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

/// The futures the trait returns (boxed so the trait is object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key, relative to the store's root or prefix, `/`-separated.
    pub key: String,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    #[error("invalid object store URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("object store i/o: {0}")]
    Io(#[from] io::Error),
    /// What the remote service answered, or why it could not be reached.
    #[error("object store: {0}")]
    Backend(String),
}

/// A flat namespace of immutable objects.
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Stores `body` under `key`, replacing any object there.
    fn put<'a>(&'a self, key: &'a str, body: Bytes) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Stores the file at `path` under `key` without holding it in memory (S3: multipart when large).
    /// Returns its size.
    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// The whole object.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>>;
    /// Bytes `range` of the object; shorter when the object ends inside the range.
    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes, StoreError>>;
    /// Every object whose key starts with `prefix`, sorted by key.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ObjectMeta>, StoreError>>;
    /// Removes the object; removing one that is not there succeeds.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Opens the store a URL names: `file:///absolute/path` or `s3://bucket[/prefix]` (the endpoint, region and
/// credentials from the standard AWS environment and chain; see [`s3::S3Store::connect`]).
pub async fn open(url: &str) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidUrl { url: url.to_string(), reason: reason.to_string() };
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(invalid("a file:// URL needs an absolute path"));
        }
        return Ok(Arc::new(local::LocalDir::open(Path::new(path))?));
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(invalid("an s3:// URL needs a bucket"));
        }
        let path_style = match query {
            "" => None,
            "path_style=true" => Some(true),
            "path_style=false" => Some(false),
            _ => return Err(invalid("the only query parameter is path_style=true|false")),
        };
        return Ok(Arc::new(s3::S3Store::connect(bucket, prefix.trim_matches('/'), path_style).await?));
    }
    Err(invalid("the scheme must be file:// or s3://"))
}

/// Refuses keys that are empty, absolute, or step outside the root (`.`/`..` parts, empty parts).
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return Err(StoreError::InvalidKey(key.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_root() {
        for bad in ["", "/a", "a/", "a//b", "../a", "a/./b", "a/../b"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        check_key("ns/topic-0/00000000000000000000.log").unwrap();
    }

    #[tokio::test]
    async fn urls_pick_a_backend_or_say_what_is_wrong() {
        for (url, reason) in [
            ("file://relative", "absolute path"),
            ("s3://", "needs a bucket"),
            ("s3://b/p?x=1", "query parameter"),
            ("gs://bucket", "scheme"),
        ] {
            match open(url).await {
                Err(StoreError::InvalidUrl { reason: why, .. }) => assert!(why.contains(reason), "{url}: {why}"),
                other => panic!("{url}: {other:?}"),
            }
        }
    }
}
