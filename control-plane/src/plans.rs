//! The plan catalogue: the plans an instance can be on, what each costs and
//! what it gives: how the instance's writes are made durable and what its
//! MQTT clients may use. Quotas across protocols arrive with quota
//! enforcement and are added here.

use omnibus_api::fleet;

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
}

/// One plan of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub name: &'static str,
    /// US cents per month.
    pub price_cents_per_month: u64,
    pub durability: Durability,
    pub mqtt: MqttLimits,
}

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

/// The namespace an instance on `plan_name` is applied as. A plan no longer in
/// the catalogue keeps the safest durability and the broker's own limits.
pub fn namespace(id: &str, plan_name: &str) -> fleet::Namespace {
    let plan = plan(plan_name);
    let durability = plan.map_or(Durability::Fsync, |plan| plan.durability);
    let mqtt_limits = plan.map(|plan| fleet::MqttLimits {
        max_connections: plan.mqtt.max_connections,
        max_subscriptions_per_session: plan.mqtt.max_subscriptions_per_session,
        max_queued_messages: plan.mqtt.max_queued_messages,
        max_retained_messages: plan.mqtt.max_retained_messages,
        max_packet_size: plan.mqtt.max_packet_size,
        max_inflight: plan.mqtt.max_inflight,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_ship_their_durability_and_unknown_plans_fsync() {
        let developer = namespace("i-1", "developer");
        assert_eq!((developer.durability(), developer.flush_interval_ms), (fleet::Durability::Interval, 1000));
        assert_eq!(namespace("i-1", "business").durability(), fleet::Durability::Fsync);
        assert_eq!(namespace("i-1", "retired").durability(), fleet::Durability::Fsync);
        assert_eq!(developer.mqtt_limits.map(|l| l.max_connections), Some(100));
        assert!(namespace("i-1", "retired").mqtt_limits.is_none());
        assert_eq!(names(), "developer, standard, business");
    }
}
