//! The API versions this broker serves, and the ApiVersions answer.
//!
//! Ranges start where Kafka 4 starts (record batch v2 only) and stop where our
//! handlers stop (Fetch before topic ids); each is intersected with what the
//! `kafka-protocol` crate can encode.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};

const SERVED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 6),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 2, 9),
    (ApiKey::SyncGroup, 1, 5),
    (ApiKey::Heartbeat, 1, 4),
    (ApiKey::LeaveGroup, 1, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 1, 5),
    (ApiKey::DescribeGroups, 1, 5),
    (ApiKey::DeleteGroups, 1, 2),
    (ApiKey::InitProducerId, 0, 5),
];

/// The versions of `key` we serve, if any.
pub fn served(key: ApiKey) -> Option<(i16, i16)> {
    let (_, min, max) = SERVED.iter().find(|(k, _, _)| *k == key)?;
    let valid = key.valid_versions();
    let (min, max) = ((*min).max(valid.min), (*max).min(valid.max));
    (min <= max).then_some((min, max))
}

pub fn is_served(key: ApiKey, version: i16) -> bool {
    served(key).is_some_and(|(min, max)| (min..=max).contains(&version))
}

/// The ApiVersions answer; `supported` false answers UNSUPPORTED_VERSION, as
/// Kafka does for an ApiVersions version it does not know.
pub fn api_versions(supported: bool) -> ApiVersionsResponse {
    let api_keys = SERVED
        .iter()
        .filter_map(|(key, _, _)| {
            let (min, max) = served(*key)?;
            Some(ApiVersion::default().with_api_key(*key as i16).with_min_version(min).with_max_version(max))
        })
        .collect();
    let error_code = if supported { 0 } else { ResponseError::UnsupportedVersion.code() };
    ApiVersionsResponse::default().with_error_code(error_code).with_api_keys(api_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_record_batch_v2_versions_only() {
        assert_eq!(served(ApiKey::Produce).map(|v| v.0), Some(3));
        assert!(is_served(ApiKey::Fetch, 4) && !is_served(ApiKey::Fetch, 3));
        assert!(!is_served(ApiKey::JoinGroup, 0));
        let answer = api_versions(true);
        assert_eq!(answer.api_keys.len(), SERVED.len());
        assert!(answer.api_keys.iter().all(|k| k.min_version <= k.max_version));
    }
}
