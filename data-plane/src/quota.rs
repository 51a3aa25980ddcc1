//! Rate quotas of each namespace: bytes in, bytes out, messages in and new
//! connections per second, over every protocol and connection of the
//! namespace on this broker. A use is admitted whole and paid for
//! afterwards: the connection that made it waits (Kafka: `throttle_time_ms`
//! and a muted connection; MQTT: a publisher's next packet is read later, a
//! subscriber's next messages are written later, and stay queued meanwhile),
//! so nothing accepted is dropped. A new MQTT connection past the rate is refused
//! instead ([`Quotas::try_connect`]): it has sent nothing yet.
//!
//! Each rate is a GCRA (generic cell rate algorithm) over an atomic
//! "theoretical arrival time": one compare-and-swap per use, no lock. A
//! namespace may run [`BURST`] ahead of its rate before anyone waits.
//!
//! Owns the arithmetic and the per-namespace state; knows nothing of sockets.
//! Across several brokers a namespace's allowance is per broker for now.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::tenancy::RateLimits;

/// How far ahead of its rate a namespace may run before its clients wait.
pub const BURST: Duration = Duration::from_secs(1);
/// The longest one use makes its connection wait; a bigger debt is paid over
/// several waits (the next uses find it still there).
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// Every namespace's rates on this broker.
pub struct Quotas {
    epoch: Instant,
    namespaces: RwLock<HashMap<String, Arc<NamespaceRates>>>,
}

/// One namespace's rates; a connection keeps its namespace's for its life,
/// and a changed plan changes them in place.
#[derive(Default)]
pub struct NamespaceRates {
    bytes_in: Rate,
    bytes_out: Rate,
    messages_in: Rate,
    connections: Rate,
}

/// One rate: units per second (0: unlimited) and the theoretical arrival
/// time of the next unit, in nanoseconds since the registry's epoch.
#[derive(Default)]
struct Rate {
    per_second: AtomicU64,
    tat_ns: AtomicU64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas { epoch: Instant::now(), namespaces: RwLock::default() }
    }
}

impl Quotas {
    /// The namespace's rates (unlimited until set).
    pub fn of(&self, namespace: &str) -> Arc<NamespaceRates> {
        if let Some(rates) = self.namespaces.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(namespace) {
            return rates.clone();
        }
        let mut namespaces = self.namespaces.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        namespaces.entry(namespace.to_owned()).or_default().clone()
    }

    /// Sets the namespace's limits, for its open connections too.
    pub fn set(&self, namespace: &str, limits: RateLimits) {
        let rates = self.of(namespace);
        let per_second = |limit: Option<u32>| u64::from(limit.unwrap_or(0));
        rates.bytes_in.per_second.store(per_second(limits.bytes_in_per_second), Ordering::Relaxed);
        rates.bytes_out.per_second.store(per_second(limits.bytes_out_per_second), Ordering::Relaxed);
        rates.messages_in.per_second.store(per_second(limits.messages_in_per_second), Ordering::Relaxed);
        rates.connections.per_second.store(per_second(limits.connections_per_second), Ordering::Relaxed);
    }

    pub fn remove(&self, namespace: &str) {
        self.namespaces.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(namespace);
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Admits `bytes` in as `messages` messages; how long the connection
    /// that sent them should now wait.
    pub fn take_in(&self, rates: &NamespaceRates, bytes: u64, messages: u64) -> Duration {
        let now = self.now_ns();
        rates.bytes_in.take(bytes, now).max(rates.messages_in.take(messages, now))
    }

    /// Admits `bytes` out; how long the connection that takes them should wait.
    pub fn take_out(&self, rates: &NamespaceRates, bytes: u64) -> Duration {
        rates.bytes_out.take(bytes, self.now_ns())
    }

    /// Admits one new connection; how long its login should be answered later.
    pub fn take_connection(&self, rates: &NamespaceRates) -> Duration {
        rates.connections.take(1, self.now_ns())
    }

    /// Admits one new connection if the rate has room for it now; a refused
    /// one costs nothing.
    pub fn try_connect(&self, rates: &NamespaceRates) -> bool {
        rates.connections.try_take(1, self.now_ns())
    }
}

impl Rate {
    /// Takes `units` only when that keeps within the burst; whether it did.
    fn try_take(&self, units: u64, now_ns: u64) -> bool {
        let per_second = self.per_second.load(Ordering::Relaxed);
        if per_second == 0 {
            return true;
        }
        let cost = u64::try_from(u128::from(units) * 1_000_000_000 / u128::from(per_second)).unwrap_or(u64::MAX);
        let burst = u64::try_from(BURST.as_nanos()).unwrap_or(u64::MAX);
        let mut tat = self.tat_ns.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now_ns).saturating_add(cost);
            if next.saturating_sub(now_ns) > burst {
                return false;
            }
            match self.tat_ns.compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(current) => tat = current,
            }
        }
    }

    fn take(&self, units: u64, now_ns: u64) -> Duration {
        let per_second = self.per_second.load(Ordering::Relaxed);
        if per_second == 0 || units == 0 {
            return Duration::ZERO;
        }
        let cost = u64::try_from(u128::from(units) * 1_000_000_000 / u128::from(per_second)).unwrap_or(u64::MAX);
        let mut tat = self.tat_ns.load(Ordering::Relaxed);
        loop {
            let next = tat.max(now_ns).saturating_add(cost);
            match self.tat_ns.compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    let burst = u64::try_from(BURST.as_nanos()).unwrap_or(u64::MAX);
                    let ahead = next.saturating_sub(now_ns).saturating_sub(burst);
                    return Duration::from_nanos(ahead).min(MAX_WAIT);
                }
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(bytes_in: u32) -> (Quotas, Arc<NamespaceRates>) {
        let quotas = Quotas::default();
        quotas.set("ns", RateLimits { bytes_in_per_second: Some(bytes_in), ..RateLimits::default() });
        let rates = quotas.of("ns");
        (quotas, rates)
    }

    #[test]
    fn a_burst_is_free_and_what_passes_it_waits_for_the_rate() {
        let (_, rates) = limited(1000);
        // 1,000 bytes/s with a one-second burst: the first 1,000 bytes are free.
        assert_eq!(rates.bytes_in.take(1000, 0), Duration::ZERO);
        // 500 more at once are half a second ahead of the rate.
        assert_eq!(rates.bytes_in.take(500, 0), Duration::from_millis(500));
        // Two seconds later the debt is paid and there is room again.
        assert_eq!(rates.bytes_in.take(500, 2_000_000_000), Duration::ZERO);
        // A huge use waits at most MAX_WAIT at a time.
        assert_eq!(rates.bytes_in.take(1_000_000, 2_000_000_000), MAX_WAIT);
    }

    #[test]
    fn connections_past_the_rate_are_refused_and_cost_nothing() {
        let quotas = Quotas::default();
        quotas.set("ns", RateLimits { connections_per_second: Some(2), ..RateLimits::default() });
        let rates = quotas.of("ns");
        // Two a second, a one-second burst: two now, the third refused.
        assert!(rates.connections.try_take(1, 0));
        assert!(rates.connections.try_take(1, 0));
        assert!(!rates.connections.try_take(1, 0));
        assert!(!rates.connections.try_take(1, 100_000_000), "refusals do not push the rate back");
        // Half a second later there is room for one.
        assert!(rates.connections.try_take(1, 500_000_000));
        assert!(!rates.connections.try_take(1, 500_000_000));
    }

    #[test]
    fn unlimited_namespaces_never_wait_and_limits_change_in_place() {
        let quotas = Quotas::default();
        let rates = quotas.of("free");
        assert_eq!(quotas.take_in(&rates, u64::MAX / 4, 1_000_000), Duration::ZERO);
        quotas.set("free", RateLimits { messages_in_per_second: Some(10), ..RateLimits::default() });
        // The connection's handle sees the new limit.
        assert_eq!(rates.messages_in.take(10, 0), Duration::ZERO);
        assert_eq!(rates.messages_in.take(5, 0), Duration::from_millis(500));
        // Another namespace is not touched.
        assert_eq!(quotas.take_in(&quotas.of("other"), 1 << 30, 1 << 20), Duration::ZERO);
    }
}
