//! The reports as the steering committee and the offices read them: rates against targets by
//! office and late steps by agency, as tables and bar charts, each with its CSV and its XLSX
//! workbook.

use super::i18n::Lang;
use super::layout::{columns, page};
use super::session::{ConsoleError, Signed};
use crate::domain::{today_local, AgencyCode};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::api::reports::XLSX;
use crate::http::api::AppState;
use crate::service::case_stats::reporting_year;
use crate::service::reports::{self, Counting, EnforcementReport, Period, Table};
use crate::store::DbConn;
use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    agency: Option<String>,
    year: Option<i32>,
}

/// The report's agency: the one asked for, else the enforcement office of the user's province
/// when there is one (`BCD-HN` reads `THADS-HN`), else the whole scope the user may read.
fn report_agency(q: &ReportQuery, lang: Lang) -> Result<Option<AgencyCode>, ConsoleError> {
    match q.agency.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => AgencyCode::parse(&a.to_uppercase())
            .map(Some)
            .map_err(|r| ConsoleError::Api(ApiError::bad_request(r), lang)),
        None => Ok(None),
    }
}

/// One report, of the agency asked for; unasked, of the province's office when the user may
/// read it, else of all the user may read.
fn in_scope<T>(
    conn: &mut DbConn,
    actor: &Actor,
    asked: Option<AgencyCode>,
    report: impl Fn(&mut DbConn, Option<AgencyCode>) -> ApiResult<T>,
) -> ApiResult<T> {
    if asked.is_some() {
        return report(conn, asked);
    }
    if let Some(office) = province_office(conn, actor)? {
        match report(conn, Some(office)) {
            Err(e) if e.code == ErrorCode::NotFound => {}
            other => return other,
        }
    }
    report(conn, None)
}

/// Reads, on one connection, what `report` makes of the query's agency and reporting year.
async fn read_report<T: Send + 'static>(
    state: &AppState,
    signed: &Signed,
    q: &ReportQuery,
    report: impl Fn(&mut DbConn, &Actor, Option<AgencyCode>, Period) -> ApiResult<T> + Send + 'static,
) -> Result<T, ConsoleError> {
    let lang = signed.lang;
    let asked = report_agency(q, lang)?;
    let year = q.year.unwrap_or_else(|| reporting_year(today_local()));
    let actor = signed.actor.clone();
    state
        .read(move |conn, _| {
            let period = Period::parse(Some(year), None, None)?;
            in_scope(conn, &actor, asked, |conn, agency| report(conn, &actor, agency, period))
        })
        .await
        .map_err(ConsoleError::api(lang))
}

/// The enforcement report of a scope with each office, counted as the server is set to.
fn enforcement_of(
    counting: Counting,
) -> impl Fn(&mut DbConn, &Actor, Option<AgencyCode>, Period) -> ApiResult<EnforcementReport> + Send + 'static
{
    move |conn, actor, agency, period| reports::enforcement(conn, actor, agency, period, (true, counting))
}

/// The enforcement office of the province the user's agency is of, by the codes' suffix.
fn province_office(conn: &mut DbConn, actor: &Actor) -> ApiResult<Option<AgencyCode>> {
    let Some((_, province)) = actor.agency.as_str().split_once('-') else { return Ok(None) };
    let code = format!("THADS-{province}");
    match crate::store::agencies::find(conn, &code)? {
        Some(row) if row.kind == "enforcement" => Ok(AgencyCode::parse(&code).ok()),
        _ => Ok(None),
    }
}

/// The width in pixels of a bar of `rate` percent over a bar of 300: three pixels a percent.
fn bar(rate: Option<Decimal>) -> Decimal {
    (rate.unwrap_or_default().clamp(Decimal::ZERO, Decimal::ONE_HUNDRED) * Decimal::from(3)).round_dp(1)
}

/// Horizontal bars of a rate per row, with the target as a mark: an SVG drawn on the server.
fn rate_chart(title: &str, rows: &[(String, Option<Decimal>, Option<Decimal>)], lang: Lang) -> Markup {
    const LABEL: i64 = 130;
    const BAR: i64 = 300;
    const ROW: i64 = 22;
    let height = ROW * rows.len() as i64 + 24;
    let shown = |r: &Option<Decimal>| r.map_or("—".into(), |r| lang.money(&reports::percent(&r)));
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
                viewBox={ "0 0 " (LABEL + BAR + 70) " " (height) } width="100%" {
                @for (n, (label, rate, target)) in rows.iter().enumerate() {
                    @let y = ROW * n as i64 + 4;
                    @let below = matches!((rate, target), (Some(r), Some(t)) if r < t);
                    text x="0" y=(y + 14) font-size="12" { (label) }
                    rect x=(LABEL) y=(y) width=(BAR) height="16" fill="#eef1f5" {}
                    rect x=(LABEL) y=(y) width=(bar(*rate)) height="16" fill=(if below { "#b3261e" } else { "#1d6b3a" }) {
                        title { (label) ": " (shown(rate)) "%" }
                    }
                    @if target.is_some() {
                        @let x = Decimal::from(LABEL) + bar(*target);
                        line x1=(x) x2=(x) y1=(y - 2) y2=(y + 18) stroke="#111" stroke-width="2" {}
                    }
                    text x=(LABEL + BAR + 6) y=(y + 13) font-size="12" { (shown(rate)) "%" }
                }
                text x=(LABEL) y=(height - 4) font-size="11" fill="#555" { (lang.t("target_mark")) }
            }
        }
    }
}

/// Horizontal bars of counts per agency: late and overdue steps.
fn count_chart(title: &str, rows: &[(String, i64)]) -> Markup {
    const LABEL: i64 = 130;
    const BAR: i64 = 300;
    const ROW: i64 = 22;
    let most = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let height = ROW * rows.len() as i64 + 8;
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
                viewBox={ "0 0 " (LABEL + BAR + 50) " " (height) } width="100%" {
                @for (n, (label, count)) in rows.iter().enumerate() {
                    @let y = ROW * n as i64 + 4;
                    @let w = BAR * count / most;
                    text x="0" y=(y + 14) font-size="12" { (label) }
                    rect x=(LABEL) y=(y) width=(w) height="16" fill="#b3261e" { title { (label) ": " (count) } }
                    text x=(LABEL + w + 6) y=(y + 13) font-size="12" { (count) }
                }
            }
        }
    }
}

#[get("/reports")]
pub async fn reports_page(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    // Both reports of one scope: the coordination report's is the enforcement report's.
    let registry = state.registry.clone();
    let enforcement_of = enforcement_of(state.counting);
    let (enforcement, coordination) = read_report(&state, &signed, &q, move |conn, actor, agency, period| {
        let enforcement = enforcement_of(conn, actor, agency, period)?;
        let scope =
            enforcement.agency.as_deref().map(AgencyCode::parse).transpose().map_err(ApiError::internal)?;
        Ok((enforcement, reports::coordination(conn, &registry, actor, scope, period)?))
    })
    .await?;
    let scope = enforcement.agency.clone().unwrap_or_default();
    let year = enforcement.year.unwrap_or_else(|| reporting_year(today_local()));
    let query = format!("agency={scope}&year={year}");
    let offices = enforcement.offices.clone().unwrap_or_default();
    let cases_rows: Vec<_> =
        offices.iter().map(|o| (o.agency.clone(), o.cases.rate, o.cases.target)).collect();
    let money_rows: Vec<_> =
        offices.iter().map(|o| (o.agency.clone(), o.money.rate, o.money.target)).collect();
    let mut late_by_agency: std::collections::BTreeMap<String, i64> = Default::default();
    for s in &coordination.steps {
        *late_by_agency.entry(s.responsible_agency.clone()).or_default() += s.late + s.overdue_now;
    }
    let late_rows: Vec<(String, i64)> = late_by_agency.into_iter().filter(|(_, n)| *n > 0).collect();
    let e = &enforcement;
    Ok(page(
        lang,
        Some(&signed),
        lang.t("reports"),
        html! {
            h1 { (lang.t("reports")) }
            form.filters method="get" action="/console/reports" {
                label for="agency" { (lang.t("office")) }
                input type="text" id="agency" name="agency" value=(scope) maxlength="32" autocapitalize="characters";
                label for="year" { (lang.t("reporting_year")) }
                input type="number" id="year" name="year" value=(year) min="2000" max="2100";
                button type="submit" { (lang.t("show")) }
            }
            section.card aria-labelledby="enforcement" {
                h2 #enforcement { (lang.t("enforcement_report")) " " span.muted { (lang.day(&e.from.to_string())) " – " (lang.day(&e.to.to_string())) } }
                p {
                    a href={ "/console/reports/enforcement.csv?" (query) } download { (lang.t("download_csv")) }
                    " · "
                    a href={ "/console/reports/enforcement.xlsx?" (query) } download { (lang.t("download_xlsx")) }
                }
                table.stack {
                    (columns(lang, &["office", "cases_enforceable", "cases_completed", "cases_rate", "money_enforceable", "money_completed", "money_rate"]))
                    tbody {
                        @for (agency, c, m) in std::iter::once((format!("{} {scope}", lang.t("total")), &e.cases, &e.money)).chain(offices.iter().map(|o| (o.agency.clone(), &o.cases, &o.money))) {
                            tr {
                                th scope="row" data-label=(lang.t("office")) { (agency) }
                                td data-label=(lang.t("cases_enforceable")) { (lang.money(&c.enforceable.to_string())) }
                                td data-label=(lang.t("cases_completed")) { (lang.money(&c.completed.to_string())) }
                                td.below[matches!((c.rate, c.target), (Some(r), Some(t)) if r < t)] data-label=(lang.t("cases_rate")) {
                                    (c.rate.map_or("—".into(), |r| lang.money(&reports::percent(&r)))) "%"
                                    @if let Some(t) = c.target { " / " (lang.money(&t.to_string())) "%" }
                                }
                                td data-label=(lang.t("money_enforceable")) { (lang.money(&m.enforceable.to_string())) }
                                td data-label=(lang.t("money_completed")) { (lang.money(&m.completed.to_string())) }
                                td.below[matches!((m.rate, m.target), (Some(r), Some(t)) if r < t)] data-label=(lang.t("money_rate")) {
                                    (m.rate.map_or("—".into(), |r| lang.money(&reports::percent(&r)))) "%"
                                    @if let Some(t) = m.target { " / " (lang.money(&t.to_string())) "%" }
                                }
                            }
                        }
                    }
                }
                @if !offices.is_empty() {
                    (rate_chart(lang.t("cases_rate"), &cases_rows, lang))
                    (rate_chart(lang.t("money_rate"), &money_rows, lang))
                }
            }
            section.card aria-labelledby="coordination" {
                h2 #coordination { (lang.t("coordination_report")) }
                p {
                    a href={ "/console/reports/coordination.csv?" (query) } download { (lang.t("download_csv")) }
                    " · "
                    a href={ "/console/reports/coordination.xlsx?" (query) } download { (lang.t("download_xlsx")) }
                }
                @if late_rows.is_empty() { p.muted { (lang.t("no_late_steps")) } } @else {
                    (count_chart(lang.t("late_steps_by_agency"), &late_rows))
                }
                table.stack {
                    (columns(lang, &["workflow", "deadlines", "responsible", "on_time", "late", "overdue_now"]))
                    tbody {
                        @for s in &coordination.steps {
                            tr.overdue[s.overdue_now > 0] {
                                td data-label=(lang.t("workflow")) { (super::inbox::workflow_title(&state.registry, lang, &s.workflow)) }
                                td data-label=(lang.t("deadlines")) { (super::inbox::deadline_title(&state.registry, lang, &s.workflow, &s.deadline, &s.title)) }
                                td data-label=(lang.t("responsible")) { (s.responsible_agency) }
                                td data-label=(lang.t("on_time")) { (s.on_time) }
                                td data-label=(lang.t("late")) { (s.late) }
                                td data-label=(lang.t("overdue_now")) { (s.overdue_now) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// A report's table as a file: CSV or, with `xlsx`, an XLSX workbook.
fn download(table: &Table, xlsx: bool, stem: String, lang: Lang) -> Result<HttpResponse, ConsoleError> {
    let (content_type, name, body) = if xlsx {
        (XLSX, format!("{stem}.xlsx"), table.xlsx())
    } else {
        ("text/csv; charset=utf-8", format!("{stem}.csv"), table.csv().map(String::into_bytes))
    };
    let body = body.map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(body))
}

/// The enforcement report of the query's scope and year, as a file.
async fn enforcement_file(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
    xlsx: bool,
) -> Result<HttpResponse, ConsoleError> {
    let lang = signed.lang;
    let report_of = enforcement_of(state.counting);
    let (report, table) = read_report(&state, &signed, &q, move |conn, actor, agency, period| {
        let report = report_of(conn, actor, agency, period)?;
        let table = reports::enforcement_table(conn, &report)?;
        Ok((report, table))
    })
    .await?;
    let stem = format!(
        "enforcement-{}-{}",
        report.agency.as_deref().unwrap_or("all"),
        report.year.unwrap_or_default()
    );
    download(&table, xlsx, stem, lang)
}

/// The coordination report of the query's scope and year, as a file.
async fn coordination_file(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
    xlsx: bool,
) -> Result<HttpResponse, ConsoleError> {
    let lang = signed.lang;
    let registry = state.registry.clone();
    let (report, table) = read_report(&state, &signed, &q, move |conn, actor, agency, period| {
        let report = reports::coordination(conn, &registry, actor, agency, period)?;
        let table = reports::coordination_table(conn, &report)?;
        Ok((report, table))
    })
    .await?;
    let stem =
        format!("coordination-{}-{}-{}", report.agency.as_deref().unwrap_or("all"), report.from, report.to);
    download(&table, xlsx, stem, lang)
}

#[get("/reports/enforcement.csv")]
pub async fn enforcement_csv(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    enforcement_file(state, signed, q, false).await
}

#[get("/reports/enforcement.xlsx")]
pub async fn enforcement_xlsx(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    enforcement_file(state, signed, q, true).await
}

#[get("/reports/coordination.csv")]
pub async fn coordination_csv(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    coordination_file(state, signed, q, false).await
}

#[get("/reports/coordination.xlsx")]
pub async fn coordination_xlsx(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    coordination_file(state, signed, q, true).await
}
