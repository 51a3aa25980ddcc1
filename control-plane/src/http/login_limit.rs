//! The login rate limits: failed logins per account and per source address
//! over the last window (`login_*` in the configuration), recorded in the
//! database so they hold across control planes. A login to a bucket at its
//! limit is refused with 429, `Retry-After` and the limit named, before the
//! password is even checked; only wrong passwords count.

use std::net::IpAddr;

use super::AppState;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};

pub struct LoginLimit<'a> {
    state: &'a AppState,
    account: String,
    address: String,
    window_ms: i64,
}

impl<'a> LoginLimit<'a> {
    /// The limits a login to `email` (normalised) from `peer` is under.
    pub fn new(state: &'a AppState, email: &str, peer: IpAddr) -> LoginLimit<'a> {
        let window_ms = i64::try_from(state.config.login_window_secs.max(1).saturating_mul(1000)).unwrap_or(i64::MAX);
        LoginLimit { state, account: format!("account:{email}"), address: format!("address:{peer}"), window_ms }
    }

    /// Refuses the login when the account or the address is at its limit.
    pub async fn check(&self) -> ApiResult<()> {
        let config = &self.state.config;
        let limits = [
            (&self.account, config.login_failures_per_account, "failed logins to this account"),
            (&self.address, config.login_failures_per_address, "failed logins from this address"),
        ];
        let now = now_ms();
        for (bucket, limit, what) in limits {
            let (failures, oldest) = self.state.store.login_failures_since(bucket, now - self.window_ms).await?;
            if failures >= i64::from(limit) {
                // When the oldest failure counted leaves the window.
                let free_at = oldest.unwrap_or(now).saturating_add(self.window_ms);
                let retry_after_secs = u64::try_from((free_at - now).max(1)).unwrap_or(1).div_ceil(1000);
                tracing::info!(bucket = %bucket, failures, "login refused: rate limit");
                return Err(ApiError::TooManyRequests {
                    limit: format!("at most {limit} {what} per {} s", config.login_window_secs),
                    retry_after_secs,
                });
            }
        }
        Ok(())
    }

    /// Records a failed login against the account and the address.
    pub async fn failed(&self) -> ApiResult<()> {
        let now = now_ms();
        let buckets = [self.account.as_str(), self.address.as_str()];
        self.state.store.record_login_failure(&buckets, now, now - self.window_ms).await?;
        Ok(())
    }
}
