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
use crate::service::reports::{self, CoordinationReport, EnforcementReport, Period, Table, Target};

fn agency(raw: Option<&str>) -> ApiResult<Option<AgencyCode>> {
    raw.map(AgencyCode::parse).transpose().map_err(ApiError::bad_request)
}

/// How a report is answered: JSON, CSV with a byte-order mark, or an XLSX workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

/// The media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The bytes of an XLSX workbook.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Workbook(pub Vec<u8>);

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
    /// `csv` answers text/csv, as does `Accept: text/csv`; `xlsx` an XLSX workbook, as does
    /// `Accept` with its media type.
    pub format: Option<Format>,
}

/// The format the client asked for, by `format` or else by its Accept header.
fn format_of(req: &HttpRequest, format: Option<Format>) -> ApiResult<Format> {
    if let Some(f) = format {
        return Ok(f);
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.is_empty() {
        return Ok(Format::Json);
    }
    let types: Vec<&str> = accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
    if types
        .iter()
        .any(|t| matches!(*t, "application/json" | "application/*" | "*/*" | "application/problem+json"))
    {
        return Ok(Format::Json);
    }
    if types.iter().any(|t| matches!(*t, "text/csv" | "text/*")) {
        return Ok(Format::Csv);
    }
    if types.contains(&XLSX) {
        return Ok(Format::Xlsx);
    }
    Err(ApiError::new(
        ErrorCode::NotAcceptable,
        format!("this report is given as application/json, text/csv or {XLSX}"),
    ))
}

/// The report's table as the file asked for; nothing when JSON was.
fn file_of(format: Format, table: impl FnOnce() -> ApiResult<Table>) -> ApiResult<Option<Vec<u8>>> {
    match format {
        Format::Json => Ok(None),
        Format::Csv => Ok(Some(table()?.csv()?.into_bytes())),
        Format::Xlsx => Ok(Some(table()?.xlsx()?)),
    }
}

/// A report's file, to be saved under the report's name, its scope ("all" for the country) and
/// its period, with the extension of its format.
fn attachment(
    format: Format,
    body: Vec<u8>,
    (report, agency, from, to): (&str, Option<&str>, NaiveDate, NaiveDate),
) -> HttpResponse {
    let (content_type, extension) = match format {
        Format::Xlsx => (XLSX, "xlsx"),
        Format::Csv | Format::Json => ("text/csv; charset=utf-8", "csv"),
    };
    let name = format!("{report}-{}-{from}-{to}.{extension}", agency.unwrap_or("all"));
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(body)
}

/// The enforcement report of an office or the country.
///
/// Cases and money received (carried over and new), enforceable or not yet, completed, the
/// completion rates (exact, rounded half-up to two places), the targets and the gap; for the
/// office and, with `offices=true`, each office under it. An office reads its own and those
/// under it (404 for any other); those who supervise read any, and the country. As JSON, as
/// CSV (`format=csv` or `Accept: text/csv`) or as an XLSX workbook (`format=xlsx` or `Accept`
/// with its media type) with Vietnamese titles and the figures stored as numbers; any other
/// `Accept` is 406.
#[utoipa::path(
    get,
    operation_id = "getEnforcementReport",
    tag = "reports",
    params(EnforcementQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; as text/csv or an XLSX workbook, one row for the scope and \
            one per office, each with its name beside its code",
            content(
                (EnforcementReport = "application/json"),
                (String = "text/csv"),
                (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            ),
            headers(("Content-Disposition" = String, description = "For CSV and XLSX: an attachment and its file name"))),
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
    let format = format_of(&req, q.format)?;
    let code = agency(q.agency.as_deref())?;
    let period = Period::parse(q.year, q.from, q.to)?;
    let offices = q.offices.unwrap_or(false);
    let counting = state.counting;
    let (report, file) = state
        .read(move |conn, _| {
            let report = reports::enforcement(conn, &actor, code, period, (offices, counting))?;
            let file = file_of(format, || reports::enforcement_table(conn, &report))?;
            Ok((report, file))
        })
        .await?;
    Ok(match file {
        Some(body) => {
            attachment(format, body, ("enforcement", report.agency.as_deref(), report.from, report.to))
        }
        None => HttpResponse::Ok().json(report),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PublishQuery {
    /// The provincial office whose figures its head publishes; absent: the country's (admin).
    pub agency: Option<String>,
}

/// Publishes a reporting year's enforcement figures.
///
/// The figures as the records say them now, for a province (its provincial office's head) or
/// the country (an admin). From then on the report of that year for that scope shows them as
/// published, with who and when, and beside them the figures the records give today, the
/// difference and the cases behind it. Once per year and scope (409 after); only an ended
/// year.
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
    /// `csv` answers text/csv, as does `Accept: text/csv`; `xlsx` an XLSX workbook, as does
    /// `Accept` with its media type.
    pub format: Option<Format>,
}

/// The coordination report: who meets their deadlines.
///
/// Per workflow, deadline and responsible agency, the steps done on time and late, open and
/// overdue now, the median and 90th percentile time to each step; and the procuracy's
/// instruments issued, answered on time, late, or not at all. The same scopes as the
/// enforcement report, and the same formats: JSON, CSV or an XLSX workbook (406 for any other
/// `Accept`).
#[utoipa::path(
    get,
    operation_id = "getCoordinationReport",
    tag = "reports",
    params(CoordinationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; as text/csv or an XLSX workbook, one row per step and \
            responsible agency (its name beside its code), then one per procuracy instrument",
            content(
                (CoordinationReport = "application/json"),
                (String = "text/csv"),
                (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            ),
            headers(("Content-Disposition" = String, description = "For CSV and XLSX: an attachment and its file name"))),
        BadRequest, Unauthorized, NotFound, NotAcceptable, Unprocessable, Unavailable
    )
)]
#[get("/reports/coordination")]
pub async fn coordination(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    q: web::Query<CoordinationQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let format = format_of(&req, q.format)?;
    let code = agency(q.agency.as_deref())?;
    let period = Period::parse(None, q.from, q.to)?;
    let (report, file) = state
        .read(move |conn, rules| {
            let report = reports::coordination(conn, &rules.registry, &actor, code, period)?;
            let file = file_of(format, || reports::coordination_table(conn, &report))?;
            Ok((report, file))
        })
        .await?;
    Ok(match file {
        Some(body) => {
            attachment(format, body, ("coordination", report.agency.as_deref(), report.from, report.to))
        }
        None => HttpResponse::Ok().json(report),
    })
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

/// Sets an office's targets for a reporting year.
///
/// The case and money targets (chỉ tiêu) of an office for reporting year `year`, in percent:
/// an admin, or a head of that office or of an office above it (403 for anyone else). Setting
/// them again replaces them; the report of that year then measures its gap against them.
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
        (status = 200, description = "The targets as set", body = Target),
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

/// The coercion calendar of an agency, as iCalendar.
///
/// The coercion operations the agency takes part in, as an iCalendar feed (RFC 5545); times
/// in Asia/Ho_Chi_Minh. The caller's own agency unless they read everything (404 for
/// another's).
#[utoipa::path(
    get,
    operation_id = "getCoercionCalendar",
    tag = "calendar",
    params(CoercionCalendarQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The feed, one event per operation", body = String, content_type = "text/calendar"),
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
