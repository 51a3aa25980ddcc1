//! A session as the hub and connections share it: its [`SessionState`]
//! behind a lock, which connection (if any) it is attached to, the signal
//! that wakes that connection's writer, and the one publishers wait on while
//! its queue is full.
//!
//! Owns attachment (one connection at a time; a takeover re-attaches and the
//! old writer stops at its next look), the session's lifetime while offline
//! (its expiry interval, and a will waiting out its delay) and the waiting
//! rules. No sockets, no routing, no store.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::mqtt::codec::Packet;
use crate::mqtt::router::SessionId;
use crate::mqtt::session::SessionState;
use crate::mqtt::store::SessionKey;
use crate::mqtt::will::Will;

/// Messages queued for an attached session before publishers wait.
pub const QUEUE_WATERMARK: usize = 1024;

pub struct Session {
    pub id: SessionId,
    pub key: SessionKey,
    /// Outlives its connections (a Session Expiry Interval above 0; MQTT
    /// 3.1.1 CleanSession = 0) and is stored.
    pub persistent: bool,
    inner: Mutex<Inner>,
    /// Something may be sendable: a message became ready, the window opened.
    pub wake: Notify,
    /// The queue shrank.
    space: Notify,
}

pub struct Inner {
    pub state: SessionState,
    /// The connection the session is attached to.
    pub connection: Option<u64>,
    /// Session Expiry Interval, seconds; `None`: never.
    pub expiry_secs: Option<u32>,
    /// Since when it has had no connection (Unix ms).
    pub offline_since_ms: Option<u64>,
    /// A will waiting for its delay (due at, Unix ms), until the session ends
    /// or a CONNECT resumes it. Boxed: most sessions have none.
    pub will: Option<(u64, Box<Will>)>,
}

impl Inner {
    /// When an offline session ends (Unix ms); `None` while attached or never.
    pub fn expires_at_ms(&self) -> Option<u64> {
        let since = self.offline_since_ms?;
        Some(since.saturating_add(u64::from(self.expiry_secs?) * 1000))
    }
}

impl Session {
    pub fn new(id: SessionId, key: SessionKey, persistent: bool, state: SessionState) -> Session {
        Session {
            id,
            key,
            persistent,
            inner: Mutex::new(Inner { state, connection: None, expiry_secs: None, offline_since_ms: None, will: None }),
            wake: Notify::new(),
            space: Notify::new(),
        }
    }

    // The state is consistent between method calls, so a panic while holding
    // the lock leaves nothing half done worth refusing.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Attaches `connection` (detaching any other) and returns what it must
    /// resend first: the messages in flight.
    pub fn attach(&self, connection: u64, now_ms: u64) -> Vec<Packet> {
        let mut inner = self.lock();
        inner.connection = Some(connection);
        inner.offline_since_ms = None;
        inner.state.resend(now_ms)
    }

    /// Detaches `connection` if it is still the one attached.
    pub fn detach(&self, connection: u64) {
        let mut inner = self.lock();
        if inner.connection == Some(connection) {
            inner.connection = None;
        }
        drop(inner);
        // Publishers waiting for room must not wait for a writer that is gone.
        self.space.notify_waiters();
    }

    pub fn is_attached(&self) -> bool {
        self.lock().connection.is_some()
    }

    /// Called by the writer after it took messages off the queue.
    pub fn made_room(&self) {
        self.space.notify_waiters();
    }

    /// Waits while the session is attached and its queue is at the watermark
    /// (a slow subscriber holds its publishers back instead of losing
    /// messages). Returns at once for a detached session.
    pub async fn wait_for_room(&self) {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let inner = self.lock();
                if inner.connection.is_none() || inner.state.queued() < QUEUE_WATERMARK {
                    return;
                }
            }
            notified.await;
        }
    }
}
