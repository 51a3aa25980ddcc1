//! MQTT topic names and topic filters: matching and coverage, plus the
//! syntax checks the contract crate defines (re-exported here).
//!
//! Pure functions on strings, shared by the codec (validation), the router
//! (level splitting) and the ACL (matching and coverage). Knows nothing of
//! namespaces: callers scope topics before they get here.

pub use omnibus_mqtt_codec::topic::{
    LEVEL_SEPARATOR, MULTI_LEVEL, SINGLE_LEVEL, TopicError, validate_filter, validate_name,
};

/// Prefix of a shared subscription's filter: `$share/{group}/{filter}`.
pub const SHARED_PREFIX: &str = "$share/";

/// A `$share/{group}/{filter}` filter split in its parts, or `None` for an
/// ordinary filter. The group must be non-empty without `/`, `+` or `#`, and the
/// filter non-empty (MQTT 5.0 §4.8.2); anything else is `Some(Err(()))`.
pub fn shared(filter: &str) -> Option<Result<(&str, &str), ()>> {
    let rest = filter.strip_prefix(SHARED_PREFIX)?;
    let Some((group, inner)) = rest.split_once(LEVEL_SEPARATOR) else { return Some(Err(())) };
    let valid = !group.is_empty() && !group.contains(['+', '#']) && !inner.is_empty();
    Some(if valid { Ok((group, inner)) } else { Err(()) })
}

/// Prefix of a delayed publish's topic: `$delayed/{seconds}/{topic}`.
pub const DELAYED_PREFIX: &str = "$delayed/";
/// Longest delay a publish may ask for, in seconds (about 49.7 days, as EMQX).
pub const MAX_DELAY_SECONDS: u32 = 4_294_967;

/// A `$delayed/{seconds}/{topic}` topic name split in its delay and the topic
/// to publish to, or `None` for an ordinary name. The delay is decimal
/// seconds up to [`MAX_DELAY_SECONDS`] and the topic a valid name that is not
/// itself delayed; anything else is `Some(Err(()))`.
pub fn delayed(name: &str) -> Option<Result<(u32, &str), ()>> {
    let rest = name.strip_prefix(DELAYED_PREFIX)?;
    let Some((seconds, topic)) = rest.split_once(LEVEL_SEPARATOR) else { return Some(Err(())) };
    let seconds: Option<u32> = if seconds.bytes().all(|b| b.is_ascii_digit()) { seconds.parse().ok() } else { None };
    let valid = validate_name(topic).is_ok() && !topic.starts_with(DELAYED_PREFIX);
    Some(match seconds {
        Some(seconds) if seconds <= MAX_DELAY_SECONDS && valid => Ok((seconds, topic)),
        _ => Err(()),
    })
}

/// The filter that decides which topics `filter` receives: the part after
/// the group of a shared subscription, else the filter itself.
pub fn effective(filter: &str) -> &str {
    match shared(filter) {
        Some(Ok((_, inner))) => inner,
        _ => filter,
    }
}

/// Whether `filter` (assumed valid) matches the topic name `name`.
///
/// A filter whose first level is a wildcard does not match names starting
/// with `$` (MQTT 3.1.1 §4.7.2).
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut filter_levels = filter.split(LEVEL_SEPARATOR);
    let mut name_levels = name.split(LEVEL_SEPARATOR);
    loop {
        match (filter_levels.next(), name_levels.next()) {
            (Some(MULTI_LEVEL), _) => return true,
            (Some(SINGLE_LEVEL), Some(_)) => {}
            (Some(f), Some(n)) if f == n => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether every topic name matched by `inner` is also matched by `outer`
/// (both assumed valid). `a/#` covers `a`, `a/+/c` and `a/#`; it does not
/// cover `#` or `+/b`.
pub fn covers(outer: &str, inner: &str) -> bool {
    // A wildcard-first `outer` never matches `$` names, so it covers no filter
    // that can only match such names.
    if inner.starts_with('$') && (outer.starts_with('+') || outer.starts_with('#')) {
        return false;
    }
    let mut outer_levels = outer.split(LEVEL_SEPARATOR);
    let mut inner_levels = inner.split(LEVEL_SEPARATOR);
    loop {
        match (outer_levels.next(), inner_levels.next()) {
            (Some(MULTI_LEVEL), _) => return true,
            // `inner` ends where `outer` continues: only a trailing `#` in
            // `outer` also matches the parent level.
            (Some(_), None) => return false,
            (None, None) => return true,
            (None, Some(_)) => return false,
            (Some(_), Some(MULTI_LEVEL)) => return false,
            (Some(SINGLE_LEVEL), Some(_)) => {}
            (Some(o), Some(i)) if o == i && i != SINGLE_LEVEL => {}
            (Some(_), Some(_)) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_names() {
        let cases: &[(&str, &str, bool)] = &[
            ("a/b", "a/b", true),
            ("a/b", "a/c", false),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
            ("a/+", "a/b", true),
            ("a/+", "a/b/c", false),
            ("a/+", "a", false),
            ("a/+", "a/", true),
            ("+/+", "/b", true),
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("a/#", "ab", false),
            ("#", "a/b", true),
            ("#", "/", true),
            ("+", "a", true),
            ("+", "a/b", false),
            ("#", "$SYS/x", false),
            ("+/x", "$SYS/x", false),
            ("$SYS/#", "$SYS/x", true),
            ("$SYS/+", "$SYS/x", true),
            ("a/+/c", "a/b/c", true),
            ("a/+/c", "a/b/d", false),
        ];
        for (filter, name, expected) in cases {
            assert_eq!(matches(filter, name), *expected, "{filter:?} vs {name:?}");
        }
    }

    #[test]
    fn splits_delayed_publishes() {
        assert_eq!(delayed("$delayed/10/a/b"), Some(Ok((10, "a/b"))));
        assert_eq!(delayed("$delayed/0/a"), Some(Ok((0, "a"))));
        assert_eq!(delayed("a/b"), None);
        for bad in [
            "$delayed/",
            "$delayed/10",
            "$delayed/x/a",
            "$delayed/-1/a",
            "$delayed/+1/a",
            "$delayed/10/",
            "$delayed/4294968/a",
            "$delayed/1/$delayed/1/a",
        ] {
            assert_eq!(delayed(bad), Some(Err(())), "{bad}");
        }
    }

    #[test]
    fn splits_shared_subscriptions() {
        assert_eq!(shared("$share/workers/a/+"), Some(Ok(("workers", "a/+"))));
        assert_eq!(shared("a/b"), None);
        assert_eq!(shared("$SYS/x"), None);
        for bad in ["$share/", "$share/g", "$share//a", "$share/g+/a", "$share/#/a", "$share/g/"] {
            assert_eq!(shared(bad), Some(Err(())), "{bad}");
        }
        assert_eq!(effective("$share/g/a/#"), "a/#");
        assert_eq!(effective("a/#"), "a/#");
    }

    #[test]
    fn computes_coverage() {
        let cases: &[(&str, &str, bool)] = &[
            ("a/#", "a/b", true),
            ("a/#", "a/+/c", true),
            ("a/#", "a/#", true),
            ("a/#", "a", true),
            ("a/#", "#", false),
            ("a/#", "+/b", false),
            ("a/#", "b", false),
            ("#", "#", true),
            ("#", "a/+/#", true),
            ("#", "$SYS/#", false),
            ("$SYS/#", "$SYS/a", true),
            ("+", "a", true),
            ("+", "+", true),
            ("+", "#", false),
            ("+", "a/b", false),
            ("a/+", "a/#", false),
            ("a/+", "a/b", true),
            ("a/+", "a", false),
            ("a/+/#", "a/#", false),
            ("a/+/#", "a/b", true),
            ("a/b", "a/b", true),
            ("a/b", "a/+", false),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
        ];
        for (outer, inner, expected) in cases {
            assert_eq!(covers(outer, inner), *expected, "{outer:?} covers {inner:?}");
        }
    }
}
