//! Enforcement reports as published, and the changes to cases recorded since.

use diesel::prelude::*;

use super::schema::{case_events, cases, published_reports};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = published_reports)]
pub struct PublishedRow {
    pub year: i32,
    /// The agency reported on, with the offices under it; empty for the whole country.
    pub scope: String,
    /// The report as published, JSON.
    pub report: String,
    pub published_by_sub: String,
    pub published_by_name: String,
    pub published_by_agency: String,
    pub published_at: i64,
}

pub fn find(conn: &mut DbConn, year: i32, scope: &str) -> QueryResult<Option<PublishedRow>> {
    at_most_one(native!(conn, |c| published_reports::table
        .find((year, scope))
        .select(PublishedRow::as_select())
        .load(c)))
}

pub fn insert(conn: &mut DbConn, row: &PublishedRow) -> QueryResult<()> {
    diesel::insert_into(published_reports::table).values(row).execute(conn).map(|_| ())
}

/// A change to a case recorded after a time: the case, its office and number, and the change.
#[derive(Debug, Clone, Queryable)]
pub struct LaterChange {
    pub case_id: String,
    pub agency_code: String,
    pub number: String,
    pub kind: String,
    pub occurred_at: i64,
}

/// The changes recorded after `after` to cases received on or before `received_by` (those a
/// year ending then counts), of `agencies` (all when none), in time order; at most `limit`.
pub fn changes_since(
    conn: &mut DbConn,
    after: i64,
    received_by: &str,
    agencies: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<LaterChange>> {
    native!(conn, |c| {
        let mut query = case_events::table
            .inner_join(cases::table)
            .filter(case_events::occurred_at.gt(after))
            .filter(cases::received_on.le(received_by.to_owned()))
            .select((
                cases::id,
                cases::agency_code,
                cases::number,
                case_events::kind,
                case_events::occurred_at,
            ))
            .order((case_events::occurred_at.asc(), case_events::case_id.asc(), case_events::seq.asc()))
            .limit(limit)
            .into_boxed();
        if let Some(agencies) = agencies {
            query = query.filter(cases::agency_code.eq_any(agencies.to_vec()));
        }
        query.load(c)
    })
}
