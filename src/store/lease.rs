//! Work queues claimed under a lease: reminders to send and webhook deliveries to post.
//!
//! A node claims the due rows it will work on by writing its name and a lease end into them.
//! Rows held by a node within its lease are left alone; when the lease runs out (the node died
//! or stalled) another node may claim them. On PostgreSQL rows another node is claiming at
//! that moment are skipped, not waited for (`FOR UPDATE SKIP LOCKED`); SQLite has one writer,
//! so claims cannot interleave there.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;

/// A table of pending work with a lease (`lease_owner`, `lease_until`), due by a time column.
pub struct Queue {
    pub table: &'static str,
    pub due_column: &'static str,
}

pub const REMINDERS: Queue = Queue { table: "reminders", due_column: "fire_at" };
pub const WEBHOOK_DELIVERIES: Queue = Queue { table: "webhook_deliveries", due_column: "next_attempt_at" };

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The claim statement of `queue` for the connection's backend. Its parameters: the owner,
/// the lease end, the time it is as of, and the most rows to claim.
pub fn statement(queue: &Queue, conn: &DbConn) -> String {
    let (lock, p) = match conn {
        DbConn::Pg(_) => (" FOR UPDATE SKIP LOCKED", '$'),
        DbConn::Sqlite(_) => ("", '?'),
    };
    let Queue { table, due_column: due } = queue;
    format!(
        "UPDATE {table} SET lease_owner = {p}1, lease_until = {p}2 WHERE id IN (\
            SELECT id FROM {table} \
            WHERE status = 'pending' AND {due} <= {p}3 AND (lease_until IS NULL OR lease_until < {p}3) \
            ORDER BY {due} LIMIT {p}4{lock}) \
         RETURNING id"
    )
}

/// Claims up to `limit` pending rows of `queue` due by `now` for `owner` until `lease_until`;
/// returns their ids. Reads only the due rows, through the queue's partial index of pending
/// rows by due time.
pub fn claim(
    conn: &mut DbConn,
    queue: &Queue,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let claimed: Vec<Claimed> = diesel::sql_query(statement(queue, conn))
        .bind::<Text, _>(owner)
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
    Ok(claimed.into_iter().map(|c| c.id).collect())
}
