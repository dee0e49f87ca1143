//! Remembered answers to requests that carried an `Idempotency-Key`.

use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyRow {
    pub subject: String,
    pub key: String,
    /// SHA-256 of the method, path and canonical body of the first request.
    pub fingerprint: String,
    /// 0 while the first request is in its transaction.
    pub status: i32,
    pub body: String,
    pub created_at: i64,
}

pub fn find(conn: &mut DbConn, subject: &str, key: &str) -> QueryResult<Option<IdempotencyRow>> {
    at_most_one(native!(conn, |c| idempotency_keys::table
        .find((subject, key))
        .select(IdempotencyRow::as_select())
        .load(c)))
}

/// Claims a key for a request; a concurrent claim of the same key waits on this row and then
/// fails with a unique violation.
pub fn claim(conn: &mut DbConn, row: &IdempotencyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(row).execute(conn).map(|_| ())
}

/// Keeps the first answer to a request that carried a key.
pub fn complete(conn: &mut DbConn, subject: &str, key: &str, status: i32, body: &str) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((subject, key)))
        .set((idempotency_keys::status.eq(status), idempotency_keys::body.eq(body)))
        .execute(conn)
        .map(|_| ())
}

/// Removes the keys claimed before `before`, with their answers; how many.
pub fn forget_before(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))).execute(conn)
}
