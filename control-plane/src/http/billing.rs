//! Billing over REST: an organization's invoices (`/v1/invoices`: the
//! drafts of months not yet final, computed as they are read, and the
//! finalized ones), its spend alerts (`/v1/spend-alerts`), and the price
//! book (`/v1/price-books`, public; new versions by platform operators at
//! `/v1/operator/price-books`). Reads `invoicing` for drafts; prices
//! nothing itself.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use omnibus_api::rest::{
    Invoice, InvoiceLine, InvoicePage, NewPriceBook, NewSpendAlert, PriceBook, PriceBookPage, Problem, SpendAlert,
    SpendAlertEvent, SpendAlertPage,
};

use super::AppState;
use super::extract::{ApiJson, ApiQuery, PageParams, paginate};
use crate::auth::{Caller, Permission, PlatformOperator};
use crate::billing::{Dimension, Period, Prices};
use crate::clock::{now_ms, parse_rfc3339, rfc3339};
use crate::error::{ApiError, ApiResult, InternalError};
use crate::invoicing::{self, Statement};
use crate::plans::PLANS;
use crate::store::{InvoiceLineRow, InvoiceRow, PriceBookRow, SpendAlertRow};

const NO_INVOICE: &str = "no invoice for that period in this organization";
const NO_ALERT: &str = "no spend alert with that id in this organization";

fn measured_in(dimension: &str) -> &'static str {
    Dimension::ALL.iter().find(|d| d.as_str() == dimension).map_or("", |d| d.measured_in())
}

fn as_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn draft_to_api(statement: &Statement, with_lines: bool) -> Invoice {
    let lines = if with_lines {
        statement
            .priced
            .lines
            .iter()
            .map(|line| InvoiceLine {
                instance_id: line.instance_id.clone(),
                instance_name: line.instance_name.clone(),
                plan: line.plan.clone(),
                dimension: line.dimension.as_str().to_owned(),
                quantity: line.quantity,
                measured_in: line.dimension.measured_in().to_owned(),
                free_quantity: line.free_quantity,
                unit: line.unit.to_owned(),
                unit_size: line.unit_size,
                unit_price_micros: line.unit_price_micros,
                amount: line.amount,
            })
            .collect()
    } else {
        Vec::new()
    };
    let period = statement.period;
    Invoice {
        id: period.to_string(),
        period: period.to_string(),
        status: "draft".to_owned(),
        currency: statement.currency.clone(),
        period_start: rfc3339(period.start_ms()),
        period_end: rfc3339(period.end_ms()),
        price_book_version: as_u64(statement.price_book_version),
        total: statement.priced.total,
        forecast_total: Some(statement.priced.forecast),
        finalized_at: None,
        lines,
    }
}

fn final_to_api(row: &InvoiceRow, lines: &[InvoiceLineRow]) -> Invoice {
    Invoice {
        id: row.period.clone(),
        period: row.period.clone(),
        status: "finalized".to_owned(),
        currency: row.currency.clone(),
        period_start: rfc3339(row.period_start),
        period_end: rfc3339(row.period_end),
        price_book_version: as_u64(row.price_book_version),
        total: as_u64(row.total),
        forecast_total: None,
        finalized_at: Some(rfc3339(row.finalized_at)),
        lines: lines
            .iter()
            .map(|line| InvoiceLine {
                instance_id: line.instance_id.clone(),
                instance_name: line.instance_name.clone(),
                plan: line.plan.clone(),
                dimension: line.dimension.clone(),
                quantity: as_u64(line.quantity),
                measured_in: measured_in(&line.dimension).to_owned(),
                free_quantity: as_u64(line.free_quantity),
                unit: line.unit.clone(),
                unit_size: as_u64(line.unit_size),
                unit_price_micros: as_u64(line.unit_price),
                amount: as_u64(line.amount),
            })
            .collect(),
    }
}

/// The months whose invoice is still a draft: this one, and the last one
/// until it is finalized (when it billed anything).
async fn open_drafts(state: &AppState, organization_id: &str, now: i64) -> ApiResult<Vec<Statement>> {
    let current = Period::containing(now);
    let mut drafts = vec![invoicing::draft(&state.store, organization_id, current, now).await?];
    let last = current.previous();
    if !state.store.invoice_finalized(organization_id, &last.to_string()).await? {
        let statement = invoicing::draft(&state.store, organization_id, last, now).await?;
        if !statement.priced.lines.is_empty() {
            drafts.push(statement);
        }
    }
    Ok(drafts)
}

#[utoipa::path(get, path = "/v1/invoices", tag = "billing", params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's invoices, newest month first (drafts first), without lines", body = InvoicePage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_invoices(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<InvoicePage>> {
    caller.require(Permission::BillingRead)?;
    let page = params.page()?;
    let mut items = Vec::new();
    if page.after.is_none() {
        for draft in open_drafts(&state, &caller.organization_id, now_ms()).await? {
            items.push(draft_to_api(&draft, false));
        }
    }
    let rows = state.store.invoices(&caller.organization_id, page.after.as_deref(), page.size + 1).await?;
    let (rows, next_page_token) = paginate(rows, page.size, |r| r.period.as_str());
    items.extend(rows.iter().map(|row| final_to_api(row, &[])));
    Ok(axum::Json(InvoicePage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "billing",
    params(("id" = String, Path, description = "The month, `YYYY-MM`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The month's invoice with its lines: final once finalized, else the draft as of now", body = Invoice),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A month in the future, or before the organization billed anything", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_invoice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Invoice>> {
    caller.require(Permission::BillingRead)?;
    let period = Period::parse(&id).ok_or_else(|| ApiError::validation("id", "id must be a month, YYYY-MM"))?;
    if let Some((row, lines)) = state.store.invoice(&caller.organization_id, &id).await? {
        return Ok(axum::Json(final_to_api(&row, &lines)));
    }
    let now = now_ms();
    if period > Period::containing(now) {
        return Err(ApiError::NotFound(NO_INVOICE));
    }
    let statement = invoicing::draft(&state.store, &caller.organization_id, period, now).await?;
    if statement.priced.lines.is_empty() && period != Period::containing(now) {
        return Err(ApiError::NotFound(NO_INVOICE));
    }
    Ok(axum::Json(draft_to_api(&statement, true)))
}

fn alert_to_api(row: &SpendAlertRow, currency: &str, events: Vec<SpendAlertEvent>) -> SpendAlert {
    SpendAlert {
        id: row.id.clone(),
        threshold: as_u64(row.threshold),
        currency: currency.to_owned(),
        created_at: rfc3339(row.created_at),
        events,
    }
}

async fn currency(state: &AppState) -> ApiResult<String> {
    Ok(state.store.price_book_at(now_ms()).await?.map_or_else(|| "USD".to_owned(), |book| book.currency))
}

#[utoipa::path(post, path = "/v1/spend-alerts", tag = "billing", request_body = NewSpendAlert,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Set; checked against the month's cost so far every minute", body = SpendAlert),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organization has an alert at that threshold", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_alert(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewSpendAlert>,
) -> ApiResult<impl IntoResponse> {
    caller.require(Permission::BillingWrite)?;
    let threshold = i64::try_from(request.threshold)
        .ok()
        .filter(|t| *t >= 1)
        .ok_or_else(|| ApiError::validation("threshold", "threshold must be at least 1 (minor units)"))?;
    let row = SpendAlertRow {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: caller.organization_id.clone(),
        threshold,
        created_at: now_ms(),
    };
    if !state.store.insert_spend_alert(&row).await? {
        return Err(ApiError::Conflict("the organization has a spend alert at that threshold".into()));
    }
    tracing::info!(alert = %row.id, threshold, by = %caller.actor, "spend alert set");
    let location = format!("/v1/spend-alerts/{}", row.id);
    let alert = alert_to_api(&row, &currency(&state).await?, Vec::new());
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(alert)))
}

#[utoipa::path(get, path = "/v1/spend-alerts", tag = "billing",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The organization's spend alerts with their crossings", body = SpendAlertPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_alerts(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<SpendAlertPage>> {
    caller.require(Permission::BillingRead)?;
    let alerts = state.store.spend_alerts(&caller.organization_id).await?;
    let events = state.store.spend_alert_events(&caller.organization_id).await?;
    let currency = currency(&state).await?;
    let items = alerts
        .iter()
        .map(|alert| {
            let mine = events
                .iter()
                .filter(|e| e.alert_id == alert.id)
                .map(|e| SpendAlertEvent {
                    period: e.period.clone(),
                    amount: as_u64(e.amount),
                    crossed_at: rfc3339(e.crossed_at),
                })
                .collect();
            alert_to_api(alert, &currency, mine)
        })
        .collect();
    Ok(axum::Json(SpendAlertPage { items, next_page_token: None }))
}

#[utoipa::path(delete, path = "/v1/spend-alerts/{id}", tag = "billing", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted, with its crossings"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::BillingWrite)?;
    state.store.spend_alert(&caller.organization_id, &id).await?.ok_or(ApiError::NotFound(NO_ALERT))?;
    if !state.store.delete_spend_alert(&caller.organization_id, &id).await? {
        return Err(ApiError::NotFound(NO_ALERT));
    }
    tracing::info!(alert = %id, by = %caller.actor, "spend alert deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn book_to_api(row: &PriceBookRow) -> ApiResult<PriceBook> {
    let prices: Prices = serde_json::from_str(&row.prices)
        .map_err(|e| InternalError::Corrupt(format!("price book {}: {e}", row.version)))?;
    Ok(PriceBook {
        version: as_u64(row.version),
        effective_from: rfc3339(row.effective_from),
        currency: row.currency.clone(),
        plans: prices.plans,
    })
}

#[utoipa::path(get, path = "/v1/price-books", tag = "billing", params(PageParams),
    responses(
        (status = 200, description = "Every version of the price book, newest first (upcoming ones included); no login needed", body = PriceBookPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_price_books(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<PriceBookPage>> {
    let page = params.page()?;
    let before = match page.after.as_deref() {
        None => None,
        Some(after) => Some(
            after
                .parse::<i64>()
                .map_err(|_| ApiError::validation("page_token", "page_token is not one this API issued"))?,
        ),
    };
    let rows = state.store.price_books(before, page.size + 1).await?;
    let versions: Vec<(String, PriceBookRow)> = rows.into_iter().map(|r| (r.version.to_string(), r)).collect();
    let (rows, next_page_token) = paginate(versions, page.size, |(v, _)| v.as_str());
    let items = rows.iter().map(|(_, row)| book_to_api(row)).collect::<ApiResult<Vec<_>>>()?;
    Ok(axum::Json(PriceBookPage { items, next_page_token }))
}

#[utoipa::path(get, path = "/v1/price-books/{version}", tag = "billing", params(("version" = u64, Path)),
    responses(
        (status = 200, description = "One version of the price book; no login needed", body = PriceBook),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_price_book(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> ApiResult<axum::Json<PriceBook>> {
    const NO_BOOK: &str = "no price book version by that number";
    let version = version.parse::<i64>().map_err(|_| ApiError::NotFound(NO_BOOK))?;
    let row = state.store.price_book(version).await?.ok_or(ApiError::NotFound(NO_BOOK))?;
    Ok(axum::Json(book_to_api(&row)?))
}

#[utoipa::path(post, path = "/v1/operator/price-books", tag = "operator", request_body = NewPriceBook,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The next version, in effect from the month it names; invoices of earlier months keep theirs", body = PriceBook),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A version starting as late or later exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_price_book(
    State(state): State<AppState>,
    operator: PlatformOperator,
    ApiJson(request): ApiJson<NewPriceBook>,
) -> ApiResult<impl IntoResponse> {
    let effective_from = parse_rfc3339(&request.effective_from)
        .ok_or_else(|| ApiError::validation("effective_from", "effective_from must be an RFC 3339 time"))?;
    let period = Period::containing(effective_from);
    if period.start_ms() != effective_from {
        return Err(ApiError::validation("effective_from", "effective_from must be the first instant of a UTC month"));
    }
    let now = now_ms();
    if period <= Period::containing(now) {
        return Err(ApiError::validation("effective_from", "effective_from must be a month after the current one"));
    }
    if request.currency.len() != 3 || !request.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::validation("currency", "currency must be an ISO 4217 code, e.g. USD"));
    }
    if let Some(missing) = PLANS.iter().find(|plan| !request.plans.contains_key(plan.name)) {
        return Err(ApiError::validation("plans", format!("plans must price every plan; {} is missing", missing.name)));
    }
    if let Some(unknown) = request.plans.keys().find(|name| !PLANS.iter().any(|plan| plan.name == name.as_str())) {
        return Err(ApiError::validation("plans", format!("{unknown} is not a plan of the catalogue")));
    }
    let prices = serde_json::to_string(&Prices { plans: request.plans })
        .map_err(|e| InternalError::Corrupt(format!("price book: {e}")))?;
    let row = state
        .store
        .insert_price_book(effective_from, &request.currency, &prices, now)
        .await?
        .ok_or_else(|| ApiError::Conflict("a price book version starting as late or later exists".into()))?;
    tracing::info!(version = row.version, effective_from = %request.effective_from, by = %operator.user_id, "price book version added");
    let location = format!("/v1/price-books/{}", row.version);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(book_to_api(&row)?)))
}
