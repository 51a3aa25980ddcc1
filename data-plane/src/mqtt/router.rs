//! Subscription tables: which live sessions want a topic, per namespace.
//!
//! Owns one trie per namespace, keyed by topic level, and nothing else: it
//! holds session ids, not queues or sockets, and does no locking (the caller
//! wraps it). Namespaces never share a table, so a topic of one namespace can
//! only ever reach subscriptions of that namespace.

use std::collections::{HashMap, HashSet};

use crate::mqtt::codec::QoS;
use crate::mqtt::topic::{LEVEL_SEPARATOR, MULTI_LEVEL, SINGLE_LEVEL};

/// Identifies one live connection's session for the lifetime of the process.
pub type SessionId = u64;

/// All namespaces' subscription tables. Empty tables are dropped.
#[derive(Debug, Default)]
pub struct Router {
    namespaces: HashMap<String, Table>,
}

impl Router {
    /// Adds or replaces `session`'s subscription to the (valid) `filter`.
    pub fn subscribe(&mut self, namespace: &str, session: SessionId, filter: &str, qos: QoS) {
        let table = self.namespaces.entry(namespace.to_owned()).or_default();
        table.subscribe(session, filter, qos);
    }

    /// Removes `session`'s subscription to `filter`; whether there was one.
    pub fn unsubscribe(&mut self, namespace: &str, session: SessionId, filter: &str) -> bool {
        let Some(table) = self.namespaces.get_mut(namespace) else {
            return false;
        };
        let removed = table.unsubscribe(session, filter);
        if table.is_empty() {
            self.namespaces.remove(namespace);
        }
        removed
    }

    /// Removes every subscription of `session`.
    pub fn remove_session(&mut self, namespace: &str, session: SessionId) {
        let Some(table) = self.namespaces.get_mut(namespace) else {
            return;
        };
        table.remove_session(session);
        if table.is_empty() {
            self.namespaces.remove(namespace);
        }
    }

    /// Drops a namespace's whole table.
    pub fn remove_namespace(&mut self, namespace: &str) {
        self.namespaces.remove(namespace);
    }

    /// The sessions of `namespace` subscribed to the topic name `topic`, each
    /// once, with the highest QoS among its matching subscriptions.
    pub fn route(&self, namespace: &str, topic: &str) -> Vec<(SessionId, QoS)> {
        let Some(table) = self.namespaces.get(namespace) else {
            return Vec::new();
        };
        let mut matched = Vec::new();
        let levels: Vec<&str> = topic.split(LEVEL_SEPARATOR).collect();
        let dollar = topic.starts_with('$');
        table.root.collect(&levels, dollar, &mut matched);
        // Highest QoS first per session, then keep the first of each session.
        matched.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        matched.dedup_by_key(|(session, _)| *session);
        matched
    }

    /// Number of namespaces with at least one subscription.
    pub fn namespace_count(&self) -> usize {
        self.namespaces.len()
    }
}

/// One namespace's trie plus an index of each session's filters, so a
/// session can be removed without walking the whole trie.
#[derive(Debug, Default)]
struct Table {
    root: Node,
    filters: HashMap<SessionId, HashSet<String>>,
}

impl Table {
    fn subscribe(&mut self, session: SessionId, filter: &str, qos: QoS) {
        let mut node = &mut self.root;
        let mut levels = filter.split(LEVEL_SEPARATOR).peekable();
        while let Some(level) = levels.next() {
            if level == MULTI_LEVEL && levels.peek().is_none() {
                node.multi.insert(session, qos);
                self.filters.entry(session).or_default().insert(filter.to_owned());
                return;
            }
            node = if level == SINGLE_LEVEL {
                node.single.get_or_insert_with(Box::default)
            } else {
                node.literal.entry(level.to_owned()).or_default()
            };
        }
        node.exact.insert(session, qos);
        self.filters.entry(session).or_default().insert(filter.to_owned());
    }

    fn unsubscribe(&mut self, session: SessionId, filter: &str) -> bool {
        let Some(filters) = self.filters.get_mut(&session) else {
            return false;
        };
        if !filters.remove(filter) {
            return false;
        }
        if filters.is_empty() {
            self.filters.remove(&session);
        }
        let levels: Vec<&str> = filter.split(LEVEL_SEPARATOR).collect();
        self.root.remove(&levels, session);
        true
    }

    fn remove_session(&mut self, session: SessionId) {
        let Some(filters) = self.filters.remove(&session) else {
            return;
        };
        for filter in filters {
            let levels: Vec<&str> = filter.split(LEVEL_SEPARATOR).collect();
            self.root.remove(&levels, session);
        }
    }

    fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }
}

/// One topic level of the trie.
#[derive(Debug, Default)]
struct Node {
    /// Children by literal level.
    literal: HashMap<String, Node>,
    /// Child for a `+` level.
    single: Option<Box<Node>>,
    /// Sessions whose filter ends at this node.
    exact: HashMap<SessionId, QoS>,
    /// Sessions whose filter is this node's path followed by `#`.
    multi: HashMap<SessionId, QoS>,
}

impl Node {
    /// Adds the subscriptions matching `levels` (the rest of a topic below
    /// this node). `dollar_first` is set while at the root of a `$` topic,
    /// which wildcards must not match.
    fn collect(&self, levels: &[&str], dollar_first: bool, out: &mut Vec<(SessionId, QoS)>) {
        if !dollar_first {
            out.extend(self.multi.iter().map(|(s, q)| (*s, *q)));
        }
        let Some((level, rest)) = levels.split_first() else {
            out.extend(self.exact.iter().map(|(s, q)| (*s, *q)));
            return;
        };
        if let Some(child) = self.literal.get(*level) {
            child.collect(rest, false, out);
        }
        if !dollar_first && let Some(child) = &self.single {
            child.collect(rest, false, out);
        }
    }

    /// Removes `session` from the filter `levels` below this node and prunes
    /// emptied children.
    fn remove(&mut self, levels: &[&str], session: SessionId) {
        let Some((level, rest)) = levels.split_first() else {
            self.exact.remove(&session);
            return;
        };
        if *level == MULTI_LEVEL && rest.is_empty() {
            self.multi.remove(&session);
        } else if *level == SINGLE_LEVEL {
            if let Some(child) = &mut self.single {
                child.remove(rest, session);
                if child.is_empty() {
                    self.single = None;
                }
            }
        } else if let Some(child) = self.literal.get_mut(*level) {
            child.remove(rest, session);
            if child.is_empty() {
                self.literal.remove(*level);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.literal.is_empty() && self.single.is_none() && self.exact.is_empty() && self.multi.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(router: &Router, namespace: &str, topic: &str) -> Vec<(SessionId, QoS)> {
        router.route(namespace, topic)
    }

    #[test]
    fn routes_by_filter() {
        let mut router = Router::default();
        router.subscribe("ns", 1, "a/b", QoS::AtMostOnce);
        router.subscribe("ns", 2, "a/+", QoS::AtLeastOnce);
        router.subscribe("ns", 3, "a/#", QoS::AtMostOnce);
        router.subscribe("ns", 4, "#", QoS::AtMostOnce);
        router.subscribe("ns", 5, "+/+/c", QoS::AtMostOnce);
        let cases: &[(&str, &[SessionId])] = &[
            ("a/b", &[1, 2, 3, 4]),
            ("a", &[3, 4]),
            ("a/c", &[2, 3, 4]),
            ("a/b/c", &[3, 4, 5]),
            ("x/y/c", &[4, 5]),
            ("b", &[4]),
            ("$SYS/b/c", &[]),
        ];
        for (topic, expected) in cases {
            let sessions: Vec<SessionId> = routed(&router, "ns", topic).into_iter().map(|(s, _)| s).collect();
            assert_eq!(&sessions, expected, "{topic}");
        }
    }

    #[test]
    fn dollar_topics_match_only_literal_first_levels() {
        let mut router = Router::default();
        router.subscribe("ns", 1, "#", QoS::AtMostOnce);
        router.subscribe("ns", 2, "+/x", QoS::AtMostOnce);
        router.subscribe("ns", 3, "$SYS/#", QoS::AtMostOnce);
        router.subscribe("ns", 4, "$SYS/+", QoS::AtMostOnce);
        assert_eq!(routed(&router, "ns", "$SYS/x"), vec![(3, QoS::AtMostOnce), (4, QoS::AtMostOnce)]);
        assert_eq!(routed(&router, "ns", "a/x"), vec![(1, QoS::AtMostOnce), (2, QoS::AtMostOnce)]);
    }

    #[test]
    fn overlapping_filters_deliver_once_at_the_highest_qos() {
        let mut router = Router::default();
        router.subscribe("ns", 1, "a/#", QoS::AtMostOnce);
        router.subscribe("ns", 1, "a/+", QoS::AtLeastOnce);
        router.subscribe("ns", 1, "a/b", QoS::AtMostOnce);
        assert_eq!(routed(&router, "ns", "a/b"), vec![(1, QoS::AtLeastOnce)]);
    }

    #[test]
    fn resubscribing_replaces_the_qos() {
        let mut router = Router::default();
        router.subscribe("ns", 1, "a", QoS::AtLeastOnce);
        router.subscribe("ns", 1, "a", QoS::AtMostOnce);
        assert_eq!(routed(&router, "ns", "a"), vec![(1, QoS::AtMostOnce)]);
    }

    #[test]
    fn namespaces_are_isolated() {
        let mut router = Router::default();
        router.subscribe("tenant-a", 1, "#", QoS::AtLeastOnce);
        router.subscribe("tenant-a", 2, "x/y", QoS::AtMostOnce);
        router.subscribe("tenant-b", 3, "#", QoS::AtMostOnce);
        assert_eq!(routed(&router, "tenant-a", "x/y"), vec![(1, QoS::AtLeastOnce), (2, QoS::AtMostOnce)]);
        assert_eq!(routed(&router, "tenant-b", "x/y"), vec![(3, QoS::AtMostOnce)]);
        assert!(routed(&router, "tenant-c", "x/y").is_empty());
        router.remove_namespace("tenant-b");
        assert!(routed(&router, "tenant-b", "x/y").is_empty());
        assert_eq!(routed(&router, "tenant-a", "x/y").len(), 2);
    }

    #[test]
    fn the_same_session_id_in_two_namespaces_is_two_subscriptions() {
        let mut router = Router::default();
        router.subscribe("a", 1, "t", QoS::AtMostOnce);
        router.subscribe("b", 1, "u", QoS::AtMostOnce);
        assert!(routed(&router, "a", "u").is_empty());
        assert!(routed(&router, "b", "t").is_empty());
        router.remove_session("a", 1);
        assert_eq!(routed(&router, "b", "u"), vec![(1, QoS::AtMostOnce)]);
    }

    #[test]
    fn unsubscribe_and_remove_session_prune_the_trie() {
        let mut router = Router::default();
        router.subscribe("ns", 1, "a/+/c", QoS::AtMostOnce);
        router.subscribe("ns", 1, "a/#", QoS::AtMostOnce);
        router.subscribe("ns", 2, "a/b/c", QoS::AtMostOnce);
        assert!(router.unsubscribe("ns", 1, "a/+/c"));
        assert!(!router.unsubscribe("ns", 1, "a/+/c"));
        assert!(!router.unsubscribe("ns", 3, "a/#"));
        assert_eq!(routed(&router, "ns", "a/b/c"), vec![(1, QoS::AtMostOnce), (2, QoS::AtMostOnce)]);
        router.remove_session("ns", 1);
        assert_eq!(routed(&router, "ns", "a/b/c"), vec![(2, QoS::AtMostOnce)]);
        router.remove_session("ns", 2);
        assert!(routed(&router, "ns", "a/b/c").is_empty());
        assert_eq!(router.namespace_count(), 0);
    }

    #[test]
    fn pruning_leaves_no_empty_nodes() {
        let mut table = Table::default();
        table.subscribe(1, "a/+/c/#", QoS::AtMostOnce);
        table.subscribe(1, "a/b", QoS::AtMostOnce);
        table.remove_session(1);
        assert!(table.root.is_empty());
    }
}
