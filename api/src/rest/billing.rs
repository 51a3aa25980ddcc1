//! Billing resources: the versioned price book, invoices and their lines,
//! and spend alerts (`/v1/price-books`, `/v1/invoices`, `/v1/spend-alerts`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A price per unit and the units each instance gets free per month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitPrice {
    /// Millionths of the currency's minor unit (cent) per unit.
    pub unit_price_micros: u64,
    /// Units free per instance and month.
    #[serde(default)]
    pub free_units: u64,
}

/// What an instance on one plan costs: a base price per instance-hour and
/// prices per unit of use past the free allowances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanPrices {
    /// Per instance-hour, in millionths of the minor unit.
    pub instance_hour_micros: u64,
    /// Per GiB received (Kafka record batches, MQTT payloads).
    pub bytes_in: UnitPrice,
    /// Per GiB sent.
    pub bytes_out: UnitPrice,
    /// Per million messages and records received.
    pub messages_in: UnitPrice,
    /// Per connection-hour.
    pub connection_hours: UnitPrice,
    /// Per GiB-hour of log storage.
    pub storage_gib_hours: UnitPrice,
    /// Per partition-hour.
    pub partition_hours: UnitPrice,
}

/// One version of the price book. A version takes effect at the start of a
/// UTC calendar month and never changes afterwards; a month is billed with
/// the version in effect when it began.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PriceBook {
    pub version: u64,
    #[schema(format = DateTime)]
    pub effective_from: String,
    /// ISO 4217.
    pub currency: String,
    pub plans: std::collections::BTreeMap<String, PlanPrices>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PriceBookPage {
    /// Newest version first.
    pub items: Vec<PriceBook>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A new version of the price book (platform operators).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPriceBook {
    /// The first instant of a UTC calendar month after the current one and
    /// after the latest version's.
    #[schema(format = DateTime)]
    pub effective_from: String,
    /// ISO 4217, three capital letters.
    pub currency: String,
    /// Every plan of the catalogue.
    pub plans: std::collections::BTreeMap<String, PlanPrices>,
}

/// One line of an invoice: one instance, plan and dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    pub instance_id: String,
    pub instance_name: String,
    pub plan: String,
    /// `instance_hours`, `bytes_in`, `bytes_out`, `messages_in`,
    /// `connection_hours`, `storage_gib_hours` or `partition_hours`.
    pub dimension: String,
    /// What was used, in `measured_in`.
    pub quantity: u64,
    /// `milliseconds`, `bytes`, `messages`, `connection-seconds`,
    /// `byte-seconds` or `partition-seconds`.
    pub measured_in: String,
    /// Of `quantity`, what the free allowance covers.
    pub free_quantity: u64,
    /// What `unit_price_micros` is per.
    pub unit: String,
    /// Measured quantities in one unit.
    pub unit_size: u64,
    pub unit_price_micros: u64,
    /// Minor units: (quantity − free) × price ÷ unit size, rounded half up.
    pub amount: u64,
}

/// An organization's invoice for a calendar month: a draft while the month
/// runs (and until it is finalized shortly after), then final.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "2026-12", "period": "2026-12", "status": "draft", "currency": "USD",
    "period_start": "2026-12-01T00:00:00Z", "period_end": "2027-01-01T00:00:00Z",
    "price_book_version": 1, "total": 1650, "forecast_total": 4994, "finalized_at": null,
    "lines": [{"instance_id": "0193a5b0-0000-7000-8000-000000000002", "instance_name": "prod",
               "plan": "standard", "dimension": "instance_hours", "quantity": 885600000,
               "measured_in": "milliseconds", "free_quantity": 0, "unit": "hour",
               "unit_size": 3600000, "unit_price_micros": 6712328, "amount": 1651}]
}))]
pub struct Invoice {
    /// The period, `YYYY-MM`.
    pub id: String,
    pub period: String,
    /// `draft` or `finalized`.
    pub status: String,
    pub currency: String,
    #[schema(format = DateTime)]
    pub period_start: String,
    #[schema(format = DateTime)]
    pub period_end: String,
    pub price_book_version: u64,
    /// Minor units; for a draft, the cost so far.
    pub total: u64,
    /// Drafts: what the month will cost if what runs keeps running and use
    /// goes on at its pace so far.
    #[serde(default)]
    pub forecast_total: Option<u64>,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub finalized_at: Option<String>,
    pub lines: Vec<InvoiceLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvoicePage {
    /// Newest month first (the drafts first), without their lines.
    pub items: Vec<Invoice>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// A threshold on a month's cost so far: crossing it is recorded once per
/// month and mailed to the organization's owners, admins and billing members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"threshold": 10000}))]
#[serde(deny_unknown_fields)]
pub struct NewSpendAlert {
    /// Minor units of the price book's currency, at least 1.
    pub threshold: u64,
}

/// A crossing of a spend alert's threshold.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SpendAlertEvent {
    /// `YYYY-MM`.
    pub period: String,
    /// The month's cost so far when it was seen crossed.
    pub amount: u64,
    #[schema(format = DateTime)]
    pub crossed_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SpendAlert {
    pub id: String,
    pub threshold: u64,
    pub currency: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Newest first.
    pub events: Vec<SpendAlertEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SpendAlertPage {
    /// Lowest threshold first.
    pub items: Vec<SpendAlert>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}
