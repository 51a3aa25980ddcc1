//! The registry of live client sessions, by namespace and client id, with a
//! way to close them.
//!
//! Owns session identity across protocols: one client id per namespace at a
//! time (a second connection takes the session over) and the kick signal
//! tenancy changes use to close connections. It does not close sockets itself;
//! each connection listens on its [`Kicked`] receiver and closes on its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

/// Why a live session is being closed from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KickReason {
    /// A new connection registered the same client id in the same namespace.
    Takeover,
    /// Its credential was revoked or replaced.
    CredentialWithdrawn,
    /// Its namespace was deleted.
    NamespaceDeleted,
}

/// Resolves when the session must close.
pub type Kicked = oneshot::Receiver<KickReason>;

struct Entry {
    connection: u64,
    credential_id: String,
    kick: oneshot::Sender<KickReason>,
}

/// Client ids share their `Arc<str>` with the connection's registration and
/// session key, so a session costs the registry no allocation of its own.
type Namespaces = HashMap<Arc<str>, HashMap<Arc<str>, Entry>>;

/// Live sessions: namespace id → client id → session.
#[derive(Default)]
pub struct SessionRegistry {
    namespaces: Mutex<Namespaces>,
}

impl SessionRegistry {
    /// Registers a session of `connection` (unique per process), taking over
    /// any other session with the same client id in the namespace. The
    /// registration ends when the returned guard is dropped.
    pub fn register(
        self: &Arc<Self>,
        namespace_id: &Arc<str>,
        client_id: &Arc<str>,
        credential_id: &str,
        connection: u64,
    ) -> (Registration, Kicked) {
        let (kick, kicked) = oneshot::channel();
        let entry = Entry { connection, credential_id: credential_id.to_owned(), kick };
        let previous = self.lock().entry(namespace_id.clone()).or_default().insert(client_id.clone(), entry);
        if let Some(previous) = previous {
            // The old connection may already be closing; then nobody listens.
            let _ = previous.kick.send(KickReason::Takeover);
        }
        let registration = Registration {
            registry: self.clone(),
            namespace_id: namespace_id.clone(),
            client_id: client_id.clone(),
            connection,
        };
        (registration, kicked)
    }

    /// Closes every session of a credential; returns how many.
    pub fn kick_credential(&self, namespace_id: &str, credential_id: &str) -> usize {
        let mut namespaces = self.lock();
        let Some(sessions) = namespaces.get_mut(namespace_id) else {
            return 0;
        };
        let kicked: Vec<Arc<str>> = sessions
            .iter()
            .filter(|(_, entry)| entry.credential_id == credential_id)
            .map(|(client_id, _)| client_id.clone())
            .collect();
        for client_id in &kicked {
            if let Some(entry) = sessions.remove(client_id) {
                let _ = entry.kick.send(KickReason::CredentialWithdrawn);
            }
        }
        if sessions.is_empty() {
            namespaces.remove(namespace_id);
        }
        kicked.len()
    }

    /// Closes every session of a namespace; returns how many.
    pub fn kick_namespace(&self, namespace_id: &str) -> usize {
        let Some(sessions) = self.lock().remove(namespace_id) else {
            return 0;
        };
        let count = sessions.len();
        for entry in sessions.into_values() {
            let _ = entry.kick.send(KickReason::NamespaceDeleted);
        }
        count
    }

    /// Live sessions of a namespace, and whether `client_id` is one of them.
    pub fn count_in(&self, namespace_id: &str, client_id: &str) -> (usize, bool) {
        self.lock().get(namespace_id).map_or((0, false), |sessions| (sessions.len(), sessions.contains_key(client_id)))
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.lock().values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn unregister(&self, namespace_id: &str, client_id: &str, connection: u64) {
        let mut namespaces = self.lock();
        let Some(sessions) = namespaces.get_mut(namespace_id) else {
            return;
        };
        // A session taken over belongs to the newer connection now.
        if sessions.get(client_id).is_some_and(|entry| entry.connection == connection) {
            sessions.remove(client_id);
            if sessions.is_empty() {
                namespaces.remove(namespace_id);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Namespaces> {
        // The map stays consistent even if a holder panicked: every update is
        // a single insert or remove.
        self.namespaces.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A registered session; dropping it unregisters the session unless another
/// connection has taken it over.
pub struct Registration {
    registry: Arc<SessionRegistry>,
    namespace_id: Arc<str>,
    client_id: Arc<str>,
    connection: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.unregister(&self.namespace_id, &self.client_id, self.connection);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_client_id_takes_the_session_over() {
        let registry = Arc::new(SessionRegistry::default());
        let (old, mut old_kicked) = registry.register(&"ns".into(), &"client".into(), "cred", 1);
        let (new, mut new_kicked) = registry.register(&"ns".into(), &"client".into(), "cred", 2);
        assert_eq!(old_kicked.try_recv(), Ok(KickReason::Takeover));
        assert_eq!(registry.len(), 1);
        drop(old);
        assert_eq!(registry.len(), 1, "the old connection must not remove the new session");
        assert!(new_kicked.try_recv().is_err());
        drop(new);
        assert!(registry.is_empty());
    }

    #[test]
    fn client_ids_are_per_namespace() {
        let registry = Arc::new(SessionRegistry::default());
        let (_a, mut a_kicked) = registry.register(&"ns-a".into(), &"client".into(), "cred-a", 1);
        let (_b, mut b_kicked) = registry.register(&"ns-b".into(), &"client".into(), "cred-b", 2);
        assert!(a_kicked.try_recv().is_err());
        assert!(b_kicked.try_recv().is_err());
        assert_eq!(registry.len(), 2);
    }

    #[test]
    fn kicks_by_credential_and_by_namespace() {
        let registry = Arc::new(SessionRegistry::default());
        let (_r1, mut k1) = registry.register(&"ns-a".into(), &"c1".into(), "cred-1", 1);
        let (_r2, mut k2) = registry.register(&"ns-a".into(), &"c2".into(), "cred-2", 2);
        let (_r3, mut k3) = registry.register(&"ns-b".into(), &"c3".into(), "cred-1", 3);
        assert_eq!(registry.kick_credential("ns-a", "cred-1"), 1);
        assert_eq!(k1.try_recv(), Ok(KickReason::CredentialWithdrawn));
        assert!(k2.try_recv().is_err());
        assert!(k3.try_recv().is_err());
        assert_eq!(registry.kick_namespace("ns-a"), 1);
        assert_eq!(k2.try_recv(), Ok(KickReason::NamespaceDeleted));
        assert!(k3.try_recv().is_err());
        assert_eq!(registry.len(), 1);
        assert_eq!(registry.kick_namespace("ns-missing"), 0);
    }
}
