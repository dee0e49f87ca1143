//! The enforcement figures kept per office, classification and period.
//!
//! Money columns hold exact decimal strings, so they are added up in Rust, not in SQL: a row
//! is created if missing, then read under a row lock (PostgreSQL; SQLite has one writer) and
//! written back. Rows are taken in key order, so two transactions never wait on each other
//! in a circle.

use diesel::prelude::*;

use super::schema::case_stats;
use super::DbConn;

#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_stats)]
pub struct StatsRow {
    pub agency_code: String,
    pub classification: String,
    pub period_kind: String,
    pub period: i32,
    pub received_cases: i64,
    pub received_due: String,
    pub closed_cases: i64,
    pub completed_cases: i64,
    pub terminated_cases: i64,
    pub entrusted_cases: i64,
    pub closed_remaining: String,
    pub collected: String,
}

/// The key of a row: period kind, period, office, classification.
pub type StatsKey = (String, i32, String, String);

/// Reads the row of `key` for update, creating it (all zero) first if it is missing.
pub fn lock(conn: &mut DbConn, key: &StatsKey) -> QueryResult<StatsRow> {
    let (kind, period, agency, class) = key;
    let zero = StatsRow {
        period_kind: kind.clone(),
        period: *period,
        agency_code: agency.clone(),
        classification: class.clone(),
        received_due: "0".into(),
        closed_remaining: "0".into(),
        collected: "0".into(),
        ..StatsRow::default()
    };
    let row = case_stats::table.find((kind, period, agency, class));
    // The row lock is PostgreSQL's; SQLite has one writer.
    match conn {
        DbConn::Pg(c) => {
            diesel::insert_into(case_stats::table).values(&zero).on_conflict_do_nothing().execute(c)?;
            row.select(StatsRow::as_select()).for_update().get_result(c)
        }
        DbConn::Sqlite(c) => {
            diesel::insert_into(case_stats::table).values(&zero).on_conflict_do_nothing().execute(c)?;
            row.select(StatsRow::as_select()).get_result(c)
        }
    }
}

/// Writes back a row read by `lock`.
pub fn store(conn: &mut DbConn, row: &StatsRow) -> QueryResult<()> {
    diesel::update(case_stats::table.find((
        &row.period_kind,
        row.period,
        &row.agency_code,
        &row.classification,
    )))
    .set((
        case_stats::received_cases.eq(row.received_cases),
        case_stats::received_due.eq(&row.received_due),
        case_stats::closed_cases.eq(row.closed_cases),
        case_stats::completed_cases.eq(row.completed_cases),
        case_stats::terminated_cases.eq(row.terminated_cases),
        case_stats::entrusted_cases.eq(row.entrusted_cases),
        case_stats::closed_remaining.eq(&row.closed_remaining),
        case_stats::collected.eq(&row.collected),
    ))
    .execute(conn)
    .map(|_| ())
}

/// The rows of one period kind in `[from, until)`, for the offices given (all when `None`).
pub fn between(
    conn: &mut DbConn,
    kind: &str,
    from: i32,
    until: i32,
    agencies: Option<&[String]>,
) -> QueryResult<Vec<StatsRow>> {
    let mut q = case_stats::table
        .filter(case_stats::period_kind.eq(kind.to_owned()))
        .filter(case_stats::period.ge(from))
        .filter(case_stats::period.lt(until))
        .select(StatsRow::as_select())
        .into_boxed();
    if let Some(agencies) = agencies {
        q = q.filter(case_stats::agency_code.eq_any(agencies.to_vec()));
    }
    q.load(conn)
}
