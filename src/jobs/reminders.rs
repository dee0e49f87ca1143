//! The reminders of deadlines. A pass claims the reminders that are due, under a lease, and
//! delivers each in a transaction of its own that marks it sent only if the lease is still
//! held: on PostgreSQL two nodes never send one reminder twice (claims skip locked rows; a node
//! that lost its lease rolls back), and a node that dies mid-pass leaves its claims to another
//! once the lease runs out.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::{micros, JobError, Report};
use crate::domain::{local_rfc3339, AgencyCode};
use crate::engine::plan::Notice;
use crate::store::deadlines::{self as deadline_store, DeadlineRow};
use crate::store::record;
use crate::store::reminders::{self as reminder_store, ReminderRow};
use crate::store::{is_unique_violation, write_transaction, Db, DbConn};

/// How long a claim holds before another node may take it over.
pub const LEASE: Duration = Duration::from_secs(60);
/// Reminder claims taken at a time.
pub const BATCH: i64 = 200;
/// How many claimed reminders are sent with one turn at the writer, so that steps are not kept
/// waiting behind a long pass (on SQLite there is one writer).
const WRITER_TURN: usize = 25;

enum Outcome {
    Sent,
    Cancelled,
    Lost,
}

/// What became of each reminder of a turn at the writer, by id.
type Delivered = Vec<(String, Result<Outcome, JobError>)>;

/// Why a delivery's transaction rolls back: the reminder is no longer this node's, or it failed.
enum Rollback {
    Lost,
    Failed(JobError),
}

impl From<diesel::result::Error> for Rollback {
    fn from(e: diesel::result::Error) -> Self {
        // Another node sent it first: its notice is there already.
        if is_unique_violation(&e) {
            Rollback::Lost
        } else {
            Rollback::Failed(JobError::Store(e))
        }
    }
}

/// What a reminder says, and to whom.
fn notice(r: &ReminderRow, d: &DeadlineRow, now: i64) -> Result<Option<Notice>, JobError> {
    let responsible = d.responsible_agency.as_str();
    let (agency, roles, subject) = match r.kind.as_str() {
        "before" => (
            responsible,
            &d.responsible_roles,
            format!(
                "Còn {} ngày làm việc (hạn {}): {}",
                r.working_days_before.unwrap_or_default(),
                d.due_date,
                d.title
            ),
        ),
        "due" => {
            let subject = if now < d.due_at {
                format!("Hôm nay là ngày cuối của thời hạn ({}): {}", d.due_date, d.title)
            } else {
                format!("Đã hết thời hạn ({}): {}", d.due_date, d.title)
            };
            (responsible, &d.responsible_roles, subject)
        }
        "escalation" => match d.escalate_agency.as_deref() {
            Some(agency) => (
                agency,
                &d.escalate_roles,
                format!("Quá hạn ({}), {} chưa thực hiện: {}", d.due_date, responsible, d.title),
            ),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(Notice {
        id: Uuid::now_v7().to_string(),
        agency: AgencyCode::parse(agency).map_err(JobError::Corrupt)?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        kind: if r.kind == "before" { "reminder".into() } else { r.kind.clone() },
        instance_id: Some(d.instance_id.clone()),
        deadline_id: Some(d.id.clone()),
        reminder_id: Some(r.id.clone()),
        subject,
        payload: json!({
            "instance_id": d.instance_id,
            "workflow": d.workflow_id,
            "deadline": d.name,
            "responsible": responsible,
            "due_date": d.due_date,
            "due_at": local_rfc3339(d.due_at),
            "legal_basis": d.legal_basis,
            "working_days_before": r.working_days_before,
        }),
        created_at: r.fire_at,
    }))
}

/// Delivers one claimed reminder, or finds it is no longer ours or no longer needed.
fn deliver(conn: &mut DbConn, id: &str, owner: &str, now: i64) -> Result<Outcome, JobError> {
    let outcome = write_transaction(conn, |conn| -> Result<Outcome, Rollback> {
        let Some(r) = reminder_store::held(conn, id, owner)? else { return Ok(Outcome::Lost) };
        let deadline = deadline_store::find(conn, &r.deadline_id)?;
        let Some(d) = deadline.filter(|d| d.status == deadline_store::OPEN) else {
            return if reminder_store::finish(conn, id, owner, reminder_store::CANCELLED, now)? {
                Ok(Outcome::Cancelled)
            } else {
                Err(Rollback::Lost)
            };
        };
        if let Some(note) = notice(&r, &d, now).map_err(Rollback::Failed)? {
            record::notify(conn, std::slice::from_ref(&note))?;
        }
        // Only the holder of the lease may mark it sent; otherwise everything rolls back.
        if reminder_store::finish(conn, id, owner, reminder_store::SENT, now)? {
            Ok(Outcome::Sent)
        } else {
            Err(Rollback::Lost)
        }
    });
    match outcome {
        Ok(outcome) => Ok(outcome),
        Err(Rollback::Lost) => Ok(Outcome::Lost),
        Err(Rollback::Failed(e)) => Err(e),
    }
}

/// Sends every reminder due at `now` that no other node holds, a few at a time through the
/// writer. A reminder that cannot be sent is logged and left to a later pass, when its lease
/// has run out; it does not stop the others.
pub async fn sweep(db: &Db, owner: &str, now: i64) -> Result<Report, JobError> {
    let mut report = Report::default();
    loop {
        let lease_until = now.max(crate::domain::now().timestamp_micros()) + micros(LEASE);
        let claimer = owner.to_owned();
        let claimed = db
            .write(move |conn| {
                write_transaction(conn, |conn| -> Result<Vec<String>, JobError> {
                    Ok(reminder_store::claim_due(conn, &claimer, now, lease_until, BATCH)?)
                })
            })
            .await?;
        for chunk in claimed.chunks(WRITER_TURN) {
            let (chunk, owner) = (chunk.to_vec(), owner.to_owned());
            let outcomes = db
                .write(move |conn| -> Result<Delivered, JobError> {
                    Ok(chunk
                        .into_iter()
                        .map(|id| {
                            let outcome = deliver(conn, &id, &owner, now);
                            (id, outcome)
                        })
                        .collect())
                })
                .await?;
            for (id, outcome) in outcomes {
                match outcome {
                    Ok(Outcome::Sent) => report.reminders_sent += 1,
                    Ok(Outcome::Cancelled) => report.reminders_cancelled += 1,
                    Ok(Outcome::Lost) => report.reminders_lost += 1,
                    Err(e) => {
                        report.reminders_failed += 1;
                        tracing::error!(reminder = %id, error = %e, "reminder not sent; a later pass retries it");
                    }
                }
            }
        }
        if (claimed.len() as i64) < BATCH {
            return Ok(report);
        }
    }
}
