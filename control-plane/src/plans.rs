//! The plan catalogue: the plans an instance can be on, what each costs and
//! what it gives: how the instance's writes are made durable and what its
//! MQTT clients may use, how many Kafka topics, partitions and consumer
//! groups it may have,
//! and how a platform operator's per-instance quota
//! overrides change that. Quotas across protocols arrive with quota
//! enforcement and are added here.

use omnibus_api::fleet;
use omnibus_api::rest::{PlanKafkaLimits, PlanMqttLimits, PlanRateLimits, QuotaOverrides};

/// How the broker acknowledges a write to an instance's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After a group-commit fdatasync covers it: survives a power loss.
    Fsync,
    /// Once in the broker's page cache, fdatasynced within this many
    /// milliseconds: survives a broker crash, not a machine crash.
    Interval { flush_interval_ms: u32 },
}

/// What an instance's MQTT clients may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttLimits {
    pub max_connections: u32,
    pub max_subscriptions_per_session: u32,
    /// Messages queued for one offline session.
    pub max_queued_messages: u32,
    pub max_retained_messages: u32,
    /// Bytes.
    pub max_packet_size: u32,
    /// QoS 1 and 2 messages in flight per connection, each way.
    pub max_inflight: u32,
    /// Persistent sessions stored.
    pub max_sessions: u32,
}

impl MqttLimits {
    /// These limits with an operator's overrides in their place.
    pub fn overridden(self, overrides: &QuotaOverrides) -> MqttLimits {
        MqttLimits {
            max_connections: overrides.max_connections.unwrap_or(self.max_connections),
            max_subscriptions_per_session: overrides
                .max_subscriptions_per_session
                .unwrap_or(self.max_subscriptions_per_session),
            max_queued_messages: overrides.max_queued_messages.unwrap_or(self.max_queued_messages),
            max_retained_messages: overrides.max_retained_messages.unwrap_or(self.max_retained_messages),
            max_packet_size: overrides.max_packet_size.unwrap_or(self.max_packet_size),
            max_inflight: overrides.max_inflight.unwrap_or(self.max_inflight),
            max_sessions: overrides.max_sessions.unwrap_or(self.max_sessions),
        }
    }
}

impl From<MqttLimits> for PlanMqttLimits {
    fn from(limits: MqttLimits) -> PlanMqttLimits {
        PlanMqttLimits {
            max_connections: limits.max_connections,
            max_subscriptions_per_session: limits.max_subscriptions_per_session,
            max_queued_messages: limits.max_queued_messages,
            max_retained_messages: limits.max_retained_messages,
            max_packet_size: limits.max_packet_size,
            max_inflight: limits.max_inflight,
            max_sessions: limits.max_sessions,
        }
    }
}

/// What an instance's Kafka topics may add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaLimits {
    /// Topics, those of its MQTT mappings included.
    pub max_topics: u32,
    /// Partitions across all of its topics.
    pub max_partitions: u32,
    /// Consumer groups with members or committed offsets.
    pub max_consumer_groups: u32,
    /// Bytes its logs may hold.
    pub max_storage_bytes: u64,
}

impl KafkaLimits {
    /// These limits with an operator's overrides in their place.
    pub fn overridden(self, overrides: &QuotaOverrides) -> KafkaLimits {
        KafkaLimits {
            max_topics: overrides.max_topics.unwrap_or(self.max_topics),
            max_partitions: overrides.max_partitions.unwrap_or(self.max_partitions),
            max_consumer_groups: overrides.max_consumer_groups.unwrap_or(self.max_consumer_groups),
            max_storage_bytes: overrides.max_storage_bytes.unwrap_or(self.max_storage_bytes),
        }
    }
}

impl From<KafkaLimits> for PlanKafkaLimits {
    fn from(limits: KafkaLimits) -> PlanKafkaLimits {
        PlanKafkaLimits {
            max_topics: limits.max_topics,
            max_partitions: limits.max_partitions,
            max_consumer_groups: limits.max_consumer_groups,
            max_storage_bytes: limits.max_storage_bytes,
        }
    }
}

/// What an instance may use per second, over all of its connections and
/// protocols; past it clients wait (Kafka `throttle_time_ms`, MQTT back
/// pressure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Bytes of messages and records received.
    pub bytes_in_per_second: u32,
    /// Bytes of Kafka record batches fetched and MQTT payloads delivered.
    pub bytes_out_per_second: u32,
    /// Messages and records received.
    pub messages_in_per_second: u32,
    /// New connections (MQTT CONNECTs, Kafka logins).
    pub connections_per_second: u32,
}

impl RateLimits {
    /// These limits with an operator's overrides in their place.
    pub fn overridden(self, overrides: &QuotaOverrides) -> RateLimits {
        RateLimits {
            bytes_in_per_second: overrides.bytes_in_per_second.unwrap_or(self.bytes_in_per_second),
            bytes_out_per_second: overrides.bytes_out_per_second.unwrap_or(self.bytes_out_per_second),
            messages_in_per_second: overrides.messages_in_per_second.unwrap_or(self.messages_in_per_second),
            connections_per_second: overrides.connections_per_second.unwrap_or(self.connections_per_second),
        }
    }
}

impl From<RateLimits> for PlanRateLimits {
    fn from(limits: RateLimits) -> PlanRateLimits {
        PlanRateLimits {
            bytes_in_per_second: limits.bytes_in_per_second,
            bytes_out_per_second: limits.bytes_out_per_second,
            messages_in_per_second: limits.messages_in_per_second,
            connections_per_second: limits.connections_per_second,
        }
    }
}

/// One plan of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub name: &'static str,
    /// US cents per month.
    pub price_cents_per_month: u64,
    pub durability: Durability,
    pub mqtt: MqttLimits,
    pub kafka: KafkaLimits,
    pub rates: RateLimits,
}

const MIB: u32 = 1024 * 1024;
const GIB: u64 = 1 << 30;

/// Plans an instance can be created on.
pub const PLANS: &[Plan] = &[
    Plan {
        name: "developer",
        price_cents_per_month: 0,
        durability: Durability::Interval { flush_interval_ms: 1000 },
        mqtt: MqttLimits {
            max_connections: 100,
            max_subscriptions_per_session: 100,
            max_queued_messages: 1_000,
            max_retained_messages: 1_000,
            max_packet_size: 256 * 1024,
            max_inflight: 32,
            max_sessions: 100,
        },
        kafka: KafkaLimits { max_topics: 10, max_partitions: 30, max_consumer_groups: 20, max_storage_bytes: GIB },
        rates: RateLimits {
            bytes_in_per_second: 10 * MIB,
            bytes_out_per_second: 30 * MIB,
            messages_in_per_second: 10_000,
            connections_per_second: 100,
        },
    },
    Plan {
        name: "standard",
        price_cents_per_month: 4_900,
        durability: Durability::Fsync,
        mqtt: MqttLimits {
            max_connections: 10_000,
            max_subscriptions_per_session: 1_000,
            max_queued_messages: 10_000,
            max_retained_messages: 100_000,
            max_packet_size: 1024 * 1024,
            max_inflight: 128,
            max_sessions: 10_000,
        },
        kafka: KafkaLimits {
            max_topics: 200,
            max_partitions: 2_000,
            max_consumer_groups: 1_000,
            max_storage_bytes: 1024 * GIB,
        },
        rates: RateLimits {
            bytes_in_per_second: 100 * MIB,
            bytes_out_per_second: 300 * MIB,
            messages_in_per_second: 200_000,
            connections_per_second: 1_000,
        },
    },
    Plan {
        name: "business",
        price_cents_per_month: 49_900,
        durability: Durability::Fsync,
        mqtt: MqttLimits {
            max_connections: 100_000,
            max_subscriptions_per_session: 10_000,
            max_queued_messages: 100_000,
            max_retained_messages: 1_000_000,
            max_packet_size: 1024 * 1024,
            max_inflight: 1024,
            max_sessions: 100_000,
        },
        kafka: KafkaLimits {
            max_topics: 2_000,
            max_partitions: 20_000,
            max_consumer_groups: 10_000,
            max_storage_bytes: 10 * 1024 * GIB,
        },
        rates: RateLimits {
            bytes_in_per_second: 500 * MIB,
            bytes_out_per_second: 1500 * MIB,
            messages_in_per_second: 3_000_000,
            connections_per_second: 50_000,
        },
    },
];

pub fn plan(name: &str) -> Option<&'static Plan> {
    PLANS.iter().find(|plan| plan.name == name)
}

/// The plans' names, for error messages.
pub fn names() -> String {
    PLANS.iter().map(|plan| plan.name).collect::<Vec<_>>().join(", ")
}

/// The namespace an instance on `plan_name` is applied as, its plan's limits
/// with `overrides` in their place. A plan no longer in the catalogue keeps
/// the safest durability and the broker's own limits.
pub fn namespace(id: &str, plan_name: &str, overrides: &QuotaOverrides) -> fleet::Namespace {
    let plan = plan(plan_name);
    let durability = plan.map_or(Durability::Fsync, |plan| plan.durability);
    let mqtt_limits = plan.map(|plan| plan.mqtt.overridden(overrides)).map(|limits| fleet::MqttLimits {
        max_connections: limits.max_connections,
        max_subscriptions_per_session: limits.max_subscriptions_per_session,
        max_queued_messages: limits.max_queued_messages,
        max_retained_messages: limits.max_retained_messages,
        max_packet_size: limits.max_packet_size,
        max_inflight: limits.max_inflight,
        max_sessions: limits.max_sessions,
    });
    let kafka_limits = plan.map(|plan| plan.kafka.overridden(overrides)).map(|limits| fleet::KafkaLimits {
        max_topics: limits.max_topics,
        max_partitions: limits.max_partitions,
        max_consumer_groups: limits.max_consumer_groups,
        max_storage_bytes: limits.max_storage_bytes,
    });
    let rate_limits = plan.map(|plan| plan.rates.overridden(overrides)).map(|limits| fleet::RateLimits {
        bytes_in_per_second: limits.bytes_in_per_second,
        bytes_out_per_second: limits.bytes_out_per_second,
        messages_in_per_second: limits.messages_in_per_second,
        connections_per_second: limits.connections_per_second,
    });
    let (durability, flush_interval_ms) = match durability {
        Durability::Fsync => (fleet::Durability::Fsync, 0),
        Durability::Interval { flush_interval_ms } => (fleet::Durability::Interval, flush_interval_ms),
    };
    fleet::Namespace {
        id: id.to_string(),
        plan: plan_name.to_string(),
        durability: durability as i32,
        flush_interval_ms,
        mqtt_limits,
        kafka_limits,
        rate_limits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_ship_their_durability_and_unknown_plans_fsync() {
        let none = QuotaOverrides::default();
        let developer = namespace("i-1", "developer", &none);
        assert_eq!((developer.durability(), developer.flush_interval_ms), (fleet::Durability::Interval, 1000));
        assert_eq!(namespace("i-1", "business", &none).durability(), fleet::Durability::Fsync);
        assert_eq!(namespace("i-1", "retired", &none).durability(), fleet::Durability::Fsync);
        assert_eq!(developer.mqtt_limits.map(|l| l.max_connections), Some(100));
        assert!(namespace("i-1", "retired", &none).mqtt_limits.is_none());
        assert_eq!(names(), "developer, standard, business");
    }

    #[test]
    fn overrides_replace_only_the_limits_they_name() {
        let overrides = QuotaOverrides {
            max_connections: Some(7),
            max_inflight: Some(3),
            max_topics: Some(5),
            ..QuotaOverrides::default()
        };
        let kafka = namespace("i-1", "standard", &overrides).kafka_limits.unwrap();
        assert_eq!((kafka.max_topics, kafka.max_partitions), (5, 2_000));
        let limits = namespace("i-1", "standard", &overrides).mqtt_limits.unwrap();
        assert_eq!((limits.max_connections, limits.max_inflight), (7, 3));
        assert_eq!(limits.max_subscriptions_per_session, 1_000);
        assert_eq!(limits.max_packet_size, 1024 * 1024);
    }
}
