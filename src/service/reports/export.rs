//! The reports as CSV, for the spreadsheets offices keep.

use rust_decimal::Decimal;

use super::*;
use crate::error::{ApiError, ApiResult};

/// A percentage column of the CSV: a rate or gap with its two places, a target as set, or
/// blank when there is none.
fn column(v: Option<Decimal>, two_places: bool) -> String {
    match v {
        Some(d) if two_places => percent(&d),
        Some(d) => d.to_string(),
        None => String::new(),
    }
}

/// The report as CSV: the whole scope first, then each office when they were asked for.
pub fn enforcement_csv(report: &EnforcementReport) -> ApiResult<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let header = [
        "agency",
        "parent",
        "from",
        "to",
        "cases_total",
        "cases_carried_over",
        "cases_new",
        "cases_enforceable",
        "cases_not_yet_enforceable",
        "cases_unclassified",
        "cases_completed",
        "cases_terminated",
        "cases_entrusted",
        "cases_rate",
        "cases_target",
        "cases_gap",
        "money_total",
        "money_carried_over",
        "money_new",
        "money_enforceable",
        "money_not_yet_enforceable",
        "money_unclassified",
        "money_completed",
        "money_rate",
        "money_target",
        "money_gap",
    ];
    w.write_record(header).map_err(ApiError::internal)?;
    let mut row = |agency: &str, parent: &str, c: &CaseFigures, m: &MoneyFigures| {
        w.write_record([
            agency.to_owned(),
            parent.to_owned(),
            report.from.to_string(),
            report.to.to_string(),
            c.total.to_string(),
            c.carried_over.to_string(),
            c.new.to_string(),
            c.enforceable.to_string(),
            c.not_yet_enforceable.to_string(),
            c.unclassified.to_string(),
            c.completed.to_string(),
            c.terminated.to_string(),
            c.entrusted.to_string(),
            column(c.rate, true),
            column(c.target, false),
            column(c.gap, true),
            m.total.to_string(),
            m.carried_over.to_string(),
            m.new.to_string(),
            m.enforceable.to_string(),
            m.not_yet_enforceable.to_string(),
            m.unclassified.to_string(),
            m.completed.to_string(),
            column(m.rate, true),
            column(m.target, false),
            column(m.gap, true),
        ])
    };
    row(report.agency.as_deref().unwrap_or("*"), "", &report.cases, &report.money)
        .map_err(ApiError::internal)?;
    for o in report.offices.iter().flatten() {
        row(&o.agency, o.parent.as_deref().unwrap_or(""), &o.cases, &o.money).map_err(ApiError::internal)?;
    }
    finish(w)
}

/// The coordination report as CSV: a row per step and responsible agency, then a row per
/// procuracy instrument.
pub fn coordination_csv(report: &CoordinationReport) -> ApiResult<String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let (from, to) = (report.from.to_string(), report.to.to_string());
    let optional = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    w.write_record([
        "kind",
        "from",
        "to",
        "workflow",
        "deadline_or_instrument",
        "responsible_agency",
        "on_time",
        "late",
        "open_now",
        "overdue_now",
        "median_seconds",
        "p90_seconds",
        "title",
    ])
    .map_err(ApiError::internal)?;
    for s in &report.steps {
        w.write_record([
            "step".into(),
            from.clone(),
            to.clone(),
            s.workflow.clone(),
            s.deadline.clone(),
            s.responsible_agency.clone(),
            s.on_time.to_string(),
            s.late.to_string(),
            s.open_now.to_string(),
            s.overdue_now.to_string(),
            optional(s.median_seconds),
            optional(s.p90_seconds),
            s.title.clone(),
        ])
        .map_err(ApiError::internal)?;
    }
    for i in &report.procuracy_instruments {
        w.write_record([
            "instrument".into(),
            from.clone(),
            to.clone(),
            i.workflow.clone(),
            i.instrument.clone(),
            String::new(),
            i.answered_on_time.to_string(),
            i.answered_late.to_string(),
            i.unanswered.to_string(),
            i.unanswered_overdue.to_string(),
            String::new(),
            String::new(),
            String::new(),
        ])
        .map_err(ApiError::internal)?;
    }
    finish(w)
}

/// The CSV as text, after a UTF-8 byte-order mark: without it Excel reads the Vietnamese
/// letters as another code page's.
fn finish(w: ::csv::Writer<Vec<u8>>) -> ApiResult<String> {
    let bytes = w.into_inner().map_err(ApiError::internal)?;
    let text = String::from_utf8(bytes).map_err(ApiError::internal)?;
    Ok(format!("{BOM}{text}"))
}

/// The byte-order mark a CSV starts with.
pub const BOM: char = '\u{FEFF}';
