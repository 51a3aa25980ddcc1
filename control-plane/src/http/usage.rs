//! `GET /v1/instances/{id}/usage` and `GET /v1/usage`: metered usage as
//! time series per instance and dimension, by minute, hour or day (UTC), as
//! JSON or CSV (`format=csv` or `Accept: text/csv`). Reads what the
//! collector stored; computes nothing it bills.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use omnibus_api::rest::{Problem, UsagePoint, UsageReport, UsageSeries};
use serde::Deserialize;

use super::AppState;
use super::extract::{ApiQuery, time_param};
use crate::auth::{Caller, Permission};
use crate::clock::{now_ms, rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::store::{DIMENSIONS, UsageBucket, UsageScope};

/// Most buckets one answer may span.
const MAX_BUCKETS: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// RFC 3339; usage of records starting at or after it. Default: `to` minus a day.
    pub from: Option<String>,
    /// RFC 3339; usage of records starting before it. Default: now.
    pub to: Option<String>,
    /// `minute`, `hour` (default) or `day`, UTC.
    pub granularity: Option<String>,
    /// Only this dimension (see `UsageSeries.dimension`).
    pub dimension: Option<String>,
    /// `json` (default) or `csv`; `Accept: text/csv` also asks for CSV.
    pub format: Option<String>,
}

/// What the query asks for, checked.
struct Asked {
    from: i64,
    to: i64,
    granularity: &'static str,
    bucket_ms: i64,
    dimensions: Vec<&'static str>,
    csv: bool,
}

fn asked(query: &UsageQuery, headers: &HeaderMap) -> ApiResult<Asked> {
    let to = time_param("to", query.to.as_deref())?.unwrap_or_else(now_ms);
    let from = time_param("from", query.from.as_deref())?.unwrap_or(to - DAY_MS);
    if from >= to {
        return Err(ApiError::validation("from", "from must be before to"));
    }
    let (granularity, bucket_ms) = match query.granularity.as_deref().unwrap_or("hour") {
        "minute" => ("minute", 60_000),
        "hour" => ("hour", 3_600_000),
        "day" => ("day", DAY_MS),
        _ => return Err(ApiError::validation("granularity", "granularity must be minute, hour or day")),
    };
    if (to - from) / bucket_ms > MAX_BUCKETS {
        return Err(ApiError::validation(
            "from",
            format!("at most {MAX_BUCKETS} {granularity}s at once: narrow from..to or use a coarser granularity"),
        ));
    }
    let dimensions = match query.dimension.as_deref() {
        None => DIMENSIONS.to_vec(),
        Some(asked) => match DIMENSIONS.iter().find(|d| **d == asked) {
            Some(dimension) => vec![*dimension],
            None => {
                return Err(ApiError::validation(
                    "dimension",
                    format!("dimension must be one of: {}", DIMENSIONS.join(", ")),
                ));
            }
        },
    };
    let accepts_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|t| t.trim().starts_with("text/csv")));
    let csv = match query.format.as_deref() {
        None => accepts_csv,
        Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(ApiError::validation("format", "format must be json or csv")),
    };
    Ok(Asked { from, to, granularity, bucket_ms, dimensions, csv })
}

fn unit(dimension: &str) -> &'static str {
    match dimension {
        d if d.ends_with("_messages_in") || d.ends_with("_messages_out") => "messages",
        d if d.ends_with("_bytes_in") || d.ends_with("_bytes_out") => "bytes",
        "connection_seconds" => "connection-seconds",
        "storage_byte_seconds" => "byte-seconds",
        _ => "partition-seconds",
    }
}

/// One series per instance and dimension asked for, in bucket order.
fn report(asked: &Asked, buckets: &[UsageBucket], only: Option<&str>) -> UsageReport {
    let mut series: Vec<UsageSeries> = Vec::new();
    let mut instances: Vec<&str> = buckets.iter().map(|b| b.instance_id.as_str()).collect();
    instances.dedup();
    if let Some(only) = only.filter(|_| instances.is_empty()) {
        instances.push(only);
    }
    for instance in instances {
        for dimension in &asked.dimensions {
            let points = buckets
                .iter()
                .filter(|b| b.instance_id == instance)
                .map(|b| UsagePoint { start: rfc3339(b.start_ms), value: b.sums.get(dimension) })
                .filter(|p| p.value != 0)
                .collect();
            series.push(UsageSeries {
                instance_id: instance.to_owned(),
                dimension: (*dimension).to_owned(),
                unit: unit(dimension).to_owned(),
                points,
            });
        }
    }
    UsageReport { from: rfc3339(asked.from), to: rfc3339(asked.to), granularity: asked.granularity.to_owned(), series }
}

fn answer(asked: &Asked, report: UsageReport) -> Response {
    if !asked.csv {
        return axum::Json(report).into_response();
    }
    let mut csv = String::from("instance_id,dimension,unit,start,value\n");
    for series in &report.series {
        for point in &series.points {
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                series.instance_id, series.dimension, series.unit, point.start, point.value
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response()
}

#[utoipa::path(get, path = "/v1/instances/{id}/usage", tag = "usage", params(("id" = String, Path), UsageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The instance's usage per dimension; CSV (`instance_id,dimension,unit,start,value`) when asked",
            content((UsageReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn instance(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> ApiResult<Response> {
    caller.require(Permission::UsageRead)?;
    let asked = asked(&query, &headers)?;
    state
        .store
        .instance_in_org(&caller.organization_id, &id)
        .await?
        .ok_or(ApiError::NotFound("no instance with that id in this organization"))?;
    let scope = UsageScope::Instance { organization_id: &caller.organization_id, instance_id: &id };
    let buckets = state.store.usage_buckets(scope, asked.from, asked.to, asked.bucket_ms).await?;
    Ok(answer(&asked, report(&asked, &buckets, Some(&id))))
}

#[utoipa::path(get, path = "/v1/usage", tag = "usage", params(UsageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every instance's usage per dimension, deleted ones included; CSV when asked",
            content((UsageReport = "application/json"), (String = "text/csv"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> ApiResult<Response> {
    caller.require(Permission::UsageRead)?;
    let asked = asked(&query, &headers)?;
    let scope = UsageScope::Organization(&caller.organization_id);
    let buckets = state.store.usage_buckets(scope, asked.from, asked.to, asked.bucket_ms).await?;
    Ok(answer(&asked, report(&asked, &buckets, None)))
}
