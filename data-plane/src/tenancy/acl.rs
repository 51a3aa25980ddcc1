//! A credential's access-control list and the checks made against it.
//!
//! Owns the meaning of a rule (an MQTT-style topic filter plus actions). Topics
//! here are the client's own, already inside its namespace; this module never
//! sees or compares namespaces.

use serde::{Deserialize, Serialize};

use crate::mqtt::topic;

/// What a rule allows on the topics its filter matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Publish,
    Subscribe,
    Produce,
    Consume,
    Group,
}

/// Allows `actions` on every topic matched by `topic_filter` (a valid filter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclRule {
    pub topic_filter: String,
    pub actions: Vec<Action>,
}

/// Rules of one credential; anything no rule allows is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Acl {
    pub rules: Vec<AclRule>,
}

impl Acl {
    /// Whether the client may publish to the topic name `topic`.
    pub fn may_publish(&self, topic: &str) -> bool {
        self.allows(Action::Publish, topic)
    }

    /// Whether the client may subscribe to `filter`: some subscribe rule must
    /// cover every topic the filter can match.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        self.rules_for(Action::Subscribe).any(|rule| topic::covers(&rule.topic_filter, filter))
    }

    /// Whether some rule allows `action` on the topic name `topic`.
    pub fn allows(&self, action: Action, topic: &str) -> bool {
        self.rules_for(action).any(|rule| topic::matches(&rule.topic_filter, topic))
    }

    fn rules_for(&self, action: Action) -> impl Iterator<Item = &AclRule> {
        self.rules.iter().filter(move |rule| rule.actions.contains(&action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(rules: &[(&str, &[Action])]) -> Acl {
        Acl {
            rules: rules
                .iter()
                .map(|(filter, actions)| AclRule { topic_filter: (*filter).to_owned(), actions: actions.to_vec() })
                .collect(),
        }
    }

    #[test]
    fn publish_needs_a_matching_publish_rule() {
        let acl = acl(&[
            ("a/#", &[Action::Publish]),
            ("b/+", &[Action::Subscribe]),
            ("c", &[Action::Publish, Action::Subscribe]),
        ]);
        let cases = [("a", true), ("a/b/c", true), ("b/x", false), ("c", true), ("c/d", false), ("x", false)];
        for (topic, expected) in cases {
            assert_eq!(acl.may_publish(topic), expected, "{topic}");
        }
    }

    #[test]
    fn subscribe_needs_a_covering_subscribe_rule() {
        let acl = acl(&[("a/#", &[Action::Subscribe]), ("p/#", &[Action::Publish])]);
        let cases =
            [("a/b", true), ("a/+/c", true), ("a/#", true), ("a", true), ("#", false), ("+/b", false), ("p/x", false)];
        for (filter, expected) in cases {
            assert_eq!(acl.may_subscribe(filter), expected, "{filter}");
        }
    }

    #[test]
    fn an_empty_acl_denies_everything() {
        let acl = Acl::default();
        assert!(!acl.may_publish("a"));
        assert!(!acl.may_subscribe("a"));
    }

    #[test]
    fn kafka_actions_grant_no_mqtt_rights() {
        let acl = acl(&[("#", &[Action::Produce, Action::Consume, Action::Group])]);
        assert!(!acl.may_publish("a"));
        assert!(!acl.may_subscribe("a"));
    }
}
