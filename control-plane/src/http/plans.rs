//! The plan catalogue over REST: public, so a price list can be read before
//! signing up. Reads `crate::plans`; knows nothing of instances.

use omnibus_api::rest::{self, DurabilityMode, PlanDurability, PlanPage, Price, Problem};

use super::extract::{ApiQuery, PageParams, paginate};
use crate::error::{ApiError, ApiResult};
use crate::plans::{self, Durability, PLANS};

#[utoipa::path(get, path = "/v1/plans", tag = "plans", params(PageParams),
    responses(
        (status = 200, description = "The plans an instance can be created on, cheapest first; no login needed", body = PlanPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(ApiQuery(params): ApiQuery<PageParams>) -> ApiResult<axum::Json<PlanPage>> {
    let page = params.page()?;
    let start = match page.after.as_deref() {
        None => 0,
        Some(after) => PLANS
            .iter()
            .position(|plan| plan.name == after)
            .map(|at| at + 1)
            .ok_or_else(|| ApiError::validation("page_token", "page_token is not one this API issued"))?,
    };
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    let rows: Vec<&plans::Plan> = PLANS.iter().skip(start).take(size.saturating_add(1)).collect();
    let (rows, next_page_token) = paginate(rows, page.size, |plan| plan.name);
    Ok(axum::Json(PlanPage { items: rows.into_iter().map(to_api).collect(), next_page_token }))
}

fn to_api(plan: &plans::Plan) -> rest::Plan {
    let durability = match plan.durability {
        Durability::Fsync => PlanDurability { mode: DurabilityMode::Fsync, flush_interval_ms: None },
        Durability::Interval { flush_interval_ms } => {
            PlanDurability { mode: DurabilityMode::Interval, flush_interval_ms: Some(flush_interval_ms) }
        }
    };
    rest::Plan {
        name: plan.name.to_owned(),
        price: Price {
            amount_cents: plan.price_cents_per_month,
            currency: "USD".to_owned(),
            period: "month".to_owned(),
        },
        durability,
        mqtt: plan.mqtt.into(),
        kafka: plan.kafka.into(),
        rates: plan.rates.into(),
    }
}
