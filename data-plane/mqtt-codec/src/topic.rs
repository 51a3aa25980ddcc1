//! The syntax of MQTT topic names and topic filters (MQTT 3.1.1 §4.7, the same
//! in 5.0): what PUBLISH and SUBSCRIBE may carry. The contract crate
//! re-exports it because ACL rules and mappings carry topic filters: the
//! control plane refuses a malformed rule with the same check the broker
//! applies to SUBSCRIBE. Matching is the broker's business, not this crate's.

/// Separates topic levels.
pub const LEVEL_SEPARATOR: char = '/';
/// Matches exactly one level.
pub const SINGLE_LEVEL: &str = "+";
/// Matches any number of levels, including the parent level; last level only.
pub const MULTI_LEVEL: &str = "#";

/// Why a topic name or filter is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic is empty")]
    Empty,
    #[error("topic name contains a wildcard")]
    WildcardInName,
    #[error("wildcard does not occupy a whole level")]
    WildcardNotAlone,
    #[error("multi-level wildcard is not the last level")]
    MultiLevelNotLast,
    #[error("topic contains U+0000")]
    NullCharacter,
}

/// Checks a topic name as carried by PUBLISH: non-empty, no wildcards.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    if name.is_empty() {
        return Err(TopicError::Empty);
    }
    if name.contains('\0') {
        return Err(TopicError::NullCharacter);
    }
    if name.contains(['+', '#']) {
        return Err(TopicError::WildcardInName);
    }
    Ok(())
}

/// Checks a topic filter as carried by SUBSCRIBE: non-empty, `+` and `#` only
/// as whole levels, `#` only last.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty);
    }
    if filter.contains('\0') {
        return Err(TopicError::NullCharacter);
    }
    let mut levels = filter.split(LEVEL_SEPARATOR).peekable();
    while let Some(level) = levels.next() {
        if level.len() > 1 && level.contains(['+', '#']) {
            return Err(TopicError::WildcardNotAlone);
        }
        if level == MULTI_LEVEL && levels.peek().is_some() {
            return Err(TopicError::MultiLevelNotLast);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names() {
        let cases: &[(&str, Result<(), TopicError>)] = &[
            ("a", Ok(())),
            ("a/b/c", Ok(())),
            ("/", Ok(())),
            ("$SYS/x", Ok(())),
            ("a//b", Ok(())),
            ("", Err(TopicError::Empty)),
            ("a/+", Err(TopicError::WildcardInName)),
            ("a/#", Err(TopicError::WildcardInName)),
            ("a+b", Err(TopicError::WildcardInName)),
            ("a\0b", Err(TopicError::NullCharacter)),
        ];
        for (name, expected) in cases {
            assert_eq!(validate_name(name), *expected, "{name:?}");
        }
    }

    #[test]
    fn validates_filters() {
        let cases: &[(&str, Result<(), TopicError>)] = &[
            ("a", Ok(())),
            ("#", Ok(())),
            ("+", Ok(())),
            ("+/+/#", Ok(())),
            ("a/+/c", Ok(())),
            ("/#", Ok(())),
            ("", Err(TopicError::Empty)),
            ("a/#/c", Err(TopicError::MultiLevelNotLast)),
            ("a#", Err(TopicError::WildcardNotAlone)),
            ("a/b+", Err(TopicError::WildcardNotAlone)),
            ("++", Err(TopicError::WildcardNotAlone)),
            ("a\0", Err(TopicError::NullCharacter)),
        ];
        for (filter, expected) in cases {
            assert_eq!(validate_filter(filter), *expected, "{filter:?}");
        }
    }
}
