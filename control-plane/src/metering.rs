//! The metering collector: reads every fleet's sealed usage records over
//! gRPC, stores them, and only then acknowledges them, so a crash or a retry
//! on either side neither loses a record (the broker keeps it until
//! acknowledged) nor counts one twice (the store keeps each (journal, seq)
//! once). On its own cadence it also finalizes the invoices of ended months
//! and checks spend alerts.
//!
//! Owns the schedule and the read–store–acknowledge order; never answers HTTP.

use std::time::Duration;

use omnibus_api::fleet::{AcknowledgeUsageRequest, ReadUsageRequest};

use crate::clock::now_ms;
use crate::error::InternalError;
use crate::fleet::Fleets;
use crate::invoicing;
use crate::mailer::Mailer;
use crate::store::Store;

/// Records asked for per read.
const BATCH: u32 = 1000;

#[derive(Debug, thiserror::Error)]
enum CollectError {
    #[error(transparent)]
    Endpoint(#[from] crate::fleet::EndpointError),
    #[error("fleet: {0}")]
    Rpc(#[from] tonic::Status),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// How often the collector and the billing jobs run.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Between two reads of every fleet's usage.
    pub collect: Duration,
    /// Between two passes of invoice finalization and spend alert checks.
    pub billing: Duration,
    /// How long after a month ends its invoices are finalized (usage
    /// records of its last minutes arrive within a minute or two).
    pub finalize_delay: Duration,
}

pub struct Collector {
    pub store: Store,
    pub fleets: Fleets,
    pub mailer: Mailer,
    pub schedule: Schedule,
}

impl Collector {
    /// Runs until `stop` resolves.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        let mut collect = tokio::time::interval(self.schedule.collect);
        let mut billing = tokio::time::interval(self.schedule.billing);
        collect.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        billing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = collect.tick() => self.collect_all().await,
                _ = billing.tick() => self.bill().await,
            }
        }
    }

    async fn collect_all(&self) {
        let fleets = match self.store.list_fleets(None, 10_000).await {
            Ok(fleets) => fleets,
            Err(error) => {
                tracing::warn!(%error, "cannot list fleets to collect usage");
                return;
            }
        };
        for fleet in fleets {
            match self.collect(&fleet.endpoint).await {
                Ok(0) => {}
                Ok(stored) => tracing::debug!(fleet = %fleet.name, stored, "usage collected"),
                Err(error) => tracing::warn!(fleet = %fleet.name, %error, "cannot collect usage; will retry"),
            }
        }
    }

    /// Reads, stores and acknowledges one fleet's records until it has none
    /// left; answers how many were new to the store.
    async fn collect(&self, endpoint: &str) -> Result<u64, CollectError> {
        let mut client = self.fleets.client(endpoint)?;
        let mut stored = 0;
        loop {
            let read = client.read_usage(ReadUsageRequest { after_seq: 0, limit: BATCH }).await?.into_inner();
            let Some(through_seq) = read.records.iter().map(|r| r.seq).max() else {
                return Ok(stored);
            };
            stored += self.store.ingest_usage(&read.journal_id, &read.broker_id, &read.records, now_ms()).await?;
            let request = AcknowledgeUsageRequest { journal_id: read.journal_id, through_seq };
            client.acknowledge_usage(request).await?;
            if read.pending <= read.records.len() as u64 {
                return Ok(stored);
            }
        }
    }

    async fn bill(&self) {
        let now = now_ms();
        let delay = i64::try_from(self.schedule.finalize_delay.as_millis()).unwrap_or(i64::MAX);
        let finalized: Result<usize, InternalError> = invoicing::finalize_due(&self.store, now, delay).await;
        if let Err(error) = finalized {
            tracing::warn!(%error, "cannot finalize invoices; will retry");
        }
        if let Err(error) = invoicing::check_spend_alerts(&self.store, &self.mailer, now).await {
            tracing::warn!(%error, "cannot check spend alerts; will retry");
        }
    }
}
