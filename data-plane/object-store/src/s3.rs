//! The S3 backend on aws-sdk-s3: any S3-compatible service, in one bucket under an optional key prefix.
//! Large files go up as multipart uploads (aborted when a part fails, so no half object is ever visible);
//! the SDK retries throttling and transient errors with backoff, and every attempt has a timeout.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;

use crate::{BoxFuture, ObjectMeta, ObjectStore, StoreError, check_key};

/// Files larger than this go up in parts of this size (S3 allows 5 MiB to 5 GiB per part).
const PART_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Prepended to every key, without a trailing `/`; may be empty.
    prefix: String,
}

/// The HTTP client every S3 client here uses: hyper over rustls with ring.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https()
}

fn backend<E: std::error::Error + Send + Sync + 'static>(error: SdkError<E>) -> StoreError {
    StoreError::Backend(DisplayErrorContext(error).to_string())
}

impl S3Store {
    /// A client from the standard AWS environment: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`),
    /// `AWS_REGION` (default `us-east-1`), credentials from the default chain (environment, profile, web
    /// identity, instance metadata). Path-style addressing is used when `path_style` says so, and by
    /// default only with a custom endpoint (S3-compatible servers rarely serve virtual hosts).
    pub async fn connect(bucket: &str, prefix: &str, path_style: Option<bool>) -> Result<S3Store, StoreError> {
        let loader = || {
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(http_client())
                .retry_config(RetryConfig::standard().with_max_attempts(4))
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(5))
                        .operation_attempt_timeout(Duration::from_secs(60))
                        .build(),
                )
        };
        // The region from the default chain (environment, profile, instance metadata), else us-east-1.
        let mut shared = loader().load().await;
        if shared.region().is_none() {
            shared = loader().region(Region::new("us-east-1")).load().await;
        }
        let path_style = path_style.unwrap_or(shared.endpoint_url().is_some());
        let config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(path_style).build();
        Ok(S3Store::new(Client::from_conf(config), bucket, prefix))
    }

    /// A store over a client configured by the caller.
    pub fn new(client: Client, bucket: &str, prefix: &str) -> S3Store {
        S3Store { client, bucket: bucket.to_string(), prefix: prefix.trim_matches('/').to_string() }
    }

    fn full_key(&self, key: &str) -> Result<String, StoreError> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() { key.to_string() } else { format!("{}/{key}", self.prefix) })
    }

    async fn put_multipart(&self, key: &str, path: &Path, size: u64) -> Result<(), StoreError> {
        let created =
            self.client.create_multipart_upload().bucket(&self.bucket).key(key).send().await.map_err(backend)?;
        let upload_id = created.upload_id().ok_or_else(|| StoreError::Backend("no upload id".into()))?.to_string();
        let uploaded = self.upload_parts(key, path, size, &upload_id).await;
        let completed = match uploaded {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map(drop)
                .map_err(backend),
            Err(e) => Err(e),
        };
        if completed.is_err() {
            let abort = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(&upload_id);
            if let Err(e) = abort.send().await {
                tracing::warn!(key, error = %DisplayErrorContext(e), "could not abort a failed multipart upload");
            }
        }
        completed
    }

    async fn upload_parts(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, StoreError> {
        let mut parts = Vec::new();
        let mut offset = 0;
        while offset < size {
            let length = PART_BYTES.min(size - offset);
            let number = i32::try_from(parts.len() + 1).map_err(|_| StoreError::Backend("too many parts".into()))?;
            let body = ByteStream::read_from()
                .path(path)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(body)
                .send()
                .await
                .map_err(backend)?;
            parts
                .push(CompletedPart::builder().part_number(number).set_e_tag(part.e_tag().map(str::to_string)).build());
            offset += length;
        }
        Ok(parts)
    }
}

impl ObjectStore for S3Store {
    fn put<'a>(&'a self, key: &'a str, body: Bytes) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = self.full_key(key)?;
            let put = self.client.put_object().bucket(&self.bucket).key(&key).body(ByteStream::from(body));
            put.send().await.map(drop).map_err(backend)
        })
    }

    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let key = self.full_key(key)?;
            let size = tokio::fs::metadata(path).await?.len();
            if size > PART_BYTES {
                self.put_multipart(&key, path, size).await?;
            } else {
                let body = ByteStream::from_path(path).await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
                self.client.put_object().bucket(&self.bucket).key(&key).body(body).send().await.map_err(backend)?;
            }
            Ok(size)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move { self.read(key, None).await })
    }

    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes, StoreError>> {
        Box::pin(async move {
            if range.is_empty() {
                return Ok(Bytes::new());
            }
            self.read(key, Some(range)).await
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<ObjectMeta>, StoreError>> {
        Box::pin(async move {
            let strip = if self.prefix.is_empty() { 0 } else { self.prefix.len() + 1 };
            let full = if self.prefix.is_empty() { prefix.to_string() } else { format!("{}/{prefix}", self.prefix) };
            let mut found = Vec::new();
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&full)
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(backend)?;
                for object in page.contents() {
                    let Some(key) = object.key().and_then(|k| k.get(strip..)) else { continue };
                    found.push(ObjectMeta {
                        key: key.to_string(),
                        size: u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
                    });
                }
                token = page.next_continuation_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            found.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(found)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let key = self.full_key(key)?;
            self.client.delete_object().bucket(&self.bucket).key(&key).send().await.map(drop).map_err(backend)
        })
    }
}

impl S3Store {
    async fn read(&self, key: &str, range: Option<Range<u64>>) -> Result<Bytes, StoreError> {
        let full = self.full_key(key)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .set_range(range.map(|r| format!("bytes={}-{}", r.start, r.end - 1)));
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(StoreError::NotFound(key.to_string()));
            }
            // A range starting at or past the end: nothing there.
            Err(e) if e.code() == Some("InvalidRange") => return Ok(Bytes::new()),
            Err(e) => return Err(backend(e)),
        };
        let body = answer.body.collect().await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(body.into_bytes())
    }
}
