//! Reminders of deadlines: rows with a fire time, claimed under a lease before they are sent,
//! so that two nodes never send one twice and a node that dies leaves it to another.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::reminders;
use super::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reminders)]
pub struct ReminderRow {
    pub id: String,
    pub deadline_id: String,
    /// `before`, `due` or `escalation`.
    pub kind: String,
    pub working_days_before: Option<i32>,
    pub fire_at: i64,
    /// `pending`, `sent` or `cancelled`.
    pub status: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub sent_at: Option<i64>,
}

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const CANCELLED: &str = "cancelled";

pub fn insert(conn: &mut DbConn, row: &ReminderRow) -> QueryResult<()> {
    diesel::insert_into(reminders::table).values(row).execute(conn).map(|_| ())
}

/// Cancels the reminders of a deadline that have not gone out.
pub fn cancel_pending(conn: &mut DbConn, deadline_id: &str) -> QueryResult<()> {
    diesel::update(
        reminders::table.filter(reminders::deadline_id.eq(deadline_id)).filter(reminders::status.eq(PENDING)),
    )
    .set(reminders::status.eq(CANCELLED))
    .execute(conn)
    .map(|_| ())
}

pub fn of_deadline(conn: &mut DbConn, deadline_id: &str) -> QueryResult<Vec<ReminderRow>> {
    reminders::table
        .filter(reminders::deadline_id.eq(deadline_id))
        .order((reminders::fire_at.asc(), reminders::id.asc()))
        .select(ReminderRow::as_select())
        .load(conn)
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Claims up to `limit` due reminders for `owner` until `lease_until`: pending, due by `now`,
/// and not leased to a node that is still within its lease. Reads only the due rows, by
/// index; on PostgreSQL rows another node is claiming are skipped, not waited for.
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let claimed: Vec<Claimed> = match conn {
        DbConn::Pg(_) => diesel::sql_query(
            "UPDATE reminders SET lease_owner = $1, lease_until = $2 WHERE id IN (\
                SELECT id FROM reminders \
                WHERE status = 'pending' AND fire_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
                ORDER BY fire_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind::<Text, _>(owner)
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?,
        // SQLite has one writer at a time: the claim cannot interleave with another.
        DbConn::Sqlite(_) => diesel::sql_query(
            "UPDATE reminders SET lease_owner = ?, lease_until = ? WHERE id IN (\
                SELECT id FROM reminders \
                WHERE status = 'pending' AND fire_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
                ORDER BY fire_at LIMIT ?) \
             RETURNING id",
        )
        .bind::<Text, _>(owner)
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn)?,
    };
    Ok(claimed.into_iter().map(|c| c.id).collect())
}

/// The reminder if `owner` still holds it and it has not gone out.
pub fn held(conn: &mut DbConn, id: &str, owner: &str) -> QueryResult<Option<ReminderRow>> {
    reminders::table
        .find(id)
        .filter(reminders::status.eq(PENDING))
        .filter(reminders::lease_owner.eq(owner))
        .select(ReminderRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a held reminder sent or cancelled; false if `owner` no longer holds it (another
/// node took it over), and then the caller's transaction must be rolled back.
pub fn finish(conn: &mut DbConn, id: &str, owner: &str, status: &str, at: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        reminders::table
            .find(id)
            .filter(reminders::status.eq(PENDING))
            .filter(reminders::lease_owner.eq(owner)),
    )
    .set((reminders::status.eq(status), reminders::sent_at.eq(at)))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Moves the pending reminders of a deadline by `delta` microseconds (after a suspension).
pub fn cancel_and_replace(
    conn: &mut DbConn,
    deadline_id: &str,
    replacements: &[ReminderRow],
) -> QueryResult<()> {
    cancel_pending(conn, deadline_id)?;
    for r in replacements {
        insert(conn, r)?;
    }
    Ok(())
}
