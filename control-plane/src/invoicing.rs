//! Invoices from the store: a month's draft, computed on every read from
//! the organization's instance periods and unbilled usage; finalization of
//! months that ended (every unbilled record before the month's end is billed
//! by exactly one finalized invoice: late records by the next one); and the
//! spend alerts, checked against the current month's cost so far.
//!
//! Owns which rows an invoice reads and when it is final; the arithmetic is
//! `billing.rs`'s, the SQL `store`'s.

use std::collections::BTreeMap;

use crate::billing::{self, Billable, Period, Priced, Prices, Used};
use crate::error::InternalError;
use crate::mailer::{Mail, Mailer};
use crate::store::{FinalInvoice, InvoiceLineRow, InvoiceRow, PeriodRow, SpendAlertEventRow, Store, Sums};

/// Usage stored this long ago is surely committed by every control plane,
/// so finalizing bills only records stored before it and leaves later ones
/// to the next invoice.
const SETTLE_MS: i64 = 60_000;

/// An invoice as computed: its month, the prices it used, its lines.
pub struct Statement {
    pub period: Period,
    pub price_book_version: i64,
    pub currency: String,
    pub priced: Priced,
}

async fn prices_for(store: &Store, period: Period) -> Result<(i64, String, Prices), InternalError> {
    let book = store
        .price_book_at(period.start_ms())
        .await?
        .ok_or_else(|| InternalError::Corrupt("no price book is in effect".into()))?;
    let prices: Prices = serde_json::from_str(&book.prices)
        .map_err(|e| InternalError::Corrupt(format!("price book {}: {e}", book.version)))?;
    Ok((book.version, book.currency, prices))
}

/// The organization's periods and usage in `period`, as billables: time
/// counted up to `upto`, usage from `usage_from`, stored by `ingested_by`.
async fn billables(
    store: &Store,
    organization_id: &str,
    period: Period,
    upto: i64,
    usage_from: i64,
    ingested_by: i64,
) -> Result<Vec<Billable>, InternalError> {
    let (start, end) = (period.start_ms(), period.end_ms());
    let periods = store.periods_overlapping(organization_id, start, upto).await?;
    let usage = store.unbilled_usage(organization_id, usage_from, end, ingested_by).await?;
    Ok(assemble(&periods, &usage, start, upto))
}

/// One billable per instance and plan: the time its periods overlap
/// `[start, upto)`, and its usage.
fn assemble(periods: &[PeriodRow], usage: &[(String, String, Sums)], start: i64, upto: i64) -> Vec<Billable> {
    let mut by_key: BTreeMap<(String, String), Billable> = BTreeMap::new();
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for period in periods {
        names.insert(&period.instance_id, &period.instance_name);
        let from = period.started_at.max(start);
        let to = period.ended_at.unwrap_or(upto).min(upto);
        let entry = by_key.entry((period.instance_id.clone(), period.plan.clone())).or_insert_with(|| Billable {
            instance_id: period.instance_id.clone(),
            instance_name: period.instance_name.clone(),
            plan: period.plan.clone(),
            alive_ms: 0,
            running: false,
            used: Used::default(),
        });
        entry.alive_ms += u64::try_from(to - from).unwrap_or(0);
        entry.running |= period.ended_at.is_none_or(|ended| ended > upto);
        entry.instance_name.clone_from(&period.instance_name);
    }
    for (instance_id, plan, sums) in usage {
        let entry = by_key.entry((instance_id.clone(), plan.clone())).or_insert_with(|| Billable {
            instance_id: instance_id.clone(),
            instance_name: names.get(instance_id.as_str()).map_or_else(|| instance_id.clone(), |n| (*n).to_owned()),
            plan: plan.clone(),
            alive_ms: 0,
            running: false,
            used: Used::default(),
        });
        let v = |d: &str| sums.get(d);
        entry.used = Used {
            bytes_in: v("kafka_bytes_in") + v("mqtt_bytes_in"),
            bytes_out: v("kafka_bytes_out") + v("mqtt_bytes_out"),
            messages_in: v("kafka_messages_in") + v("mqtt_messages_in"),
            connection_seconds: v("connection_seconds"),
            storage_byte_seconds: v("storage_byte_seconds"),
            partition_seconds: v("partition_seconds"),
        };
    }
    by_key.into_values().collect()
}

/// The month's draft as of `now`: its cost so far and the forecast.
pub async fn draft(store: &Store, organization_id: &str, period: Period, now: i64) -> Result<Statement, InternalError> {
    let (version, currency, prices) = prices_for(store, period).await?;
    let (start, end) = (period.start_ms(), period.end_ms());
    let upto = now.clamp(start, end);
    // While last month is not final its draft shows its own records; once
    // it is, records of it that came late are this month's to bill.
    let usage_from =
        if store.invoice_finalized(organization_id, &period.previous().to_string()).await? { 0 } else { start };
    let billables = billables(store, organization_id, period, upto, usage_from, i64::MAX).await?;
    let elapsed = u64::try_from(upto - start).unwrap_or(0);
    let month = u64::try_from(end - start).unwrap_or(1);
    let priced = billing::price(&billables, &prices, elapsed, month);
    Ok(Statement { period, price_book_version: version, currency, priced })
}

/// Finalizes the organization's invoice for an ended `period`; false when
/// it already was.
pub async fn finalize(store: &Store, organization_id: &str, period: Period, now: i64) -> Result<bool, InternalError> {
    let (version, currency, prices) = prices_for(store, period).await?;
    let (start, end) = (period.start_ms(), period.end_ms());
    let ingested_by = now - SETTLE_MS;
    let billables = billables(store, organization_id, period, end, 0, ingested_by).await?;
    let month = u64::try_from(end - start).unwrap_or(1);
    let priced = billing::price(&billables, &prices, month, month);
    let row = InvoiceRow {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: organization_id.to_owned(),
        period: period.to_string(),
        period_start: start,
        period_end: end,
        price_book_version: version,
        currency,
        total: i64::try_from(priced.total).unwrap_or(i64::MAX),
        finalized_at: now,
    };
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let lines: Vec<InvoiceLineRow> = priced
        .lines
        .iter()
        .map(|line| InvoiceLineRow {
            instance_id: line.instance_id.clone(),
            instance_name: line.instance_name.clone(),
            plan: line.plan.clone(),
            dimension: line.dimension.as_str().to_owned(),
            quantity: as_i64(line.quantity),
            free_quantity: as_i64(line.free_quantity),
            unit: line.unit.to_owned(),
            unit_size: as_i64(line.unit_size),
            unit_price: as_i64(line.unit_price_micros),
            amount: as_i64(line.amount),
        })
        .collect();
    let finalized =
        store.finalize_invoice(&FinalInvoice { row: &row, lines: &lines, usage_before: end, ingested_by }).await?;
    if finalized {
        tracing::info!(organization = organization_id, period = %period, total = row.total, "invoice finalized");
    }
    Ok(finalized)
}

/// Finalizes, oldest month first, every invoice of the last three months
/// that ended at least `delay_ms` ago; answers how many.
pub async fn finalize_due(store: &Store, now: i64, delay_ms: i64) -> Result<usize, InternalError> {
    let last = Period::containing(now - delay_ms).previous();
    let mut finalized = 0;
    for period in [last.previous().previous(), last.previous(), last] {
        for organization_id in
            store.organizations_to_finalize(&period.to_string(), period.start_ms(), period.end_ms()).await?
        {
            finalized += usize::from(finalize(store, &organization_id, period, now).await?);
        }
    }
    Ok(finalized)
}

/// Records each spend alert whose threshold this month's cost so far has
/// reached, once per month, and mails the organization's billing
/// recipients; answers how many crossings were new.
pub async fn check_spend_alerts(store: &Store, mailer: &Mailer, now: i64) -> Result<usize, InternalError> {
    let period = Period::containing(now);
    let mut crossed = 0;
    for organization_id in store.organizations_with_spend_alerts().await? {
        let alerts = store.spend_alerts(&organization_id).await?;
        let statement = draft(store, &organization_id, period, now).await?;
        let cost = i64::try_from(statement.priced.total).unwrap_or(i64::MAX);
        for alert in alerts.iter().filter(|alert| alert.threshold <= cost) {
            let event = SpendAlertEventRow {
                alert_id: alert.id.clone(),
                period: period.to_string(),
                amount: cost,
                crossed_at: now,
            };
            if !store.record_crossing(&event).await? {
                continue;
            }
            crossed += 1;
            tracing::info!(organization = %organization_id, threshold = alert.threshold, cost, "spend alert crossed");
            for to in store.billing_recipients(&organization_id).await? {
                let mail = Mail {
                    to,
                    subject: format!("Omnibus: {period} spend passed {}", money(alert.threshold, &statement.currency)),
                    body: format!(
                        "Your organization's Omnibus bill for {period} has reached {} so far, past the spend \
                         alert of {}.\nThe month is forecast at {}.\nSee GET /v1/invoices/{period} for the lines.\n",
                        money(cost, &statement.currency),
                        money(alert.threshold, &statement.currency),
                        money(i64::try_from(statement.priced.forecast).unwrap_or(i64::MAX), &statement.currency),
                    ),
                };
                if let Err(error) = mailer.send(&mail).await {
                    tracing::warn!(%error, organization = %organization_id, "cannot mail a spend alert");
                }
            }
        }
    }
    Ok(crossed)
}

/// `1234` USD → `12.34 USD`.
fn money(minor: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", minor / 100, (minor % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(instance: &str, plan: &str, started_at: i64, ended_at: Option<i64>) -> PeriodRow {
        PeriodRow {
            instance_id: instance.into(),
            organization_id: "o".into(),
            instance_name: format!("{instance}-name"),
            plan: plan.into(),
            started_at,
            ended_at,
        }
    }

    #[test]
    fn periods_become_time_per_instance_and_plan_and_usage_joins_them() {
        let periods = [
            period("a", "developer", 0, Some(400)),
            period("a", "standard", 400, None),
            period("b", "standard", 500, Some(700)),
        ];
        let mut sums = Sums::default();
        sums.values[1] = 10; // kafka_bytes_in
        sums.values[5] = 5; // mqtt_bytes_in
        let usage = [("a".to_owned(), "standard".to_owned(), sums), ("gone".to_owned(), "standard".to_owned(), sums)];
        let billables = assemble(&periods, &usage, 100, 1000);
        let summary: Vec<_> =
            billables.iter().map(|b| (b.instance_id.as_str(), b.plan.as_str(), b.alive_ms, b.running)).collect();
        assert_eq!(
            summary,
            vec![
                ("a", "developer", 300, false),
                ("a", "standard", 600, true),
                ("b", "standard", 200, false),
                ("gone", "standard", 0, false),
            ]
        );
        assert_eq!(billables[1].used.bytes_in, 15);
        assert_eq!(billables[3].instance_name, "gone", "usage of an instance without a period this month");
    }

    fn record(seq: u64, instance: &str, start_ms: i64, kafka_bytes_in: u64) -> omnibus_api::fleet::UsageRecord {
        omnibus_api::fleet::UsageRecord {
            seq,
            namespace_id: instance.into(),
            start_ms,
            end_ms: start_ms + 60_000,
            kafka_bytes_in,
            kafka_messages_in: 1,
            ..Default::default()
        }
    }

    const GIB: u64 = 1 << 30;

    /// A month billed from stored usage: the draft, finalization once the
    /// month is over, records stored twice or late, a later price book, and
    /// spend alerts, on SQLite and PostgreSQL.
    #[tokio::test]
    async fn months_are_billed_once_from_what_was_stored() {
        let dir = std::env::temp_dir().join(format!("omnibus-cp-invoicing-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let november = Period::parse("2026-11").unwrap();
        let (start, end) = (november.start_ms(), november.end_ms());
        for url in crate::store::fresh_databases(&dir).await {
            let store = Store::connect(&url).await.unwrap();
            let prices = serde_json::to_string(&billing::first_prices()).unwrap();
            store.ensure_first_price_book("USD", &prices, 0).await.unwrap();
            store.ensure_first_price_book("USD", &prices, 0).await.unwrap();
            store.seed_billing_fixture("org", "owner@example.com", "i-1", "prod", "standard", start).await;
            store.seed_billing_fixture("other", "other@example.com", "i-2", "theirs", "standard", start).await;

            // 150 GiB in over the month, half in two records of one journal;
            // a retry of the same record is stored once.
            let records = [record(1, "i-1", start, 100 * GIB), record(2, "i-1", start + 3_600_000, 50 * GIB)];
            assert_eq!(store.ingest_usage("j1", "broker-0", &records, start + 10).await.unwrap(), 2);
            assert_eq!(store.ingest_usage("j1", "broker-0", &records[..1], start + 20).await.unwrap(), 0);
            store.ingest_usage("j2", "broker-0", &[record(1, "i-2", start, 999 * GIB)], start + 10).await.unwrap();

            let mid = start + (end - start) / 2;
            let statement = draft(&store, "org", november, mid).await.unwrap();
            let lines: Vec<_> =
                statement.priced.lines.iter().map(|l| (l.dimension.as_str(), l.quantity, l.amount)).collect();
            let half_month = u64::try_from(mid - start).unwrap();
            let hours = billing::price(
                &[Billable {
                    instance_id: "i-1".into(),
                    instance_name: "prod".into(),
                    plan: "standard".into(),
                    alive_ms: half_month,
                    running: true,
                    used: Used::default(),
                }],
                &billing::first_prices(),
                half_month,
                half_month * 2,
            );
            // 50 GiB past the 100 free at 5 cents; one million messages is free.
            assert_eq!(
                lines,
                vec![("instance_hours", half_month, hours.total), ("bytes_in", 150 * GIB, 250), ("messages_in", 2, 0)],
                "{}",
                crate::store::redacted(&url)
            );
            assert!(statement.priced.forecast > statement.priced.total);

            // Too early: the month is not over (plus the delay).
            assert_eq!(finalize_due(&store, end + 1000, 3_600_000).await.unwrap(), 0);
            let after = end + 2 * 3_600_000;
            assert_eq!(finalize_due(&store, after, 3_600_000).await.unwrap(), 2, "both organizations");
            assert_eq!(finalize_due(&store, after, 3_600_000).await.unwrap(), 0, "final once");
            let (invoice, stored) = store.invoice("org", "2026-11").await.unwrap().unwrap();
            assert_eq!(stored.iter().map(|l| l.amount).sum::<i64>(), invoice.total);
            let month_hours = stored.iter().find(|l| l.dimension == "instance_hours").unwrap();
            assert_eq!(month_hours.quantity, end - start, "a whole month of the running instance");
            assert_eq!(stored.iter().find(|l| l.dimension == "bytes_in").unwrap().amount, 250);
            let (theirs, _) = store.invoice("other", "2026-11").await.unwrap().unwrap();
            assert_ne!(theirs.total, invoice.total, "each organization is billed its own usage");

            // A record of November that arrives late is December's to bill,
            // once; November's invoice does not change.
            store.ingest_usage("j1", "broker-0", &[record(3, "i-1", end - 60_000, 10 * GIB)], after).await.unwrap();
            let december = draft(&store, "org", november.next(), after).await.unwrap();
            let late = december.priced.lines.iter().find(|l| l.dimension.as_str() == "bytes_in").unwrap();
            assert_eq!(late.quantity, 10 * GIB);
            assert_eq!(store.invoice("org", "2026-11").await.unwrap().unwrap().0.total, invoice.total);

            // A new price book starts in a later month; November keeps its prices.
            let mut dearer = billing::first_prices();
            dearer.plans.get_mut("standard").unwrap().bytes_in.unit_price_micros *= 10;
            let dearer = serde_json::to_string(&dearer).unwrap();
            let january = november.next().next();
            let version = store.insert_price_book(january.start_ms(), "USD", &dearer, after).await.unwrap().unwrap();
            assert_eq!(version.version, 2);
            assert!(store.insert_price_book(november.start_ms(), "USD", &dearer, after).await.unwrap().is_none());
            assert_eq!(draft(&store, "org", january, january.start_ms() + 1).await.unwrap().price_book_version, 2);
            assert_eq!(draft(&store, "org", november.next(), after).await.unwrap().price_book_version, 1);
            assert_eq!(store.invoice("org", "2026-11").await.unwrap().unwrap().0.price_book_version, 1);

            // A spend alert under December's cost so far is crossed once and mailed.
            let outbox = dir.join(format!("outbox-{}", uuid::Uuid::new_v4()));
            let mailer =
                Mailer::Outbox(crate::mailer::Outbox::new(outbox.clone(), "Omnibus <billing@localhost>".into()));
            for (id, threshold) in [("a-low", 1), ("a-high", 1_000_000_000)] {
                let alert = crate::store::SpendAlertRow {
                    id: id.into(),
                    organization_id: "org".into(),
                    threshold,
                    created_at: after,
                };
                assert!(store.insert_spend_alert(&alert).await.unwrap());
            }
            assert_eq!(check_spend_alerts(&store, &mailer, after).await.unwrap(), 1);
            assert_eq!(check_spend_alerts(&store, &mailer, after + 60_000).await.unwrap(), 0, "once a month");
            let events = store.spend_alert_events("org").await.unwrap();
            assert_eq!(
                events.iter().map(|e| (e.alert_id.as_str(), e.period.as_str())).collect::<Vec<_>>(),
                vec![("a-low", "2026-12")]
            );
            let mails: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
            assert_eq!(mails.len(), 1, "mailed to the owner");
            let mail = std::fs::read_to_string(mails[0].as_ref().unwrap().path()).unwrap();
            assert!(mail.contains("owner@example.com") && mail.contains("2026-12"), "{mail}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn money_reads_as_money() {
        assert_eq!(money(123_456, "USD"), "1234.56 USD");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
    }
}
