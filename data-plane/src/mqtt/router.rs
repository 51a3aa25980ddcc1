//! Subscription tables: which sessions want a topic, per namespace.
//!
//! Owns one trie per namespace, keyed by topic level, and nothing else: it
//! holds session ids, not queues or sockets, and does no locking (the caller
//! wraps it). Shared subscriptions (`$share/{group}/{filter}`) sit at their
//! filter's node as groups whose members take turns (a cursor per group);
//! which member gets a message is the caller's pick among the order given.
//! Each entry keeps its subscription's options: a no-local one does not match
//! its own session's messages, and a session matched several times is routed
//! once with the highest QoS and every subscription identifier.
//! Namespaces never share a table, so a topic of one namespace can only ever
//! reach subscriptions of that namespace.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::mqtt::codec::QoS;
use crate::mqtt::session::Subscription;
use crate::mqtt::topic::{self, LEVEL_SEPARATOR, MULTI_LEVEL, SINGLE_LEVEL};

/// Identifies one live connection's session for the lifetime of the process.
pub type SessionId = u64;

/// One shared subscription a topic matched: its members, and whose turn it
/// is (a count that goes up by one per message; the caller picks among the
/// members it can deliver to now with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRoute {
    /// The whole `$share/{group}/{filter}`.
    pub filter: Arc<str>,
    pub members: Vec<(SessionId, Subscription)>,
    pub turn: usize,
}

/// How a session's matching ordinary subscriptions want a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The highest granted QoS among them.
    pub qos: QoS,
    /// Any of them keeps the publisher's retain flag.
    pub retain_as_published: bool,
    /// Their subscription identifiers.
    pub identifiers: Vec<u32>,
}

/// Who a topic goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// Ordinary subscriptions: each session once.
    pub sessions: Vec<(SessionId, Matched)>,
    /// One entry per matching shared subscription; one member each.
    pub shared: Vec<SharedRoute>,
}

/// All namespaces' subscription tables. Empty tables are dropped.
#[derive(Debug, Default)]
pub struct Router {
    namespaces: HashMap<String, Table>,
}

impl Router {
    /// Adds or replaces `session`'s subscription to the (valid) `filter`.
    pub fn subscribe(
        &mut self,
        namespace: &str,
        session: SessionId,
        filter: &str,
        subscription: impl Into<Subscription>,
    ) {
        let table = self.namespaces.entry(namespace.to_owned()).or_default();
        table.subscribe(session, filter, subscription.into());
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

    /// Who in `namespace` is subscribed to the topic name `topic`, for a
    /// message the session `publisher` published (none: from elsewhere):
    /// each ordinary subscriber once, and each matching shared
    /// subscription's members (the group's cursor moves on by one).
    pub fn route(&self, namespace: &str, topic: &str, publisher: Option<SessionId>) -> Routes {
        let Some(table) = self.namespaces.get(namespace) else {
            return Routes::default();
        };
        let mut matched = Vec::new();
        let mut groups = Vec::new();
        let levels: Vec<&str> = topic.split(LEVEL_SEPARATOR).collect();
        let dollar = topic.starts_with('$');
        table.root.collect(&levels, dollar, &mut matched, &mut groups);
        matched.retain(|(session, sub)| !(sub.no_local && Some(*session) == publisher));
        matched.sort_unstable_by_key(|(session, _)| *session);
        let mut sessions: Vec<(SessionId, Matched)> = Vec::new();
        for (session, sub) in matched {
            match sessions.last_mut() {
                Some((last, m)) if *last == session => {
                    m.qos = m.qos.max(sub.qos);
                    m.retain_as_published |= sub.retain_as_published;
                    m.identifiers.extend(sub.identifier);
                }
                _ => sessions.push((
                    session,
                    Matched {
                        qos: sub.qos,
                        retain_as_published: sub.retain_as_published,
                        identifiers: sub.identifier.into_iter().collect(),
                    },
                )),
            }
        }
        let shared = groups.into_iter().map(|group| group.take_turn()).collect();
        Routes { sessions, shared }
    }

    /// The members of the shared subscription `filter` (the whole
    /// `$share/...`), leaving the cursor where it is.
    pub fn shared_members(&self, namespace: &str, filter: &str) -> Vec<(SessionId, Subscription)> {
        let Some(Ok((group, inner))) = topic::shared(filter) else { return Vec::new() };
        let Some(table) = self.namespaces.get(namespace) else { return Vec::new() };
        let levels: Vec<&str> = inner.split(LEVEL_SEPARATOR).collect();
        table
            .root
            .find(&levels)
            .and_then(|(node, multi)| node.groups(multi).get(group))
            .map_or_else(Vec::new, SharedGroup::members)
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
    fn subscribe(&mut self, session: SessionId, filter: &str, subscription: Subscription) {
        let (group, inner) = match topic::shared(filter) {
            Some(Ok((group, inner))) => (Some(group), inner),
            Some(Err(())) => return,
            None => (None, filter),
        };
        let mut node = &mut self.root;
        let mut levels = inner.split(LEVEL_SEPARATOR).peekable();
        let mut multi = false;
        while let Some(level) = levels.next() {
            if level == MULTI_LEVEL && levels.peek().is_none() {
                multi = true;
                break;
            }
            node = if level == SINGLE_LEVEL {
                node.single.get_or_insert_with(Box::default)
            } else {
                node.literal.entry(level.to_owned()).or_default()
            };
        }
        match (group, multi) {
            (None, false) => {
                node.exact.insert(session, subscription);
            }
            (None, true) => {
                node.multi.insert(session, subscription);
            }
            (Some(group), multi) => {
                let groups = if multi { &mut node.shared_multi } else { &mut node.shared_exact };
                let entry = groups.entry(group.to_owned()).or_insert_with(|| SharedGroup::new(filter));
                entry.members.insert(session, subscription);
            }
        }
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
        self.root.remove(filter, session);
        true
    }

    fn remove_session(&mut self, session: SessionId) {
        let Some(filters) = self.filters.remove(&session) else {
            return;
        };
        for filter in filters {
            self.root.remove(&filter, session);
        }
    }

    fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }
}

/// The members of one shared subscription and whose turn is next.
#[derive(Debug)]
struct SharedGroup {
    filter: Arc<str>,
    members: BTreeMap<SessionId, Subscription>,
    cursor: AtomicUsize,
}

impl SharedGroup {
    fn new(filter: &str) -> SharedGroup {
        SharedGroup { filter: Arc::from(filter), members: BTreeMap::new(), cursor: AtomicUsize::new(0) }
    }

    fn members(&self) -> Vec<(SessionId, Subscription)> {
        self.members.iter().map(|(s, q)| (*s, *q)).collect()
    }

    fn take_turn(&self) -> SharedRoute {
        let turn = self.cursor.fetch_add(1, Ordering::Relaxed);
        SharedRoute { filter: self.filter.clone(), members: self.members(), turn }
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
    exact: HashMap<SessionId, Subscription>,
    /// Sessions whose filter is this node's path followed by `#`.
    multi: HashMap<SessionId, Subscription>,
    /// Shared subscriptions by group, ending here / followed by `#`.
    shared_exact: HashMap<String, SharedGroup>,
    shared_multi: HashMap<String, SharedGroup>,
}

impl Node {
    /// Adds the subscriptions matching `levels` (the rest of a topic below
    /// this node). `dollar_first` is set while at the root of a `$` topic,
    /// which wildcards must not match.
    fn collect<'a>(
        &'a self,
        levels: &[&str],
        dollar_first: bool,
        out: &mut Vec<(SessionId, Subscription)>,
        groups: &mut Vec<&'a SharedGroup>,
    ) {
        if !dollar_first {
            out.extend(self.multi.iter().map(|(s, q)| (*s, *q)));
            groups.extend(self.shared_multi.values());
        }
        let Some((level, rest)) = levels.split_first() else {
            out.extend(self.exact.iter().map(|(s, q)| (*s, *q)));
            groups.extend(self.shared_exact.values());
            return;
        };
        if let Some(child) = self.literal.get(*level) {
            child.collect(rest, false, out, groups);
        }
        if !dollar_first && let Some(child) = &self.single {
            child.collect(rest, false, out, groups);
        }
    }

    /// The node a filter's `levels` end at, and whether they end with `#`.
    fn find(&self, levels: &[&str]) -> Option<(&Node, bool)> {
        let Some((level, rest)) = levels.split_first() else { return Some((self, false)) };
        if *level == MULTI_LEVEL && rest.is_empty() {
            return Some((self, true));
        }
        let child = if *level == SINGLE_LEVEL { self.single.as_deref()? } else { self.literal.get(*level)? };
        child.find(rest)
    }

    fn groups(&self, multi: bool) -> &HashMap<String, SharedGroup> {
        if multi { &self.shared_multi } else { &self.shared_exact }
    }

    /// Removes `session`'s subscription to `filter` (ordinary or shared) and
    /// prunes emptied nodes.
    fn remove(&mut self, filter: &str, session: SessionId) {
        let (group, inner) = match topic::shared(filter) {
            Some(Ok((group, inner))) => (Some(group), inner),
            Some(Err(())) => return,
            None => (None, filter),
        };
        let levels: Vec<&str> = inner.split(LEVEL_SEPARATOR).collect();
        self.remove_at(&levels, group, session);
    }

    fn remove_at(&mut self, levels: &[&str], group: Option<&str>, session: SessionId) {
        let Some((level, rest)) = levels.split_first() else {
            match group {
                None => {
                    self.exact.remove(&session);
                }
                Some(group) => remove_member(&mut self.shared_exact, group, session),
            }
            return;
        };
        if *level == MULTI_LEVEL && rest.is_empty() {
            match group {
                None => {
                    self.multi.remove(&session);
                }
                Some(group) => remove_member(&mut self.shared_multi, group, session),
            }
        } else if *level == SINGLE_LEVEL {
            if let Some(child) = &mut self.single {
                child.remove_at(rest, group, session);
                if child.is_empty() {
                    self.single = None;
                }
            }
        } else if let Some(child) = self.literal.get_mut(*level) {
            child.remove_at(rest, group, session);
            if child.is_empty() {
                self.literal.remove(*level);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.single.is_none()
            && self.exact.is_empty()
            && self.multi.is_empty()
            && self.shared_exact.is_empty()
            && self.shared_multi.is_empty()
    }
}

fn remove_member(groups: &mut HashMap<String, SharedGroup>, group: &str, session: SessionId) {
    if let Some(entry) = groups.get_mut(group) {
        entry.members.remove(&session);
        if entry.members.is_empty() {
            groups.remove(group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(router: &Router, namespace: &str, topic: &str) -> Vec<(SessionId, QoS)> {
        router.route(namespace, topic, None).sessions.into_iter().map(|(s, m)| (s, m.qos)).collect()
    }

    /// The member each shared group's turn gives a topic to (all members
    /// able to take it), in group order.
    fn shared_turns(router: &Router, topic: &str) -> Vec<(String, SessionId)> {
        let mut turns: Vec<(String, SessionId)> = router
            .route("ns", topic, None)
            .shared
            .into_iter()
            .map(|r| (r.filter.to_string(), r.members[r.turn % r.members.len()].0))
            .collect();
        turns.sort();
        turns
    }

    #[test]
    fn shared_groups_take_turns_and_sit_beside_ordinary_subscriptions() {
        let mut router = Router::default();
        router.subscribe("ns", 1, "$share/g/a/+", QoS::AtLeastOnce);
        router.subscribe("ns", 2, "$share/g/a/+", QoS::AtMostOnce);
        router.subscribe("ns", 3, "$share/h/a/#", QoS::AtMostOnce);
        router.subscribe("ns", 1, "a/b", QoS::AtMostOnce);
        let turns: Vec<_> = (0..4).map(|_| shared_turns(&router, "a/b")).collect();
        assert_eq!(turns[0], [("$share/g/a/+".to_string(), 1), ("$share/h/a/#".to_string(), 3)]);
        assert_eq!(turns[1], [("$share/g/a/+".to_string(), 2), ("$share/h/a/#".to_string(), 3)]);
        assert_eq!(turns[2][0].1, 1);
        assert_eq!(routed(&router, "ns", "a/b"), vec![(1, QoS::AtMostOnce)], "the ordinary subscription apart");
        assert!(shared_turns(&router, "$SYS/b").is_empty(), "a wildcard group filter does not match $ topics");
        assert_eq!(router.shared_members("ns", "$share/g/a/+").len(), 2);
        assert!(router.unsubscribe("ns", 2, "$share/g/a/+"));
        assert_eq!(shared_turns(&router, "a/b")[0].1, 1);
        router.remove_session("ns", 1);
        router.remove_session("ns", 3);
        assert!(router.route("ns", "a/b", None).shared.is_empty());
        assert_eq!(router.namespace_count(), 0);
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
    fn no_local_skips_the_publisher_and_identifiers_add_up() {
        let mut router = Router::default();
        let sub = |qos, no_local, identifier| Subscription { qos, no_local, retain_as_published: false, identifier };
        router.subscribe("ns", 1, "a/#", sub(QoS::AtMostOnce, true, Some(7)));
        router.subscribe("ns", 1, "a/b", sub(QoS::AtLeastOnce, false, Some(9)));
        router.subscribe("ns", 2, "a/b", sub(QoS::AtLeastOnce, true, None));
        let routes = router.route("ns", "a/b", Some(2)).sessions;
        assert_eq!(routes.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1]);
        assert_eq!((routes[0].1.qos, routes[0].1.identifiers.clone()), (QoS::AtLeastOnce, vec![7, 9]));
        // From 1: it gets it only through its subscription without no-local.
        let from_one = &router.route("ns", "a/b", Some(1)).sessions;
        assert_eq!(
            from_one.iter().map(|(s, m)| (*s, m.identifiers.clone())).collect::<Vec<_>>(),
            [(1, vec![9]), (2, vec![])]
        );
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
        table.subscribe(1, "a/+/c/#", QoS::AtMostOnce.into());
        table.subscribe(1, "a/b", QoS::AtMostOnce.into());
        table.remove_session(1);
        assert!(table.root.is_empty());
    }
}
