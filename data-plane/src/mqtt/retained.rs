//! Retained messages in memory: the last retained message of each topic, per
//! namespace, and which of them a new subscription gets.
//!
//! Owns the set/replace/clear rule (a retained publish with an empty payload
//! clears the topic) and filter matching over retained topics. The durable
//! copy is the store's; the hub keeps both in step. No I/O, no locking.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::mqtt::message::Message;
use crate::mqtt::topic;

/// What a retained publish did to its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retain {
    /// Stored, replacing any message the topic had.
    Set,
    /// Empty payload: the topic's message is gone (or there was none).
    Cleared,
}

#[derive(Debug, Default)]
pub struct Retained {
    namespaces: HashMap<Arc<str>, BTreeMap<Arc<str>, Message>>,
}

impl Retained {
    /// Applies a retained publish (its `retain` flag set) to its topic.
    pub fn apply(&mut self, namespace: &Arc<str>, message: &Message) -> Retain {
        if message.payload.is_empty() {
            if let Some(topics) = self.namespaces.get_mut(namespace) {
                topics.remove(&message.topic);
                if topics.is_empty() {
                    self.namespaces.remove(namespace);
                }
            }
            return Retain::Cleared;
        }
        let stored = Message { retain: true, ..message.clone() };
        self.namespaces.entry(namespace.clone()).or_default().insert(message.topic.clone(), stored);
        Retain::Set
    }

    /// The retained messages whose topics `filter` matches, retain flag set.
    pub fn matching(&self, namespace: &str, filter: &str) -> Vec<Message> {
        let Some(topics) = self.namespaces.get(namespace) else { return Vec::new() };
        topics.values().filter(|m| topic::matches(filter, &m.topic)).cloned().collect()
    }

    pub fn contains(&self, namespace: &str, topic: &str) -> bool {
        self.namespaces.get(namespace).is_some_and(|topics| topics.contains_key(topic))
    }

    /// How many topics of the namespace hold a retained message its clients
    /// published (the broker's own `$SYS` ones not counted).
    pub fn count(&self, namespace: &str) -> usize {
        self.namespaces.get(namespace).map_or(0, |topics| topics.keys().filter(|t| !t.starts_with("$SYS/")).count())
    }

    pub fn remove_namespace(&mut self, namespace: &str) {
        self.namespaces.remove(namespace);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::mqtt::codec::QoS;

    fn message(topic: &str, payload: &'static str) -> Message {
        Message::new(Arc::from(topic), Bytes::from_static(payload.as_bytes()), QoS::AtLeastOnce, true)
    }

    #[test]
    fn set_replace_clear_and_match_per_namespace() {
        let mut retained = Retained::default();
        let ns: Arc<str> = Arc::from("ns");
        let other: Arc<str> = Arc::from("other");
        assert_eq!(retained.apply(&ns, &message("a/b", "1")), Retain::Set);
        assert_eq!(retained.apply(&ns, &message("a/b", "2")), Retain::Set);
        retained.apply(&ns, &message("a/c", "3"));
        retained.apply(&ns, &message("$SYS/x", "4"));
        retained.apply(&other, &message("a/b", "theirs"));
        let payloads = |retained: &Retained, filter: &str| -> Vec<Bytes> {
            retained.matching("ns", filter).into_iter().map(|m| m.payload).collect()
        };
        assert_eq!(payloads(&retained, "a/b"), [Bytes::from("2")]);
        assert_eq!(payloads(&retained, "a/+").len(), 2);
        assert_eq!(payloads(&retained, "#").len(), 2, "# does not match $ topics");
        assert_eq!(payloads(&retained, "$SYS/#"), [Bytes::from("4")]);
        assert!(retained.matching("ns", "a/b").iter().all(|m| m.retain));
        assert_eq!(retained.apply(&ns, &message("a/b", "")), Retain::Cleared);
        assert_eq!(payloads(&retained, "a/b"), Vec::<Bytes>::new());
        assert_eq!(retained.count("ns"), 1, "a/c; the $SYS topic is the broker's");
        assert_eq!(retained.count("other"), 1);
        retained.remove_namespace("ns");
        assert_eq!(retained.count("ns"), 0);
    }
}
