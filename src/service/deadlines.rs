//! Deadlines as the API shows them, scoped like everything else: an agency sees the deadlines
//! of the instances it is a party to; auditors and admins see all.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{local_rfc3339, now, AgencyCode};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::store::deadlines::{self as store, DeadlineRow, ListFilter};
use crate::store::DbConn;

#[derive(Debug, Serialize, ToSchema)]
pub struct Deadline {
    pub id: String,
    pub instance_id: String,
    pub workflow: String,
    pub name: String,
    pub title: String,
    /// The agency that must act.
    pub responsible: String,
    /// The roles there that act for it; empty when anyone there may.
    pub responsible_roles: Vec<String>,
    /// The agency told when it is missed.
    pub escalate_to: Option<String>,
    pub legal_basis: String,
    /// The figure is the definition's operational choice, not one the legal basis sets.
    pub operational: bool,
    pub duration: i32,
    /// `calendar_days`, `working_days`, `hours` or `months`.
    pub unit: String,
    /// When the clock started.
    pub starts_at: String,
    /// The last day of the limit, local.
    pub due_date: String,
    /// The instant it passes.
    pub due_at: String,
    /// `open`, `suspended`, `met` or `missed`.
    pub status: String,
    /// Open and past its due time.
    pub overdue: bool,
    /// False when a year it crosses has no holiday data: only weekends were skipped.
    pub calendar_complete: bool,
    pub opened_at: String,
    pub closed_at: Option<String>,
}

pub fn view(row: DeadlineRow, at: i64) -> Deadline {
    Deadline {
        overdue: row.status == store::OPEN && row.due_at <= at,
        id: row.id,
        instance_id: row.instance_id,
        workflow: row.workflow_id,
        name: row.name,
        title: row.title,
        responsible: row.responsible_agency,
        responsible_roles: row
            .responsible_roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        escalate_to: row.escalate_agency,
        legal_basis: row.legal_basis,
        operational: row.operational,
        duration: row.duration,
        unit: row.unit,
        starts_at: local_rfc3339(row.starts_at),
        due_date: row.due_date,
        due_at: local_rfc3339(row.due_at),
        status: row.status,
        calendar_complete: row.calendar_complete,
        opened_at: local_rfc3339(row.opened_at),
        closed_at: row.closed_at.map(local_rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlinePage {
    pub items: Vec<Deadline>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Which deadlines to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    Open,
    Suspended,
    Met,
    Missed,
    /// Open and past due.
    Overdue,
}

#[derive(Debug, Default)]
pub struct Query {
    pub status: Option<StatusFilter>,
    pub agency: Option<AgencyCode>,
    pub workflow: Option<String>,
    pub due_before: Option<i64>,
    pub due_after: Option<i64>,
    pub cursor: Option<String>,
    pub limit: i64,
}

fn parse_cursor(raw: &str) -> ApiResult<(i64, String)> {
    let bad = || ApiError::bad_request("cursor is not one this service gave out");
    let (due, id) = raw.split_once('_').ok_or_else(bad)?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((due.parse().map_err(|_| bad())?, id.to_string()))
}

pub fn list(conn: &mut DbConn, actor: &Actor, q: Query) -> ApiResult<DeadlinePage> {
    let at = now().timestamp_micros();
    let (statuses, overdue_at) = match q.status {
        None => (vec![], None),
        Some(StatusFilter::Open) => (vec![store::OPEN], None),
        Some(StatusFilter::Suspended) => (vec![store::SUSPENDED], None),
        Some(StatusFilter::Met) => (vec![store::MET], None),
        Some(StatusFilter::Missed) => (vec![store::MISSED], None),
        Some(StatusFilter::Overdue) => (vec![store::OPEN], Some(at)),
    };
    let due_before = match (overdue_at, q.due_before) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let filter = ListFilter {
        visible_to: (!actor.reads_everything()).then(|| actor.agency.to_string()),
        responsible: q.agency.map(|a| a.to_string()),
        workflow: q.workflow,
        statuses,
        due_before,
        due_after: q.due_after,
        after: q.cursor.as_deref().map(parse_cursor).transpose()?,
        limit: q.limit + 1,
    };
    let mut rows = store::list(conn, &filter)?;
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    let next_cursor = if more { rows.last().map(|r| format!("{}_{}", r.due_at, r.id)) } else { None };
    Ok(DeadlinePage { items: rows.into_iter().map(|r| view(r, at)).collect(), next_cursor })
}

/// The running and overdue deadlines at `at`, for the metrics; counted on one snapshot, so
/// that the overdue are never more than the running.
pub fn counts(conn: &mut DbConn, at: i64) -> ApiResult<crate::http::metrics::DeadlineCounts> {
    let (open, overdue, oldest) = crate::store::read_snapshot(conn, |conn| {
        let (open, overdue) = store::open_and_overdue(conn, at)?;
        Ok::<_, diesel::result::Error>((open, overdue, crate::store::reminders::oldest_due(conn, at)?))
    })?;
    let reminder_lag_seconds = oldest.map_or(0, |due| (at - due).max(0) / 1_000_000);
    Ok(crate::http::metrics::DeadlineCounts { open, overdue, reminder_lag_seconds })
}

/// Titles the deadlines opened before definitions gave deadlines titles (they bore the
/// workflow's title and the deadline's name) by their definitions, if that is still to be
/// done; how many. In one transaction.
pub fn retitle_opened_before(
    conn: &mut DbConn,
    registry: &crate::engine::registry::Registry,
) -> ApiResult<usize> {
    crate::store::write_transaction(conn, |conn| {
        if !crate::store::instances::take_pending_task(conn, "title_deadlines")? {
            return Ok(0);
        }
        let mut retitled = 0;
        for def in registry.all() {
            for d in &def.deadlines {
                let old = format!("{}: {}", def.title_vi, d.name);
                retitled += store::retitle(conn, &def.id, &d.name, &old, &d.title_vi)?;
            }
        }
        Ok(retitled)
    })
}
