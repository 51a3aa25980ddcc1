//! Billing arithmetic: the price book, calendar months, and an invoice's
//! lines from an organization's instance periods and metered usage.
//!
//! Amounts are integers in the currency's minor unit (cents); unit prices are
//! integers in millionths of it, so a price of a fraction of a cent per unit
//! is exact; each line is rounded once, half up. No floating point anywhere.
//! Owns the arithmetic and the price book's shape; reads and writes nothing
//! (`store/billing.rs` does, `metering.rs` schedules).

use std::collections::BTreeMap;

use omnibus_api::rest::{PlanPrices, UnitPrice};
use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time};

/// Millionths of a minor unit in one minor unit.
pub const MICROS: u128 = 1_000_000;
const HOUR_MS: u64 = 3_600_000;
const GIB: u64 = 1 << 30;

/// What is priced, per instance and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    /// The instance existing: milliseconds, priced per hour.
    InstanceHours,
    /// Kafka record-batch bytes and MQTT payload bytes received.
    BytesIn,
    /// Kafka record-batch bytes fetched and MQTT payload bytes delivered.
    BytesOut,
    /// Kafka records and MQTT messages received.
    MessagesIn,
    /// Open connections over time.
    ConnectionHours,
    /// Bytes kept in the instance's logs over time.
    StorageGibHours,
    /// Partitions over time.
    PartitionHours,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::InstanceHours,
        Dimension::BytesIn,
        Dimension::BytesOut,
        Dimension::MessagesIn,
        Dimension::ConnectionHours,
        Dimension::StorageGibHours,
        Dimension::PartitionHours,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::InstanceHours => "instance_hours",
            Dimension::BytesIn => "bytes_in",
            Dimension::BytesOut => "bytes_out",
            Dimension::MessagesIn => "messages_in",
            Dimension::ConnectionHours => "connection_hours",
            Dimension::StorageGibHours => "storage_gib_hours",
            Dimension::PartitionHours => "partition_hours",
        }
    }

    /// The unit a price is per, and how many measured quantities make one.
    pub fn unit(self) -> (&'static str, u64) {
        match self {
            Dimension::InstanceHours => ("hour", HOUR_MS),
            Dimension::BytesIn | Dimension::BytesOut => ("GiB", GIB),
            Dimension::MessagesIn => ("million messages", 1_000_000),
            Dimension::ConnectionHours | Dimension::PartitionHours => ("hour", 3600),
            Dimension::StorageGibHours => ("GiB-hour", GIB * 3600),
        }
    }

    /// What the quantity is measured in.
    pub fn measured_in(self) -> &'static str {
        match self {
            Dimension::InstanceHours => "milliseconds",
            Dimension::BytesIn | Dimension::BytesOut => "bytes",
            Dimension::MessagesIn => "messages",
            Dimension::ConnectionHours => "connection-seconds",
            Dimension::StorageGibHours => "byte-seconds",
            Dimension::PartitionHours => "partition-seconds",
        }
    }
}

/// A plan's price of one dimension.
fn price_of(plan: &PlanPrices, dimension: Dimension) -> UnitPrice {
    match dimension {
        Dimension::InstanceHours => UnitPrice { unit_price_micros: plan.instance_hour_micros, free_units: 0 },
        Dimension::BytesIn => plan.bytes_in,
        Dimension::BytesOut => plan.bytes_out,
        Dimension::MessagesIn => plan.messages_in,
        Dimension::ConnectionHours => plan.connection_hours,
        Dimension::StorageGibHours => plan.storage_gib_hours,
        Dimension::PartitionHours => plan.partition_hours,
    }
}

/// The prices of every plan, as one version of the price book holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prices {
    pub plans: BTreeMap<String, PlanPrices>,
}

const fn unit(cents_micros: u64, free_units: u64) -> UnitPrice {
    UnitPrice { unit_price_micros: cents_micros, free_units }
}

/// The first price book: a plan's monthly price spread over 730 hours (the
/// average month), traffic and storage past generous allowances.
pub fn first_prices() -> Prices {
    let plan = |month_cents: u64, traffic: [UnitPrice; 6]| PlanPrices {
        instance_hour_micros: month_cents * 1_000_000 / 730,
        bytes_in: traffic[0],
        bytes_out: traffic[1],
        messages_in: traffic[2],
        connection_hours: traffic[3],
        storage_gib_hours: traffic[4],
        partition_hours: traffic[5],
    };
    let plans = BTreeMap::from([
        (
            "developer".to_owned(),
            plan(
                0,
                [
                    unit(10_000_000, 1),
                    unit(10_000_000, 2),
                    unit(20_000_000, 1),
                    unit(0, 0),
                    unit(20_000, 730),
                    unit(0, 0),
                ],
            ),
        ),
        (
            "standard".to_owned(),
            plan(
                4_900,
                [
                    unit(5_000_000, 100),
                    unit(5_000_000, 300),
                    unit(10_000_000, 100),
                    unit(10_000, 730_000),
                    unit(15_000, 7_300),
                    unit(150_000, 73_000),
                ],
            ),
        ),
        (
            "business".to_owned(),
            plan(
                49_900,
                [
                    unit(4_000_000, 1_000),
                    unit(4_000_000, 3_000),
                    unit(8_000_000, 1_000),
                    unit(8_000, 7_300_000),
                    unit(12_000, 73_000),
                    unit(120_000, 730_000),
                ],
            ),
        ),
    ]);
    Prices { plans }
}

/// What one instance used on one plan, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Used {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub messages_in: u64,
    pub connection_seconds: u64,
    pub storage_byte_seconds: u64,
    pub partition_seconds: u64,
}

impl Used {
    fn of(&self, dimension: Dimension) -> u64 {
        match dimension {
            Dimension::InstanceHours => 0,
            Dimension::BytesIn => self.bytes_in,
            Dimension::BytesOut => self.bytes_out,
            Dimension::MessagesIn => self.messages_in,
            Dimension::ConnectionHours => self.connection_seconds,
            Dimension::StorageGibHours => self.storage_byte_seconds,
            Dimension::PartitionHours => self.partition_seconds,
        }
    }
}

/// An instance on a plan within the month: its time and its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billable {
    pub instance_id: String,
    pub instance_name: String,
    pub plan: String,
    /// Milliseconds of the month it existed on the plan, so far.
    pub alive_ms: u64,
    /// Whether it still exists on the plan (its time goes on to month end).
    pub running: bool,
    pub used: Used,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub instance_id: String,
    pub instance_name: String,
    pub plan: String,
    pub dimension: Dimension,
    /// In [`Dimension::measured_in`].
    pub quantity: u64,
    /// Of `quantity`, what the allowance covers.
    pub free_quantity: u64,
    pub unit: &'static str,
    /// Measured quantities per unit.
    pub unit_size: u64,
    pub unit_price_micros: u64,
    /// Minor units.
    pub amount: u64,
}

/// An invoice's lines and total, with the forecast for the whole month when
/// `elapsed_ms` of `month_ms` have passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Priced {
    pub lines: Vec<Line>,
    pub total: u64,
    pub forecast: u64,
}

/// `quantity` beyond `free` at `price` per `unit_size`, in minor units,
/// rounded half up.
fn amount(quantity: u64, free: u64, price_micros: u64, unit_size: u64) -> u64 {
    let billable = u128::from(quantity.saturating_sub(free));
    let divisor = u128::from(unit_size.max(1)) * MICROS;
    u64::try_from((billable * u128::from(price_micros) + divisor / 2) / divisor).unwrap_or(u64::MAX)
}

/// Prices `billables` with `prices`; an instance on a plan the book does not
/// price costs nothing. `elapsed_ms` of the `month_ms` have passed (equal for
/// a month that ended): the forecast runs what is running to month end and
/// scales usage by the time left.
pub fn price(billables: &[Billable], prices: &Prices, elapsed_ms: u64, month_ms: u64) -> Priced {
    let mut lines = Vec::new();
    let (mut total, mut forecast) = (0u64, 0u64);
    let scale = |value: u64| {
        u64::try_from(u128::from(value) * u128::from(month_ms) / u128::from(elapsed_ms.max(1))).unwrap_or(u64::MAX)
    };
    for billable in billables {
        let Some(plan) = prices.plans.get(&billable.plan) else {
            continue;
        };
        for dimension in Dimension::ALL {
            let UnitPrice { unit_price_micros, free_units } = price_of(plan, dimension);
            let (unit, unit_size) = dimension.unit();
            let free = free_units.saturating_mul(unit_size);
            let (quantity, projected) = match dimension {
                Dimension::InstanceHours => {
                    let left = if billable.running { month_ms.saturating_sub(elapsed_ms) } else { 0 };
                    (billable.alive_ms, billable.alive_ms + left)
                }
                other => {
                    let used = billable.used.of(other);
                    (used, scale(used))
                }
            };
            if quantity == 0 {
                continue;
            }
            let line_amount = amount(quantity, free, unit_price_micros, unit_size);
            total += line_amount;
            forecast += amount(projected, free, unit_price_micros, unit_size);
            lines.push(Line {
                instance_id: billable.instance_id.clone(),
                instance_name: billable.instance_name.clone(),
                plan: billable.plan.clone(),
                dimension,
                quantity,
                free_quantity: quantity.min(free),
                unit,
                unit_size,
                unit_price_micros,
                amount: line_amount,
            });
        }
    }
    Priced { lines, total, forecast }
}

/// A calendar month, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: Month,
}

impl Period {
    /// The month `ms` falls in.
    pub fn containing(ms: i64) -> Period {
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Period { year: at.year(), month: at.month() }
    }

    /// `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Period> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
        Some(Period { year: year.parse().ok()?, month })
    }

    /// The first millisecond of the month.
    pub fn start_ms(self) -> i64 {
        let date = Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN);
        i64::try_from(date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }

    pub fn next(self) -> Period {
        match self.month {
            Month::December => Period { year: self.year + 1, month: Month::January },
            month => Period { year: self.year, month: month.next() },
        }
    }

    pub fn previous(self) -> Period {
        match self.month {
            Month::January => Period { year: self.year - 1, month: Month::December },
            month => Period { year: self.year, month: month.previous() },
        }
    }

    /// The first millisecond after the month.
    pub fn end_ms(self) -> i64 {
        self.next().start_ms()
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standard(alive_ms: u64, running: bool, used: Used) -> Billable {
        Billable {
            instance_id: "i-1".into(),
            instance_name: "prod".into(),
            plan: "standard".into(),
            alive_ms,
            running,
            used,
        }
    }

    #[test]
    fn months_are_utc_calendar_months() {
        let december = Period::parse("2026-12").unwrap();
        assert_eq!(december.to_string(), "2026-12");
        assert_eq!(december.start_ms(), 1_796_083_200_000);
        assert_eq!(december.end_ms(), Period::parse("2027-01").unwrap().start_ms());
        assert_eq!(Period::containing(december.end_ms() - 1), december);
        assert_eq!(Period::containing(december.end_ms()), december.next());
        assert_eq!(december.next().previous(), december);
        assert_eq!(Period::parse("2026-13"), None);
        assert_eq!(Period::parse("26-12"), None);
    }

    #[test]
    fn a_month_on_standard_costs_its_hours_and_what_passes_the_allowances() {
        let prices = first_prices();
        let december = Period::parse("2026-12").unwrap();
        let month_ms = u64::try_from(december.end_ms() - december.start_ms()).unwrap();
        let used = Used { bytes_in: 101 * GIB, bytes_out: 10 * GIB, messages_in: 150_000_000, ..Used::default() };
        let priced = price(&[standard(month_ms, true, used)], &prices, month_ms, month_ms);
        let amounts: Vec<(&str, u64)> = priced.lines.iter().map(|l| (l.dimension.as_str(), l.amount)).collect();
        // 744 hours at 4900/730 cents; 1 GiB past 100 free at 5 cents; 50
        // million messages past 100 million free at 10 cents a million.
        assert_eq!(amounts, vec![("instance_hours", 4994), ("bytes_in", 5), ("bytes_out", 0), ("messages_in", 500)]);
        assert_eq!(priced.total, 4994 + 5 + 500);
        assert_eq!(priced.forecast, priced.total, "an ended month forecasts itself");
        let bytes_in = &priced.lines[1];
        assert_eq!((bytes_in.quantity, bytes_in.free_quantity, bytes_in.unit), (101 * GIB, 100 * GIB, "GiB"));
    }

    #[test]
    fn a_month_under_way_forecasts_running_instances_and_usage_to_its_end() {
        let prices = first_prices();
        let month_ms = 30 * 24 * HOUR_MS;
        let half = month_ms / 2;
        let used = Used { bytes_in: 110 * GIB, ..Used::default() };
        let priced = price(&[standard(half, true, used)], &prices, half, month_ms);
        // Half the hours so far; all of them by the end. 10 GiB past the
        // allowance so far; at this pace 220 GiB, 120 past it, by the end.
        assert_eq!(priced.total, amount(half, 0, 6_712_328, HOUR_MS) + 50);
        assert_eq!(priced.forecast, amount(month_ms, 0, 6_712_328, HOUR_MS) + 600);
        let gone = price(&[standard(half, false, Used::default())], &prices, half, month_ms);
        assert_eq!(gone.forecast, gone.total, "a deleted instance costs no more");
    }

    #[test]
    fn amounts_round_half_up_once_per_line_and_unknown_plans_cost_nothing() {
        assert_eq!(amount(1, 0, 500_000, 1), 1);
        assert_eq!(amount(1, 0, 499_999, 1), 0);
        assert_eq!(amount(3, 0, 1_500_000, 2), 2);
        assert_eq!(amount(10, 20, 1_000_000, 1), 0, "inside the allowance");
        let mut retired = standard(HOUR_MS, false, Used::default());
        retired.plan = "retired".into();
        assert_eq!(price(&[retired], &first_prices(), 1, 1).lines, vec![]);
    }
}
