//! The bounded local cache of remote reads: chunks of segment objects and parsed segment indexes, by
//! weight, least recently used evicted first. A value being loaded is shared, so a read and a read-ahead
//! of the same chunk fetch it once. Owns memory only; what to load is the reader's business.
//!
//! Hand-written (a map and a tick per entry, an O(n) scan to evict): the entries are few (the capacity
//! over a multi-MiB chunk), and the cache crates either lack shared in-flight loads or bring a runtime of
//! their own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use omnibus_commit_log::format::SegmentIndex;
use tokio::sync::OnceCell;

/// What is cached: a chunk of an object, or an object's parsed index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Chunk { object: String, index: u64 },
    Index { object: String },
}

#[derive(Clone)]
pub enum Value {
    Chunk(Bytes),
    Index(Arc<SegmentIndex>),
}

impl Value {
    fn weight(&self) -> usize {
        match self {
            Value::Chunk(bytes) => bytes.len(),
            Value::Index(index) => index.weight(),
        }
    }
}

struct Entry {
    cell: Arc<OnceCell<Value>>,
    used: u64,
    /// Counted once loaded.
    weight: usize,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    tick: u64,
    weight: usize,
}

pub struct Cache {
    capacity: usize,
    state: Mutex<State>,
}

impl Cache {
    pub fn new(capacity: usize) -> Cache {
        Cache { capacity, state: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key` is cached or being loaded.
    pub fn contains(&self, key: &Key) -> bool {
        self.lock().entries.contains_key(key)
    }

    /// The cached value of `key`, else what `load` gives (shared with every caller waiting on the same key).
    /// A failed load is not cached.
    pub async fn get_or_load<E, F>(&self, key: Key, load: F) -> Result<Value, E>
    where
        F: Future<Output = Result<Value, E>>,
    {
        let cell = {
            let mut state = self.lock();
            state.tick += 1;
            let tick = state.tick;
            let entry = state.entries.entry(key.clone()).or_insert_with(|| Entry {
                cell: Arc::new(OnceCell::new()),
                used: tick,
                weight: 0,
            });
            entry.used = tick;
            entry.cell.clone()
        };
        if let Some(value) = cell.get() {
            metrics::counter!("omnibus_tier_cache_hits_total").increment(1);
            return Ok(value.clone());
        }
        let loaded = cell.get_or_try_init(|| load).await;
        match loaded {
            Ok(value) => {
                let value = value.clone();
                self.account(&key, &cell, value.weight());
                Ok(value)
            }
            Err(e) => {
                let mut state = self.lock();
                if state.entries.get(&key).is_some_and(|entry| Arc::ptr_eq(&entry.cell, &cell) && entry.weight == 0)
                    && cell.get().is_none()
                {
                    state.entries.remove(&key);
                }
                Err(e)
            }
        }
    }

    /// Counts a loaded value's weight once and evicts the least recently used loaded entries over capacity.
    fn account(&self, key: &Key, cell: &Arc<OnceCell<Value>>, weight: usize) {
        let mut state = self.lock();
        let Some(entry) = state.entries.get_mut(key).filter(|e| Arc::ptr_eq(&e.cell, cell) && e.weight == 0) else {
            return;
        };
        entry.weight = weight.max(1);
        state.weight += weight.max(1);
        while state.weight > self.capacity {
            let oldest = state
                .entries
                .iter()
                .filter(|(k, e)| e.weight > 0 && *k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            if let Some(gone) = state.entries.remove(&oldest) {
                state.weight -= gone.weight;
            }
        }
    }

    /// Bytes held.
    pub fn weight(&self) -> usize {
        self.lock().weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(index: u64) -> Key {
        Key::Chunk { object: "o".into(), index }
    }

    async fn load(cache: &Cache, index: u64, len: usize) -> Result<Value, ()> {
        cache.get_or_load(chunk(index), async move { Ok(Value::Chunk(Bytes::from(vec![0; len]))) }).await
    }

    #[tokio::test]
    async fn the_least_recently_used_goes_first_and_failures_are_not_kept() {
        let cache = Cache::new(300);
        load(&cache, 0, 100).await.unwrap();
        load(&cache, 1, 100).await.unwrap();
        load(&cache, 2, 100).await.unwrap();
        load(&cache, 0, 100).await.unwrap();
        load(&cache, 3, 100).await.unwrap();
        assert!(cache.contains(&chunk(0)) && !cache.contains(&chunk(1)), "1 was used least recently");
        assert_eq!(cache.weight(), 300);
        let failed: Result<Value, &str> = cache.get_or_load(chunk(9), async { Err("store down") }).await;
        assert!(failed.is_err());
        assert!(!cache.contains(&chunk(9)));
        // A hit does not load again.
        let hit: Result<Value, &str> = cache.get_or_load(chunk(3), async { Err("not called") }).await;
        assert!(hit.is_ok());
    }
}
