use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::problems::*;
use super::AppState;
use crate::domain::AgencyCode;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::coercion_calendar as ics;
use crate::service::reports::{self, CoordinationReport, EnforcementReport, Period, Target};

fn agency(raw: Option<&str>) -> ApiResult<Option<AgencyCode>> {
    raw.map(AgencyCode::parse).transpose().map_err(ApiError::bad_request)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnforcementQuery {
    /// The office (with those under it); absent: the caller's own, or the whole country for
    /// those who supervise.
    pub agency: Option<String>,
    /// Reporting year N: 1 October N-1 to 30 September N. The current one when nothing is given.
    pub year: Option<i32>,
    /// First day of a period of one's own (with `to`), instead of `year`.
    pub from: Option<NaiveDate>,
    /// Last day of the period, included.
    pub to: Option<NaiveDate>,
    /// Also give each office of the scope on its own.
    pub offices: Option<bool>,
    /// `csv` answers text/csv, as does `Accept: text/csv`.
    pub format: Option<Format>,
}

/// Whether the client asked for CSV, by `format` or by its Accept header.
fn wants_csv(req: &HttpRequest, format: Option<Format>) -> ApiResult<bool> {
    if let Some(f) = format {
        return Ok(f == Format::Csv);
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.is_empty() {
        return Ok(false);
    }
    let types: Vec<&str> = accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
    if types
        .iter()
        .any(|t| matches!(*t, "application/json" | "application/*" | "*/*" | "application/problem+json"))
    {
        return Ok(false);
    }
    if types.iter().any(|t| matches!(*t, "text/csv" | "text/*")) {
        return Ok(true);
    }
    Err(ApiError::new(ErrorCode::NotAcceptable, "this report is given as application/json or text/csv"))
}

/// The enforcement report: cases and money received (carried over and new), enforceable or
/// not yet, completed, the completion rates (exact, rounded half-up to two places), the
/// targets and the gap; for the office and, with `offices=true`, each office under it.
#[utoipa::path(
    get,
    operation_id = "getEnforcementReport",
    tag = "reports",
    params(EnforcementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; as text/csv, one row for the scope and one per office",
            content((EnforcementReport = "application/json"), (String = "text/csv"))),
        BadRequest, Unauthorized, NotFound, NotAcceptable, Unprocessable, Unavailable
    )
)]
#[get("/reports/enforcement")]
pub async fn enforcement(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    q: web::Query<EnforcementQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let csv = wants_csv(&req, q.format)?;
    let code = agency(q.agency.as_deref())?;
    let period = Period::parse(q.year, q.from, q.to)?;
    let offices = q.offices.unwrap_or(false);
    let counting = state.counting;
    let report = state
        .read(move |conn, _| reports::enforcement(conn, &actor, code, period, (offices, counting)))
        .await?;
    if csv {
        let body = reports::enforcement_csv(&report)?;
        let name = format!(
            "enforcement-{}-{}-{}.csv",
            report.agency.as_deref().unwrap_or("all"),
            report.from,
            report.to
        );
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
            .body(body));
    }
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublishQuery {
    /// The provincial office whose figures its head publishes; absent: the country's (admin).
    pub agency: Option<String>,
}

/// Publishes a reporting year's enforcement figures, as the records say them now, for a
/// province (its provincial office's head) or the country (an admin). From then on the report
/// of that year for that scope shows them as published, with who and when, and beside them the
/// figures the records give today, the difference and the cases behind it. Once per year and
/// scope.
#[utoipa::path(
    post,
    operation_id = "publishEnforcementReport",
    tag = "reports",
    params(("year" = i32, Path, description = "Reporting year N: 1 October N-1 to 30 September N"), PublishQuery),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The report as published", body = EnforcementReport,
            headers(("Location" = String, description = "The report of the year"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Unavailable
    )
)]
#[post("/reports/enforcement/{year}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    actor: Actor,
    year: web::Path<i32>,
    q: web::Query<PublishQuery>,
) -> ApiResult<HttpResponse> {
    let year = year.into_inner();
    let code = agency(q.agency.as_deref())?;
    let counting = state.counting;
    let report = state.write(move |conn, _| reports::publish(conn, &actor, (year, code), counting)).await?;
    let location = match &report.agency {
        Some(a) => format!("/api/v1/reports/enforcement?agency={a}&year={year}"),
        None => format!("/api/v1/reports/enforcement?year={year}"),
    };
    Ok(HttpResponse::Created().insert_header((header::LOCATION, location)).json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoordinationQuery {
    /// The agency (with those under it) whose instances are counted; absent: the caller's own,
    /// or the whole country for those who supervise.
    pub agency: Option<String>,
    /// First day of the period; with `to`. The current reporting year when both are absent.
    pub from: Option<NaiveDate>,
    /// Last day of the period, included.
    pub to: Option<NaiveDate>,
}

/// Who meets their deadlines: per workflow, deadline and responsible agency, the steps done on
/// time and late, open and overdue now, the median and 90th percentile time to each step; and
/// the procuracy's instruments issued, answered on time, late, or not at all.
#[utoipa::path(
    get,
    operation_id = "getCoordinationReport",
    tag = "reports",
    params(CoordinationQuery),
    security(("bearer" = [])),
    responses((status = 200, body = CoordinationReport), BadRequest, Unauthorized, NotFound, Unprocessable, Unavailable)
)]
#[get("/reports/coordination")]
pub async fn coordination(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<CoordinationQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let code = agency(q.agency.as_deref())?;
    let period = Period::parse(None, q.from, q.to)?;
    let report = state
        .read(move |conn, rules| reports::coordination(conn, &rules.registry, &actor, code, period))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The targets to set for an office and a reporting year, in percent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTarget {
    #[schema(value_type = String, example = "84")]
    #[serde(with = "rust_decimal::serde::str")]
    pub cases_rate: Decimal,
    #[schema(value_type = String, example = "45")]
    #[serde(with = "rust_decimal::serde::str")]
    pub money_rate: Decimal,
}

/// Sets the case and money targets (chỉ tiêu) of an office for reporting year `year`: an admin,
/// or a head of that office or of an office above it.
#[utoipa::path(
    put,
    operation_id = "setTarget",
    tag = "reports",
    request_body = SetTarget,
    params(
        ("agency" = String, Path, description = "The office's code"),
        ("year" = i32, Path, description = "The reporting year")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Target),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[put("/targets/{agency}/{year}")]
pub async fn set_target(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, i32)>,
    body: web::Json<SetTarget>,
) -> ApiResult<HttpResponse> {
    let (code, year) = path.into_inner();
    let code = AgencyCode::parse(&code).map_err(ApiError::not_found)?;
    let body = body.into_inner();
    let row = state
        .write(move |conn, _| reports::set_target(conn, &actor, code, year, body.cases_rate, body.money_rate))
        .await?;
    Ok(HttpResponse::Ok().json(Target::of(row)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoercionCalendarQuery {
    /// The agency whose operations are listed: the caller's own unless they read everything.
    pub agency: Option<String>,
}

/// The coercion operations the agency takes part in, as an iCalendar feed (RFC 5545) to
/// subscribe to; times in Asia/Ho_Chi_Minh.
#[utoipa::path(
    get,
    operation_id = "getCoercionCalendar",
    tag = "calendar",
    params(CoercionCalendarQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = String, content_type = "text/calendar"),
        BadRequest, Unauthorized, NotFound, Unavailable
    )
)]
#[get("/calendar/coercion.ics")]
pub async fn coercion_calendar(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<CoercionCalendarQuery>,
) -> ApiResult<HttpResponse> {
    let code = agency(q.into_inner().agency.as_deref())?;
    let feed = state.read(move |conn, rules| ics::feed(conn, &rules.registry, &actor, code)).await?;
    Ok(HttpResponse::Ok().content_type("text/calendar; charset=utf-8").body(feed))
}
