//! Billing's rows: price book versions, finalized invoices and their lines,
//! spend alerts and their crossings. Knows nothing of prices' arithmetic
//! (`billing.rs`) or HTTP.

use sqlx::FromRow;

use super::Store;

#[derive(Debug, Clone, FromRow)]
pub struct PriceBookRow {
    pub version: i64,
    pub effective_from: i64,
    pub currency: String,
    /// JSON of `billing::Prices`.
    pub prices: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct InvoiceRow {
    pub id: String,
    pub organization_id: String,
    pub period: String,
    pub period_start: i64,
    pub period_end: i64,
    pub price_book_version: i64,
    pub currency: String,
    pub total: i64,
    pub finalized_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct InvoiceLineRow {
    pub instance_id: String,
    pub instance_name: String,
    pub plan: String,
    pub dimension: String,
    pub quantity: i64,
    pub free_quantity: i64,
    pub unit: String,
    pub unit_size: i64,
    pub unit_price: i64,
    pub amount: i64,
}

/// An invoice to finalize: its row, its lines, and the usage it bills
/// (unbilled records starting before `usage_before`, stored by `ingested_by`).
pub struct FinalInvoice<'a> {
    pub row: &'a InvoiceRow,
    pub lines: &'a [InvoiceLineRow],
    pub usage_before: i64,
    pub ingested_by: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct SpendAlertRow {
    pub id: String,
    pub organization_id: String,
    pub threshold: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct SpendAlertEventRow {
    pub alert_id: String,
    pub period: String,
    pub amount: i64,
    pub crossed_at: i64,
}

impl Store {
    /// Inserts the first price book version (effective since forever) if
    /// there is none; several control planes starting at once insert it once.
    pub async fn ensure_first_price_book(&self, currency: &str, prices: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO price_books (version, effective_from, currency, prices, created_at) \
             VALUES (1, 0, $1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(currency)
        .bind(prices)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The version in effect at `at`.
    pub async fn price_book_at(&self, at: i64) -> Result<Option<PriceBookRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT version, effective_from, currency, prices, created_at FROM price_books \
             WHERE effective_from <= $1 ORDER BY effective_from DESC LIMIT 1",
        )
        .bind(at)
        .fetch_optional(&self.pool)
        .await
    }

    /// One version.
    pub async fn price_book(&self, version: i64) -> Result<Option<PriceBookRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT version, effective_from, currency, prices, created_at FROM price_books WHERE version = $1",
        )
        .bind(version)
        .fetch_optional(&self.pool)
        .await
    }

    /// Versions below `before` (all when `None`), newest first.
    pub async fn price_books(&self, before: Option<i64>, limit: i64) -> Result<Vec<PriceBookRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT version, effective_from, currency, prices, created_at FROM price_books \
             WHERE version < $1 ORDER BY version DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Adds the next version if it starts after the latest one; `None` when
    /// it does not (or another was added first).
    pub async fn insert_price_book(
        &self,
        effective_from: i64,
        currency: &str,
        prices: &str,
        now: i64,
    ) -> Result<Option<PriceBookRow>, sqlx::Error> {
        let mut tx = self.begin().await?;
        let (latest_version, latest_from): (i64, i64) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0), COALESCE(MAX(effective_from), -1) FROM price_books")
                .fetch_one(&mut *tx)
                .await?;
        if effective_from <= latest_from {
            return Ok(None);
        }
        let row = PriceBookRow {
            version: latest_version + 1,
            effective_from,
            currency: currency.to_owned(),
            prices: prices.to_owned(),
            created_at: now,
        };
        let done = sqlx::query(
            "INSERT INTO price_books (version, effective_from, currency, prices, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(row.version)
        .bind(row.effective_from)
        .bind(&row.currency)
        .bind(&row.prices)
        .bind(row.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((done.rows_affected() == 1).then_some(row))
    }

    /// Stores a finalized invoice and marks the usage it bills, in one
    /// transaction; false when the organization's period is already
    /// finalized (by another control plane).
    pub async fn finalize_invoice(&self, invoice: &FinalInvoice<'_>) -> Result<bool, sqlx::Error> {
        let row = invoice.row;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "INSERT INTO invoices (id, organization_id, period, period_start, period_end, price_book_version, \
             currency, total, finalized_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (organization_id, period) DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(&row.period)
        .bind(row.period_start)
        .bind(row.period_end)
        .bind(row.price_book_version)
        .bind(&row.currency)
        .bind(row.total)
        .bind(row.finalized_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for (position, line) in invoice.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO invoice_lines (invoice_id, position, instance_id, instance_name, plan, dimension, \
                 quantity, free_quantity, unit, unit_size, unit_price, amount) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&row.id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(&line.instance_id)
            .bind(&line.instance_name)
            .bind(&line.plan)
            .bind(&line.dimension)
            .bind(line.quantity)
            .bind(line.free_quantity)
            .bind(&line.unit)
            .bind(line.unit_size)
            .bind(line.unit_price)
            .bind(line.amount)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE usage_records SET invoice_id = $1 WHERE organization_id = $2 AND invoice_id IS NULL \
             AND start_ms < $3 AND ingested_at <= $4",
        )
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(invoice.usage_before)
        .bind(invoice.ingested_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Organizations with something to bill for `[start, end)` (an instance
    /// period overlapping it, or usage before its end not yet billed) and no
    /// finalized invoice for `period`.
    pub async fn organizations_to_finalize(
        &self,
        period: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT organization_id FROM instance_periods \
             WHERE started_at < $1 AND (ended_at IS NULL OR ended_at > $2) \
             UNION SELECT organization_id FROM usage_records \
             WHERE organization_id IS NOT NULL AND invoice_id IS NULL AND start_ms < $1 \
             EXCEPT SELECT organization_id FROM invoices WHERE period = $3",
        )
        .bind(end)
        .bind(start)
        .bind(period)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Whether the organization's invoice for `period` is finalized.
    pub async fn invoice_finalized(&self, organization_id: &str, period: &str) -> Result<bool, sqlx::Error> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT id FROM invoices WHERE organization_id = $1 AND period = $2")
                .bind(organization_id)
                .bind(period)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// The organization's finalized invoices of periods before `before`, newest first.
    pub async fn invoices(
        &self,
        organization_id: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<InvoiceRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, organization_id, period, period_start, period_end, price_book_version, currency, total, \
             finalized_at FROM invoices WHERE organization_id = $1 AND period < $2 ORDER BY period DESC LIMIT $3",
        )
        .bind(organization_id)
        .bind(before.unwrap_or("9999-99"))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// A finalized invoice of the organization with its lines.
    pub async fn invoice(
        &self,
        organization_id: &str,
        period: &str,
    ) -> Result<Option<(InvoiceRow, Vec<InvoiceLineRow>)>, sqlx::Error> {
        let row: Option<InvoiceRow> = sqlx::query_as(
            "SELECT id, organization_id, period, period_start, period_end, price_book_version, currency, total, \
             finalized_at FROM invoices WHERE organization_id = $1 AND period = $2",
        )
        .bind(organization_id)
        .bind(period)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let lines = sqlx::query_as(
            "SELECT instance_id, instance_name, plan, dimension, quantity, free_quantity, unit, unit_size, \
             unit_price, amount FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
        )
        .bind(&row.id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((row, lines)))
    }

    /// Adds a spend alert; false when the organization has one at that threshold.
    pub async fn insert_spend_alert(&self, row: &SpendAlertRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO spend_alerts (id, organization_id, threshold, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (organization_id, threshold) DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.organization_id)
        .bind(row.threshold)
        .bind(row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The organization's spend alerts, lowest threshold first.
    pub async fn spend_alerts(&self, organization_id: &str) -> Result<Vec<SpendAlertRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, organization_id, threshold, created_at FROM spend_alerts WHERE organization_id = $1 \
             ORDER BY threshold",
        )
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await
    }

    /// One spend alert of the organization.
    pub async fn spend_alert(&self, organization_id: &str, id: &str) -> Result<Option<SpendAlertRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, organization_id, threshold, created_at FROM spend_alerts WHERE organization_id = $1 AND id = $2",
        )
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Deletes a spend alert and its crossings; false when the organization has none by that id.
    pub async fn delete_spend_alert(&self, organization_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM spend_alerts WHERE organization_id = $1 AND id = $2")
            .bind(organization_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM spend_alert_events WHERE alert_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The crossings of the organization's alerts, newest first.
    pub async fn spend_alert_events(&self, organization_id: &str) -> Result<Vec<SpendAlertEventRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT e.alert_id, e.period, e.amount, e.crossed_at FROM spend_alert_events e \
             JOIN spend_alerts a ON a.id = e.alert_id WHERE a.organization_id = $1 ORDER BY e.crossed_at DESC",
        )
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Records that an alert's threshold was crossed in `period`; false when
    /// it already was (by this or another control plane).
    pub async fn record_crossing(&self, event: &SpendAlertEventRow) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO spend_alert_events (alert_id, period, amount, crossed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (alert_id, period) DO NOTHING",
        )
        .bind(&event.alert_id)
        .bind(&event.period)
        .bind(event.amount)
        .bind(event.crossed_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Organizations with at least one spend alert.
    pub async fn organizations_with_spend_alerts(&self) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT organization_id FROM spend_alerts").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Where an organization's billing mail goes: its owners, admins and billing members.
    pub async fn billing_recipients(&self, organization_id: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND m.role IN ('owner', 'admin', 'billing') ORDER BY u.email",
        )
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(email,)| email).collect())
    }
}
