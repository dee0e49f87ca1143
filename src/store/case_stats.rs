//! The enforcement figures kept per office, classification and period.
//!
//! Money columns hold exact decimal strings, so they are added up in Rust, not in SQL: a row
//! is created if missing, then read under a row lock (PostgreSQL; SQLite has one writer) and
//! written back. Rows are taken in key order, so two transactions never wait on each other
//! in a circle.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::schema::case_stats;
use super::DbConn;

#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable, Insertable, QueryableByName)]
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
    let (p, lock) = match conn {
        DbConn::Pg(_) => ('$', " FOR UPDATE"),
        DbConn::Sqlite(_) => ('?', ""),
    };
    diesel::sql_query(format!(
        "INSERT INTO case_stats (period_kind, period, agency_code, classification, received_cases, \
         received_due, closed_cases, completed_cases, terminated_cases, entrusted_cases, \
         closed_remaining, collected) VALUES ({p}1, {p}2, {p}3, {p}4, 0, '0', 0, 0, 0, 0, '0', '0') \
         ON CONFLICT DO NOTHING"
    ))
    .bind::<Text, _>(kind)
    .bind::<Integer, _>(*period)
    .bind::<Text, _>(agency)
    .bind::<Text, _>(class)
    .execute(conn)?;
    diesel::sql_query(format!(
        "SELECT * FROM case_stats WHERE period_kind = {p}1 AND period = {p}2 AND agency_code = {p}3 \
         AND classification = {p}4{lock}"
    ))
    .bind::<Text, _>(kind)
    .bind::<Integer, _>(*period)
    .bind::<Text, _>(agency)
    .bind::<Text, _>(class)
    .get_result(conn)
}

/// Writes back a row read by `lock`.
pub fn store(conn: &mut DbConn, row: &StatsRow) -> QueryResult<()> {
    let p = match conn {
        DbConn::Pg(_) => '$',
        DbConn::Sqlite(_) => '?',
    };
    diesel::sql_query(format!(
        "UPDATE case_stats SET received_cases = {p}5, received_due = {p}6, closed_cases = {p}7, \
         completed_cases = {p}8, terminated_cases = {p}9, entrusted_cases = {p}10, \
         closed_remaining = {p}11, collected = {p}12 \
         WHERE period_kind = {p}1 AND period = {p}2 AND agency_code = {p}3 AND classification = {p}4"
    ))
    .bind::<Text, _>(&row.period_kind)
    .bind::<Integer, _>(row.period)
    .bind::<Text, _>(&row.agency_code)
    .bind::<Text, _>(&row.classification)
    .bind::<BigInt, _>(row.received_cases)
    .bind::<Text, _>(&row.received_due)
    .bind::<BigInt, _>(row.closed_cases)
    .bind::<BigInt, _>(row.completed_cases)
    .bind::<BigInt, _>(row.terminated_cases)
    .bind::<BigInt, _>(row.entrusted_cases)
    .bind::<Text, _>(&row.closed_remaining)
    .bind::<Text, _>(&row.collected)
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
