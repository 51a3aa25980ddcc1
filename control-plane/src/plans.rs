//! The plan catalogue: the plans an instance can be on and what each gives it.
//! Today that is how the instance's writes are made durable; quotas and prices
//! arrive with quota enforcement and billing and are added here.

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

/// One plan of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub name: &'static str,
    pub durability: Durability,
}

/// Plans an instance can be created on.
pub const PLANS: &[Plan] = &[
    Plan { name: "developer", durability: Durability::Interval { flush_interval_ms: 1000 } },
    Plan { name: "standard", durability: Durability::Fsync },
    Plan { name: "business", durability: Durability::Fsync },
];

pub fn plan(name: &str) -> Option<&'static Plan> {
    PLANS.iter().find(|plan| plan.name == name)
}

/// The plans' names, for error messages.
pub fn names() -> String {
    PLANS.iter().map(|plan| plan.name).collect::<Vec<_>>().join(", ")
}

/// The namespace an instance on `plan_name` is applied as. A plan no longer in
/// the catalogue keeps the safest durability.
pub fn namespace(id: &str, plan_name: &str) -> fleet::Namespace {
    let durability = plan(plan_name).map_or(Durability::Fsync, |plan| plan.durability);
    let (durability, flush_interval_ms) = match durability {
        Durability::Fsync => (fleet::Durability::Fsync, 0),
        Durability::Interval { flush_interval_ms } => (fleet::Durability::Interval, flush_interval_ms),
    };
    fleet::Namespace {
        id: id.to_string(),
        plan: plan_name.to_string(),
        durability: durability as i32,
        flush_interval_ms,
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
        assert_eq!(names(), "developer, standard, business");
    }
}
