//! Deadlines as rows: opened when a state with a deadline is entered, closed as met or missed
//! when it is left, suspended and extended where the definition allows.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use chrono::DateTime;

use super::fixed::Sink;
use super::schema::{deadlines, instance_agencies};
use super::{at_most_one, DbConn};
use crate::engine::calendar::Due;
use crate::engine::deadlines::RunningDeadline;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deadlines)]
pub struct DeadlineRow {
    pub id: String,
    pub instance_id: String,
    pub workflow_id: String,
    pub name: String,
    /// What reminders say it is about.
    pub title: String,
    pub responsible_agency: String,
    /// `,role,role,` of who acts for the responsible agency; empty for everyone there.
    pub responsible_roles: String,
    pub escalate_agency: Option<String>,
    pub escalate_roles: String,
    pub legal_basis: String,
    /// The figure is the definition's operational choice, not one the legal basis sets.
    pub operational: bool,
    pub unit: String,
    pub duration: i32,
    pub starts_at: i64,
    /// The instant the deadline passes (exclusive).
    pub due_at: i64,
    /// Its last day, local, `YYYY-MM-DD`.
    pub due_date: String,
    /// False when a year it crosses had no holiday data.
    pub calendar_complete: bool,
    pub status: String,
    pub opened_seq: i64,
    pub opened_at: i64,
    pub closed_seq: Option<i64>,
    pub closed_at: Option<i64>,
    pub suspended_at: Option<i64>,
}

pub const OPEN: &str = "open";
pub const SUSPENDED: &str = "suspended";
pub const MET: &str = "met";
pub const MISSED: &str = "missed";

pub fn insert(to: &mut impl Sink, row: &DeadlineRow) -> QueryResult<()> {
    to.write(
        "INSERT INTO deadlines (id, instance_id, workflow_id, name, title, responsible_agency, \
         responsible_roles, escalate_agency, escalate_roles, legal_basis, operational, unit, duration, \
         starts_at, due_at, due_date, calendar_complete, status, opened_seq, opened_at, closed_seq, \
         closed_at, suspended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            (&row.id).into(),
            (&row.instance_id).into(),
            (&row.workflow_id).into(),
            (&row.name).into(),
            (&row.title).into(),
            (&row.responsible_agency).into(),
            (&row.responsible_roles).into(),
            (&row.escalate_agency).into(),
            (&row.escalate_roles).into(),
            (&row.legal_basis).into(),
            row.operational.into(),
            (&row.unit).into(),
            row.duration.into(),
            row.starts_at.into(),
            row.due_at.into(),
            (&row.due_date).into(),
            row.calendar_complete.into(),
            (&row.status).into(),
            row.opened_seq.into(),
            row.opened_at.into(),
            row.closed_seq.into(),
            row.closed_at.into(),
            row.suspended_at.into(),
        ],
    )
}

/// Titles the deadlines of `workflow` named `name` that still bear `old` as `new`; how many.
pub fn retitle(conn: &mut DbConn, workflow: &str, name: &str, old: &str, new: &str) -> QueryResult<usize> {
    diesel::update(
        deadlines::table
            .filter(deadlines::workflow_id.eq(workflow))
            .filter(deadlines::name.eq(name))
            .filter(deadlines::title.eq(old)),
    )
    .set(deadlines::title.eq(new))
    .execute(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<DeadlineRow>> {
    at_most_one(deadlines::table.find(id).select(DeadlineRow::as_select()).load(conn))
}

/// The running (open or suspended) deadlines of an instance, as the engine decides a step on
/// them; for those named in `with_sent`, the kinds of reminder each has sent. A suspended one
/// with no time of suspension on record counts as suspended at `at`.
pub fn running(
    conn: &mut DbConn,
    instance_id: &str,
    at: i64,
    with_sent: &[&str],
) -> QueryResult<Vec<RunningDeadline>> {
    let rows: Vec<DeadlineRow> = native!(conn, |c| deadlines::table
        .filter(deadlines::instance_id.eq(instance_id))
        // Two comparisons rather than IN: a query of fixed shape keeps its prepared statement.
        .filter(deadlines::status.eq(OPEN).or(deadlines::status.eq(SUSPENDED)))
        .select(DeadlineRow::as_select())
        .load(c))?;
    rows.into_iter()
        .map(|row| {
            let sent = if with_sent.contains(&row.name.as_str()) {
                super::reminders::sent_kinds(conn, &row.id)?
            } else {
                Vec::new()
            };
            let last_day =
                row.due_date.parse().map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            Ok(RunningDeadline {
                due: Due {
                    at: DateTime::from_timestamp_micros(row.due_at).unwrap_or(DateTime::UNIX_EPOCH),
                    last_day,
                },
                starts_at: row.starts_at,
                suspended_at: (row.status == SUSPENDED).then_some(row.suspended_at.unwrap_or(at)),
                escalates: row.escalate_agency.is_some(),
                id: row.id,
                name: row.name,
                sent,
            })
        })
        .collect()
}

/// Every deadline of an instance, oldest first.
pub fn of_instance(conn: &mut DbConn, instance_id: &str) -> QueryResult<Vec<DeadlineRow>> {
    native!(conn, |c| deadlines::table
        .filter(deadlines::instance_id.eq(instance_id))
        .order((deadlines::opened_seq.asc(), deadlines::id.asc()))
        .select(DeadlineRow::as_select())
        .load(c))
}

pub fn close(to: &mut impl Sink, id: &str, status: &str, seq: i64, at: i64) -> QueryResult<()> {
    to.write(
        "UPDATE deadlines SET status = ?, closed_seq = ?, closed_at = ? WHERE id = ?",
        &[status.into(), seq.into(), at.into(), id.into()],
    )
}

pub fn suspend(to: &mut impl Sink, id: &str, at: i64) -> QueryResult<()> {
    to.write(
        "UPDATE deadlines SET status = ?, suspended_at = ? WHERE id = ?",
        &[SUSPENDED.into(), at.into(), id.into()],
    )
}

/// Sets a new due time: on resuming (open again) or on an extension.
pub fn reschedule(
    to: &mut impl Sink,
    id: &str,
    due_at: i64,
    due_date: &str,
    complete: bool,
) -> QueryResult<()> {
    to.write(
        "UPDATE deadlines SET status = ?, suspended_at = NULL, due_at = ?, due_date = ?, \
         calendar_complete = ? WHERE id = ?",
        &[OPEN.into(), due_at.into(), due_date.into(), complete.into(), id.into()],
    )
}

/// States a running deadline anew under another version's rule (its instance moved to it):
/// everything the rule sets, and the due time counted from when it started.
pub fn restate(to: &mut impl Sink, row: &DeadlineRow) -> QueryResult<()> {
    to.write(
        "UPDATE deadlines SET title = ?, responsible_agency = ?, responsible_roles = ?, escalate_agency = ?, \
         escalate_roles = ?, legal_basis = ?, operational = ?, unit = ?, duration = ?, starts_at = ?, \
         due_at = ?, due_date = ?, calendar_complete = ? WHERE id = ?",
        &[
            row.title.as_str().into(),
            row.responsible_agency.as_str().into(),
            row.responsible_roles.as_str().into(),
            row.escalate_agency.as_deref().into(),
            row.escalate_roles.as_str().into(),
            row.legal_basis.as_str().into(),
            row.operational.into(),
            row.unit.as_str().into(),
            row.duration.into(),
            row.starts_at.into(),
            row.due_at.into(),
            row.due_date.as_str().into(),
            row.calendar_complete.into(),
            row.id.as_str().into(),
        ],
    )
}

/// What to list.
#[derive(Debug, Default)]
pub struct ListFilter {
    /// Only deadlines of instances this agency is a party to.
    pub visible_to: Option<String>,
    /// Only deadlines this agency must meet.
    pub responsible: Option<String>,
    pub workflow: Option<String>,
    pub statuses: Vec<&'static str>,
    /// Only those due before this instant (overdue when combined with open).
    pub due_before: Option<i64>,
    pub due_after: Option<i64>,
    /// Page: after this (due_at, id).
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

/// A page of deadlines, soonest due first.
pub fn list(conn: &mut DbConn, f: &ListFilter) -> QueryResult<Vec<DeadlineRow>> {
    let mut query = deadlines::table.select(DeadlineRow::as_select()).into_boxed();
    if let Some(agency) = &f.visible_to {
        let mine = instance_agencies::table
            .filter(instance_agencies::agency_code.eq(agency.clone()))
            .select(instance_agencies::instance_id);
        query = query.filter(deadlines::instance_id.eq_any(mine));
    }
    if let Some(agency) = &f.responsible {
        query = query.filter(deadlines::responsible_agency.eq(agency.clone()));
    }
    if let Some(w) = &f.workflow {
        query = query.filter(deadlines::workflow_id.eq(w.clone()));
    }
    if !f.statuses.is_empty() {
        query = query.filter(deadlines::status.eq_any(f.statuses.clone()));
    }
    if let Some(before) = f.due_before {
        query = query.filter(deadlines::due_at.lt(before));
    }
    if let Some(after) = f.due_after {
        query = query.filter(deadlines::due_at.ge(after));
    }
    if let Some((due, id)) = &f.after {
        // A row value, which both databases read as a range of the (…, due_at, id) indexes.
        query = query.filter(
            sql::<Bool>("(deadlines.due_at, deadlines.id) > (")
                .bind::<BigInt, _>(*due)
                .sql(", ")
                .bind::<Text, _>(id.clone())
                .sql(")"),
        );
    }
    query.order((deadlines::due_at.asc(), deadlines::id.asc())).limit(f.limit).load(conn)
}

/// What the coordination report needs of a deadline.
#[derive(Debug, Clone, Queryable)]
pub struct DeadlineFact {
    pub workflow_id: String,
    pub name: String,
    pub responsible_agency: String,
    pub status: String,
    pub starts_at: i64,
    pub due_at: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

/// The deadlines of instances with a party among `agencies` (all when `None`) that were
/// opened or closed in `[from, until)`, or are still running.
pub fn facts(
    conn: &mut DbConn,
    agencies: Option<&[String]>,
    from: i64,
    until: i64,
) -> QueryResult<Vec<DeadlineFact>> {
    let relevant = deadlines::status
        .eq_any([OPEN, SUSPENDED])
        .or(deadlines::closed_at.ge(from).and(deadlines::closed_at.lt(until)))
        .or(deadlines::opened_at.ge(from).and(deadlines::opened_at.lt(until)));
    let mut q = deadlines::table
        .filter(relevant)
        .select((
            deadlines::workflow_id,
            deadlines::name,
            deadlines::responsible_agency,
            deadlines::status,
            deadlines::starts_at,
            deadlines::due_at,
            deadlines::opened_at,
            deadlines::closed_at,
        ))
        .into_boxed();
    if let Some(agencies) = agencies {
        let visible = instance_agencies::table
            .filter(instance_agencies::agency_code.eq_any(agencies.to_vec()))
            .select(instance_agencies::instance_id);
        q = q.filter(deadlines::instance_id.eq_any(visible));
    }
    q.load(conn)
}

/// How many deadlines run now, and how many of them are past due at `now`: two counts over
/// the `(status, due_at, id)` index, proportional to the open deadlines, not to all of them.
pub fn open_and_overdue(conn: &mut DbConn, now: i64) -> QueryResult<(i64, i64)> {
    let open = deadlines::table.filter(deadlines::status.eq(OPEN)).count().get_result(conn)?;
    let overdue = deadlines::table
        .filter(deadlines::status.eq(OPEN))
        .filter(deadlines::due_at.lt(now))
        .count()
        .get_result(conn)?;
    Ok((open, overdue))
}
