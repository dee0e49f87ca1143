//! Reminders of deadlines: rows with a fire time, claimed under a lease before they are sent,
//! so that two nodes never send one twice and a node that dies leaves it to another.

use diesel::prelude::*;

use super::fixed::{insert_rows, Bind, Sink};
use super::schema::reminders;
use super::{at_most_one, DbConn};
use crate::engine::plan::ReminderKind;

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

/// Inserts reminders, all in one statement.
pub fn insert_all(to: &mut impl Sink, rows: &[ReminderRow]) -> QueryResult<()> {
    let binds: Vec<Bind<'_>> = rows
        .iter()
        .flat_map(|row| {
            [
                (&row.id).into(),
                (&row.deadline_id).into(),
                (&row.kind).into(),
                row.working_days_before.into(),
                row.fire_at.into(),
                (&row.status).into(),
                (&row.lease_owner).into(),
                row.lease_until.into(),
                row.sent_at.into(),
            ]
        })
        .collect();
    insert_rows(
        to,
        "INSERT INTO reminders (id, deadline_id, kind, working_days_before, fire_at, status, \
         lease_owner, lease_until, sent_at)",
        9,
        &binds,
    )
}

/// Cancels the reminders of a deadline that have not gone out. The statuses are written into
/// the text, not bound: SQLite prepares a statement again at every binding of a value that
/// decides whether a partial index (`reminders_due`, of pending reminders) is touched.
pub fn cancel_pending(to: &mut impl Sink, deadline_id: &str) -> QueryResult<()> {
    to.write(
        "UPDATE reminders SET status = 'cancelled' WHERE deadline_id = ? AND status = 'pending'",
        &[deadline_id.into()],
    )
}

pub fn of_deadline(conn: &mut DbConn, deadline_id: &str) -> QueryResult<Vec<ReminderRow>> {
    native!(conn, |c| reminders::table
        .filter(reminders::deadline_id.eq(deadline_id))
        .order((reminders::fire_at.asc(), reminders::id.asc()))
        .select(ReminderRow::as_select())
        .load(c))
}

/// The kinds of the reminders of a deadline that have gone out.
pub fn sent_kinds(conn: &mut DbConn, deadline_id: &str) -> QueryResult<Vec<ReminderKind>> {
    let kinds: Vec<String> = native!(conn, |c| reminders::table
        .filter(reminders::deadline_id.eq(deadline_id))
        .filter(reminders::status.eq(SENT))
        .select(reminders::kind)
        .load(c))?;
    let all = [ReminderKind::Before, ReminderKind::Due, ReminderKind::Escalation];
    Ok(kinds.iter().filter_map(|k| all.into_iter().find(|r| r.as_str() == k)).collect())
}

/// Claims up to `limit` due reminders for `owner` until `lease_until` (see [`super::lease`]).
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    super::lease::claim(conn, &super::lease::REMINDERS, owner, now, lease_until, limit)
}

/// The reminder if `owner` still holds it and it has not gone out.
pub fn held(conn: &mut DbConn, id: &str, owner: &str) -> QueryResult<Option<ReminderRow>> {
    at_most_one(
        reminders::table
            .find(id)
            .filter(reminders::status.eq(PENDING))
            .filter(reminders::lease_owner.eq(owner))
            .select(ReminderRow::as_select())
            .load(conn),
    )
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

/// Cancels the pending reminders of a deadline and schedules `replacements` in their place.
pub fn cancel_and_replace(
    to: &mut impl Sink,
    deadline_id: &str,
    replacements: &[ReminderRow],
) -> QueryResult<()> {
    cancel_pending(to, deadline_id)?;
    insert_all(to, replacements)
}

/// When the oldest reminder due by `now` and not yet sent was due, if any: how far the
/// sweepers are behind.
pub fn oldest_due(conn: &mut DbConn, now: i64) -> QueryResult<Option<i64>> {
    reminders::table
        .filter(reminders::status.eq(PENDING))
        .filter(reminders::fire_at.le(now))
        .select(diesel::dsl::min(reminders::fire_at))
        .get_result(conn)
}
