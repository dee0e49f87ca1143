//! Recording a plan: what one step decided, written in the caller's transaction. The engine
//! decided every value; this writes them, adding only the webhook deliveries of the notices
//! (the store knows the agencies' webhooks). The case change is saved by the case's own rules,
//! in the same transaction.
//!
//! On PostgreSQL, where every statement is a round trip, the writes after the instance's
//! version check go as one statement ([`Writes`]); a write to a deadline this plan already
//! wrote waits for what is queued to go first. On SQLite, in process, each runs at once.

use std::collections::BTreeSet;

use serde_json::json;

use super::deadlines::{self, DeadlineRow};
use super::documents;
use super::events::{self, EventRow};
use super::fixed::{Sink, Writes};
use super::instances::{self, InstanceRow};
use super::notifications::{self, roles_column, NotificationRow};
use super::reminders::{self, ReminderRow};
use super::search;
use super::webhooks::{self, DeliveryRow, WebhookRow};
use super::DbConn;
use crate::domain::{local_rfc3339, AgencyCode};
use crate::engine::plan::{
    Closing, DeadlineOp, Event, InstanceWrite, NewInstance, Notice, Opening, Plan, Reminder, Rescheduling,
};
use crate::engine::search::party_word;
use crate::engine::step::Pending;

/// Why a plan was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The instance moved on since it was read: someone else's step came first.
    #[error("the instance moved on since it was read")]
    Stale,
    /// Another step took a document this one names, since it was read.
    #[error("document {0} was taken by another step meanwhile")]
    DocumentTaken(String),
    #[error(transparent)]
    Store(#[from] diesel::result::Error),
}

/// Writes a plan and the plans of the instances it starts: the instances' rows (a running
/// instance only if it is still at the version the plan was decided on), their events, the
/// deadlines with their reminders, and the notices with a delivery to each active webhook of
/// their agencies.
pub fn record(conn: &mut DbConn, plan: &Plan) -> Result<(), RecordError> {
    if let InstanceWrite::Advance(a) = &plan.instance {
        let (data, pending) = (json_text(&a.data)?, json_text(&a.pending)?);
        let advance = instances::Advance {
            id: &a.id,
            expected_version: a.expected_version,
            state: &a.state,
            data: &data,
            updated_at: a.at,
            last_hash: &a.last_hash,
            pending: &pending,
            closes: a.closes,
        };
        if !instances::advance(conn, &advance)? {
            return Err(RecordError::Stale);
        }
    }
    let mut agencies = Vec::new();
    notified(plan, &mut agencies);
    let hooks = if agencies.is_empty() { Vec::new() } else { webhooks::active_of_any(conn, &agencies)? };
    let mut writes = Writes::new(conn);
    write(&mut writes, plan, &hooks)?;
    writes.finish()?;
    // After the instances they go with are written.
    take_documents(conn, plan)
}

/// Marks the documents a plan and its follow-ups take, each if no other step has taken it:
/// checked one by one.
fn take_documents(conn: &mut DbConn, plan: &Plan) -> Result<(), RecordError> {
    for d in &plan.documents {
        if !documents::take(conn, &d.id, &plan.event.instance_id, plan.event.seq, &d.field)? {
            return Err(RecordError::DocumentTaken(d.id.clone()));
        }
    }
    for follow_up in &plan.follow_ups {
        take_documents(conn, follow_up)?;
    }
    Ok(())
}

/// Writes notices from outside a step (a reminder's), with their webhook deliveries.
pub fn notify(conn: &mut DbConn, notices: &[Notice]) -> diesel::QueryResult<()> {
    let mut agencies: Vec<&str> = notices.iter().map(|n| n.agency.as_str()).collect();
    agencies.sort_unstable();
    agencies.dedup();
    let hooks = if agencies.is_empty() { Vec::new() } else { webhooks::active_of_any(conn, &agencies)? };
    let mut writes = Writes::new(conn);
    write_notices(&mut writes, notices, &hooks)?;
    writes.finish()
}

/// The agencies told by a plan and the plans it starts, each once.
fn notified<'p>(plan: &'p Plan, into: &mut Vec<&'p str>) {
    for notice in &plan.notices {
        if !into.contains(&notice.agency.as_str()) {
            into.push(notice.agency.as_str());
        }
    }
    for follow_up in &plan.follow_ups {
        notified(follow_up, into);
    }
}

fn json_text<T: serde::Serialize>(value: &T) -> Result<String, RecordError> {
    serde_json::to_string(value)
        .map_err(|e| RecordError::Store(diesel::result::Error::SerializationError(e.into())))
}

/// The agencies that see an instance: those bound to its parties, each once.
fn seen_by(parties: &std::collections::BTreeMap<String, crate::domain::AgencyCode>) -> Vec<&str> {
    let agencies: BTreeSet<&str> = parties.values().map(|a| a.as_str()).collect();
    agencies.into_iter().collect()
}

/// What search finds an instance by, and who may find it: the agencies that see it.
fn findable(
    id: &str,
    numbers: &str,
    parties: &std::collections::BTreeMap<String, crate::domain::AgencyCode>,
) -> search::Terms {
    let scope: Vec<String> = seen_by(parties).into_iter().map(party_word).collect();
    search::Terms {
        kind: search::INSTANCE.into(),
        target_id: id.to_owned(),
        numbers: numbers.to_owned(),
        names: String::new(),
        scope: scope.join(" "),
    }
}

fn new_row(new: &NewInstance) -> Result<InstanceRow, RecordError> {
    Ok(InstanceRow {
        id: new.id.clone(),
        workflow_id: new.workflow_id.clone(),
        workflow_version: i32::try_from(new.workflow_version).unwrap_or(i32::MAX),
        state: new.state.clone(),
        version: 1,
        parties: json_text(&new.parties)?,
        data: json_text(&new.data)?,
        case_id: new.case_id.clone(),
        reference_date: new.reference_date.to_string(),
        created_at: new.at,
        updated_at: new.at,
        last_hash: new.last_hash.clone(),
        pending: json_text(&Pending::new())?,
        started_by_instance: new.started_by.as_ref().map(|(id, _)| id.clone()),
        started_by_seq: new.started_by.as_ref().map(|(_, seq)| *seq),
        closed_at: new.closed.then_some(new.at),
    })
}

fn event_row(e: &Event) -> EventRow {
    EventRow {
        instance_id: e.instance_id.clone(),
        seq: e.seq,
        occurred_at: e.occurred_at,
        actor_sub: e.actor_sub.clone(),
        actor_name: e.actor_name.clone(),
        actor_agency: e.actor_agency.clone(),
        actor_role: e.actor_role.clone(),
        transition: e.transition.clone(),
        from_state: e.from_state.clone(),
        to_state: e.to_state.clone(),
        data: e.data.to_string(),
        comment: e.comment.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
    }
}

fn write(to: &mut Writes<'_>, plan: &Plan, hooks: &[WebhookRow]) -> Result<(), RecordError> {
    match &plan.instance {
        InstanceWrite::Start(new) => {
            instances::insert(to, &new_row(new)?, &seen_by(&new.parties))?;
            if !new.numbers.is_empty() {
                search::put(to, &findable(&new.id, &new.numbers, &new.parties))?;
            }
        }
        InstanceWrite::Advance(a) => {
            if !a.bound.is_empty() {
                let bound: Vec<&str> = a.bound.iter().map(AgencyCode::as_str).collect();
                instances::bind(to, &a.id, &json_text(&a.parties)?, &bound)?;
            }
            if a.closes {
                instances::close_access(to, &a.id, &seen_by(&a.parties))?;
            }
            if let Some(numbers) = &a.numbers {
                search::put(to, &findable(&a.id, numbers, &a.parties))?;
            }
            if let Some(version) = a.workflow_version {
                instances::move_to_version(to, &a.id, i32::try_from(version).unwrap_or(i32::MAX))?;
            }
        }
    }
    let event = &plan.event;
    events::insert(to, &event_row(event))?;
    // The deadlines this plan has written so far: a second write to one waits for the first.
    let mut written = BTreeSet::new();
    for op in &plan.deadlines {
        match op {
            DeadlineOp::Open(opening) => open(to, event, opening)?,
            DeadlineOp::Close(closing) => close(to, event, closing, &mut written)?,
            DeadlineOp::Restart { closing, opening } => {
                close(to, event, closing, &mut written)?;
                open(to, event, opening)?;
            }
            DeadlineOp::Suspend { id, .. } => {
                again(to, &mut written, id)?;
                deadlines::suspend(to, id, event.occurred_at)?;
                reminders::cancel_pending(to, id)?;
            }
            DeadlineOp::Resume(r) | DeadlineOp::Extend { rescheduling: r, .. } => {
                again(to, &mut written, &r.id)?;
                reschedule(to, r)?;
            }
            DeadlineOp::Restate(o) => {
                again(to, &mut written, &o.id)?;
                deadlines::restate(to, &deadline_row(event, o))?;
                reminders::cancel_and_replace(to, &o.id, &reminder_rows(&o.id, &o.reminders))?;
            }
        }
    }
    write_notices(to, &plan.notices, hooks)?;
    for follow_up in &plan.follow_ups {
        write(to, follow_up, hooks)?;
    }
    Ok(())
}

/// Before a write to a deadline, or to its reminders, that this plan has already written:
/// what is queued goes first, as a read back would have seen it.
fn again(to: &mut impl Sink, written: &mut BTreeSet<String>, id: &str) -> diesel::QueryResult<()> {
    if written.contains(id) {
        to.barrier()?;
        written.clear();
    }
    written.insert(id.to_owned());
    Ok(())
}

fn reminder_rows(deadline_id: &str, reminders: &[Reminder]) -> Vec<ReminderRow> {
    reminders
        .iter()
        .map(|r| ReminderRow {
            id: r.id.clone(),
            deadline_id: deadline_id.to_owned(),
            kind: r.kind.as_str().to_owned(),
            working_days_before: r.working_days_before.map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
            fire_at: r.fire_at,
            status: reminders::PENDING.to_owned(),
            lease_owner: None,
            lease_until: None,
            sent_at: None,
        })
        .collect()
}

fn roles_text(roles: &[crate::domain::Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    roles_column(&names)
}

fn deadline_row(event: &Event, o: &Opening) -> DeadlineRow {
    DeadlineRow {
        id: o.id.clone(),
        instance_id: event.instance_id.clone(),
        workflow_id: o.workflow_id.clone(),
        name: o.name.clone(),
        title: o.title.clone(),
        responsible_agency: o.responsible_agency.to_string(),
        responsible_roles: roles_text(&o.responsible_roles),
        escalate_agency: o.escalate_agency.as_ref().map(ToString::to_string),
        escalate_roles: roles_text(&o.escalate_roles),
        legal_basis: o.legal_basis.clone(),
        operational: o.operational,
        unit: o.unit.as_str().to_owned(),
        duration: i32::try_from(o.duration).unwrap_or(i32::MAX),
        starts_at: o.starts_at,
        due_at: o.due.at.timestamp_micros(),
        due_date: o.due.last_day.to_string(),
        calendar_complete: o.calendar_complete,
        status: deadlines::OPEN.to_owned(),
        opened_seq: event.seq,
        opened_at: event.occurred_at,
        closed_seq: None,
        closed_at: None,
        suspended_at: None,
    }
}

fn open(to: &mut impl Sink, event: &Event, o: &Opening) -> diesel::QueryResult<()> {
    deadlines::insert(to, &deadline_row(event, o))?;
    reminders::insert_all(to, &reminder_rows(&o.id, &o.reminders))
}

fn close(
    to: &mut impl Sink,
    event: &Event,
    c: &Closing,
    written: &mut BTreeSet<String>,
) -> diesel::QueryResult<()> {
    again(to, written, &c.id)?;
    let status = if c.met { deadlines::MET } else { deadlines::MISSED };
    deadlines::close(to, &c.id, status, event.seq, event.occurred_at)?;
    reminders::cancel_pending(to, &c.id)
}

fn reschedule(to: &mut impl Sink, r: &Rescheduling) -> diesel::QueryResult<()> {
    let due_date = r.due.last_day.to_string();
    deadlines::reschedule(to, &r.id, r.due.at.timestamp_micros(), &due_date, r.calendar_complete)?;
    reminders::cancel_and_replace(to, &r.id, &reminder_rows(&r.id, &r.reminders))
}

fn notification_row(n: &Notice) -> NotificationRow {
    let roles: Vec<&str> = n.roles.iter().map(String::as_str).collect();
    NotificationRow {
        id: n.id.clone(),
        agency_code: n.agency.to_string(),
        roles: roles_column(&roles),
        kind: n.kind.clone(),
        instance_id: n.instance_id.clone(),
        deadline_id: n.deadline_id.clone(),
        reminder_id: n.reminder_id.clone(),
        subject: n.subject.clone(),
        payload: n.payload.to_string(),
        created_at: n.created_at,
        read_at: None,
        read_by: None,
    }
}

/// What an agency's own system receives: the notification, and the id of the delivery so a
/// retry can be recognised.
fn webhook_body(delivery_id: &str, n: &Notice) -> String {
    // `type` and `timestamp` as the Standard Webhooks specification recommends a payload's.
    json!({
        "type": format!("notification.{}", n.kind),
        "timestamp": local_rfc3339(n.created_at),
        "delivery_id": delivery_id,
        "notification": {
            "id": n.id,
            "agency": n.agency,
            "kind": n.kind,
            "subject": n.subject,
            "instance_id": n.instance_id,
            "deadline_id": n.deadline_id,
            "payload": n.payload,
            "created_at": local_rfc3339(n.created_at),
        }
    })
    .to_string()
}

/// Writes notices into the inboxes, and a delivery of each to every one of `hooks` of its
/// agency: one statement for each.
fn write_notices(to: &mut impl Sink, notices: &[Notice], hooks: &[WebhookRow]) -> diesel::QueryResult<()> {
    if notices.is_empty() {
        return Ok(());
    }
    let rows: Vec<NotificationRow> = notices.iter().map(notification_row).collect();
    notifications::insert_all(to, &rows)?;
    let mut deliveries = Vec::new();
    for notice in notices {
        for hook in hooks.iter().filter(|h| h.agency_code == notice.agency.as_str()) {
            let id = uuid::Uuid::now_v7().to_string();
            deliveries.push(DeliveryRow {
                body: webhook_body(&id, notice),
                id,
                webhook_id: hook.id.clone(),
                notification_id: notice.id.clone(),
                status: webhooks::PENDING.to_owned(),
                attempts: 0,
                next_attempt_at: notice.created_at,
                last_error: None,
                lease_owner: None,
                lease_until: None,
                delivered_at: None,
                created_at: notice.created_at,
                redelivered_at: None,
                redelivered_by: None,
            });
        }
    }
    webhooks::insert_deliveries(to, &deliveries)
}
