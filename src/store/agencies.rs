//! Agencies as stored.

use diesel::prelude::*;

use super::schema::agencies;
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agencies)]
pub struct AgencyRow {
    pub code: String,
    pub kind: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConn, row: &AgencyRow) -> QueryResult<()> {
    diesel::insert_into(agencies::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, code: &str) -> QueryResult<Option<AgencyRow>> {
    at_most_one(native!(conn, |c| agencies::table.find(code).select(AgencyRow::as_select()).load(c)))
}

/// The agencies of these codes that exist, each once. One lookup a code: a party list is
/// short, and a lookup by key keeps its prepared statement where `IN (...)` cannot.
pub fn find_many(conn: &mut DbConn, codes: &[&str]) -> QueryResult<Vec<AgencyRow>> {
    let codes: std::collections::BTreeSet<&str> = codes.iter().copied().collect();
    let mut found = Vec::with_capacity(codes.len());
    for code in codes {
        found.extend(find(conn, code)?);
    }
    Ok(found)
}

/// A page of agencies ordered by code, after `cursor` when given.
pub fn list(
    conn: &mut DbConn,
    kind: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AgencyRow>> {
    let mut query = agencies::table.select(AgencyRow::as_select()).into_boxed();
    if let Some(kind) = kind {
        query = query.filter(agencies::kind.eq(kind.to_owned()));
    }
    if let Some(cursor) = cursor {
        query = query.filter(agencies::code.gt(cursor.to_owned()));
    }
    query.order(agencies::code.asc()).limit(limit).load(conn)
}

/// Every agency's code, kind and parent: the tree the reports and case access walk.
pub fn tree(conn: &mut DbConn) -> QueryResult<Vec<(String, String, Option<String>)>> {
    agencies::table.select((agencies::code, agencies::kind, agencies::parent_code)).load(conn)
}
