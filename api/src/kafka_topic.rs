//! The syntax of Kafka topic names. Part of the contract because MQTT↔Kafka
//! mappings carry one: the control plane refuses a bad name with the same check
//! the broker applies to CreateTopics.

/// Longest topic name Kafka accepts, in characters (all ASCII).
pub const MAX_LEN: usize = 249;

/// Why a Kafka topic name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KafkaTopicError {
    #[error("must be 1-249 characters")]
    Length,
    #[error("'.' and '..' are not allowed")]
    Dots,
    #[error("only ASCII letters, digits, '.', '_' and '-' are allowed")]
    Character,
}

/// Kafka's rules: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate(name: &str) -> Result<(), KafkaTopicError> {
    if name.is_empty() || name.len() > MAX_LEN {
        return Err(KafkaTopicError::Length);
    }
    if name == "." || name == ".." {
        return Err(KafkaTopicError::Dots);
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(KafkaTopicError::Character);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_kafkas_rules() {
        for good in ["mqtt", "orders.v2_EU-1", "...", "a", &"x".repeat(MAX_LEN)] {
            assert_eq!(validate(good), Ok(()), "{good:?}");
        }
        let cases: &[(&str, KafkaTopicError)] = &[
            ("", KafkaTopicError::Length),
            (&"x".repeat(MAX_LEN + 1), KafkaTopicError::Length),
            (".", KafkaTopicError::Dots),
            ("..", KafkaTopicError::Dots),
            ("a b", KafkaTopicError::Character),
            ("a/b", KafkaTopicError::Character),
            ("é", KafkaTopicError::Character),
        ];
        for (bad, error) in cases {
            assert_eq!(validate(bad), Err(*error), "{bad:?}");
        }
    }
}
