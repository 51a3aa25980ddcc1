//! The plan catalogue. Plans name what an instance may use; the quotas each
//! plan carries arrive with quota enforcement and are added here.

/// Plans an instance can be created on.
pub const PLANS: &[&str] = &["developer", "standard", "business"];

pub fn is_plan(name: &str) -> bool {
    PLANS.contains(&name)
}
