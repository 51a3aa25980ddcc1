//! The rate limits kept in the database, so they hold across control planes:
//! failed logins (and wrong current passwords) per account and per source
//! address over `login_window_secs`, and mail requests (password resets,
//! address checks) per account and per source address over
//! `mail_request_window_secs`. A call into a bucket at its limit is refused
//! with 429, `Retry-After` and the limit named, before any password is
//! checked or any mail sent.

use super::AppState;
use super::client_addr::ClientAddr;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};

/// One bucket and its limit.
struct Bucket {
    name: String,
    limit: u32,
    /// What is counted, for the 429's detail.
    what: &'static str,
}

pub struct RateLimit<'a> {
    state: &'a AppState,
    buckets: [Bucket; 2],
    window_secs: u64,
}

impl<'a> RateLimit<'a> {
    /// The limits a login to `email` (normalised) from `client` is under;
    /// only failures count ([`RateLimit::record`] after a wrong password).
    pub fn login(state: &'a AppState, email: &str, client: ClientAddr) -> RateLimit<'a> {
        let config = &state.config;
        RateLimit::new(
            state,
            [
                (format!("account:{email}"), config.login_failures_per_account, "failed logins to this account"),
                (
                    format!("address:{}", client.text()),
                    config.login_failures_per_address,
                    "failed logins from this address",
                ),
            ],
            config.login_window_secs,
        )
    }

    /// The limits a request to mail `email` (normalised) from `client` is
    /// under; every request counts, for an address with an account or not.
    pub fn mail_request(state: &'a AppState, email: &str, client: ClientAddr) -> RateLimit<'a> {
        let config = &state.config;
        RateLimit::new(
            state,
            [
                (format!("mail-account:{email}"), config.mail_requests_per_account, "mails asked for this address"),
                (
                    format!("mail-address:{}", client.text()),
                    config.mail_requests_per_address,
                    "mails asked from this address",
                ),
            ],
            config.mail_request_window_secs,
        )
    }

    fn new(state: &'a AppState, buckets: [(String, u32, &'static str); 2], window_secs: u64) -> RateLimit<'a> {
        let buckets = buckets.map(|(name, limit, what)| Bucket { name, limit, what });
        RateLimit { state, buckets, window_secs }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.window_secs.max(1).saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// Refuses the call when a bucket is at its limit.
    pub async fn check(&self) -> ApiResult<()> {
        let now = now_ms();
        let window_ms = self.window_ms();
        for bucket in &self.buckets {
            let (events, oldest) = self.state.store.rate_limit_events_since(&bucket.name, now - window_ms).await?;
            if events >= i64::from(bucket.limit) {
                // When the oldest event counted leaves the window.
                let free_at = oldest.unwrap_or(now).saturating_add(window_ms);
                let retry_after_secs = u64::try_from((free_at - now).max(1)).unwrap_or(1).div_ceil(1000);
                tracing::info!(bucket = %bucket.name, events, "refused: rate limit");
                return Err(ApiError::TooManyRequests {
                    limit: format!("at most {} {} per {} s", bucket.limit, bucket.what, self.window_secs),
                    retry_after_secs,
                });
            }
        }
        Ok(())
    }

    /// Refuses the call when a bucket is at its limit, else counts it: for
    /// limits where every call counts, not only failures.
    pub async fn admit(&self) -> ApiResult<()> {
        self.check().await?;
        self.record().await
    }

    /// Counts one event against every bucket.
    pub async fn record(&self) -> ApiResult<()> {
        let now = now_ms();
        let names = self.buckets.each_ref().map(|bucket| bucket.name.as_str());
        self.state.store.record_rate_limit_events(&names, now, now.saturating_add(self.window_ms())).await?;
        Ok(())
    }
}
