//! Carries out what the engine decided, inside the step's transaction: deadline rows and the
//! reminders they schedule, and notifications into inboxes (with their webhook deliveries).
//! Nothing here sends anything: the reminder sweeper and the webhook pass do, after commit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde_json::json;
use uuid::Uuid;

use crate::engine::calendar::{Calendar, Counted, Due, Unit};
use crate::engine::definition::{Deadline, DeadlineUnit, Definition};
use crate::engine::step::Action;
use crate::error::{ApiError, ApiResult};
use crate::service::notify;
use crate::store::deadlines::{self as deadline_store, DeadlineRow};
use crate::store::fixed::Sink;
use crate::store::notifications::{roles_column, NotificationRow};
use crate::store::reminders::{self as reminder_store, ReminderRow, PENDING};
use crate::store::webhooks::WebhookRow;
use crate::store::DbConn;

/// The hour (local) at which reminders of a coming due day go out.
const REMINDER_HOUR: u32 = 8;

/// The step whose decision is being carried out.
pub struct StepContext<'a> {
    pub def: &'a Definition,
    pub instance_id: &'a str,
    pub seq: i64,
    /// When the step happened, in microseconds.
    pub at: i64,
    /// The step's name and title, for what notifications say.
    pub transition: &'a str,
    pub transition_title: &'a str,
    pub calendar: &'a Calendar,
}

pub fn unit_of(unit: DeadlineUnit) -> Unit {
    match unit {
        DeadlineUnit::CalendarDays => Unit::CalendarDays,
        DeadlineUnit::WorkingDays => Unit::WorkingDays,
        DeadlineUnit::Hours => Unit::Hours,
        DeadlineUnit::Months => Unit::Months,
    }
}

fn unit_name(unit: DeadlineUnit) -> &'static str {
    match unit {
        DeadlineUnit::CalendarDays => "calendar_days",
        DeadlineUnit::WorkingDays => "working_days",
        DeadlineUnit::Hours => "hours",
        DeadlineUnit::Months => "months",
    }
}

/// The first instant of a day in Asia/Ho_Chi_Minh, in microseconds.
pub fn start_of_day_micros(day: NaiveDate) -> i64 {
    start_of_day(day).timestamp_micros()
}

fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    Ho_Chi_Minh
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .earliest()
        .map_or_else(|| day.and_time(NaiveTime::MIN).and_utc(), |t| t.with_timezone(&Utc))
}

/// Reads a start given in the data: a date (the event is that day) or an RFC 3339 time.
fn parse_start(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(day) = raw.parse::<NaiveDate>() {
        return Some(start_of_day(day));
    }
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

/// The roles that act for a slot: those of the steps that slot's agency may take.
fn roles_of(def: &Definition, slot: &str) -> String {
    let mut roles: Vec<&str> = def
        .transitions
        .iter()
        .filter(|t| t.slots().iter().any(|s| s == slot))
        .flat_map(|t| t.roles.iter().map(|r| r.as_str()))
        .collect();
    if def.create.party == slot {
        roles.extend(def.create.roles.iter().map(|r| r.as_str()));
    }
    roles.sort_unstable();
    roles.dedup();
    roles_column(&roles)
}

/// The reminders of a deadline that runs until `due`: the chosen working days before its last
/// day and the last day itself (at 08:00; for a limit in hours, the due time), and the
/// escalation when it has passed. Reminders before the last day whose time has gone by are not
/// created; the notice of the last day and the escalation are, once: when they already went
/// out (`sent`, the kinds this deadline has sent) and their new time is past too, they are not
/// sent again.
pub fn schedule(
    d: &Deadline,
    deadline_id: &str,
    due: Due,
    escalates: bool,
    now: i64,
    calendar: &Calendar,
    sent: &[String],
) -> Vec<ReminderRow> {
    let reminder = |kind: &str, before: Option<u32>, fire_at: i64| ReminderRow {
        id: Uuid::now_v7().to_string(),
        deadline_id: deadline_id.to_owned(),
        kind: kind.to_owned(),
        working_days_before: before.map(|b| i32::try_from(b).unwrap_or(i32::MAX)),
        fire_at,
        status: PENDING.to_owned(),
        lease_owner: None,
        lease_until: None,
        sent_at: None,
    };
    let mut out = Vec::new();
    if d.unit != DeadlineUnit::Hours {
        let mut days: Vec<u32> = d.reminders.clone();
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        for k in days {
            let day = calendar.sub_working_days(due.last_day, k).value;
            let at = start_of_day(day) + chrono::Duration::hours(i64::from(REMINDER_HOUR));
            if at.timestamp_micros() > now {
                out.push(reminder("before", Some(k), at.timestamp_micros()));
            }
        }
    }
    let due_at = due.at.timestamp_micros();
    let last_day_at = if d.unit == DeadlineUnit::Hours {
        due_at
    } else {
        (start_of_day(due.last_day) + chrono::Duration::hours(i64::from(REMINDER_HOUR))).timestamp_micros()
    };
    let again = |kind: &str, at: i64| at > now || !sent.iter().any(|k| k == kind);
    if again("due", last_day_at) {
        out.push(reminder("due", None, last_day_at));
    }
    if escalates && again("escalation", due_at) {
        out.push(reminder("escalation", None, due_at));
    }
    out
}

fn row_due(row: &DeadlineRow) -> ApiResult<Due> {
    Ok(Due {
        at: DateTime::from_timestamp_micros(row.due_at).unwrap_or(DateTime::UNIX_EPOCH),
        last_day: row.due_date.parse().map_err(ApiError::internal)?,
    })
}

/// What a step's actions need to know before anything is written: the running deadline of
/// each name they act on, the reminder kinds already sent for those that move, and the webhooks
/// of the agencies told.
pub struct Reads {
    running: BTreeMap<String, Option<DeadlineRow>>,
    sent: BTreeMap<String, Vec<String>>,
    hooks: Vec<WebhookRow>,
}

/// Reads what [`write`] needs, so that a step's writes can go together, after its reads
/// (see [`crate::store::fixed::Writes`]).
pub fn read(conn: &mut DbConn, ctx: &StepContext<'_>, actions: &[Action]) -> ApiResult<Reads> {
    let mut running = BTreeMap::new();
    let mut sent = BTreeMap::new();
    let mut agencies = Vec::new();
    for action in actions {
        let (name, moves) = match action {
            Action::CloseDeadline { deadline } | Action::SuspendDeadline { deadline } => (deadline, false),
            Action::ResumeDeadline { deadline } | Action::ExtendDeadline { deadline, .. } => (deadline, true),
            Action::Notify { agency, .. } => {
                agencies.push(agency.as_str());
                continue;
            }
            Action::OpenDeadline { .. } => continue,
        };
        if !running.contains_key(name) {
            running.insert(name.clone(), deadline_store::running(conn, ctx.instance_id, name)?);
        }
        if let (true, Some(Some(row))) = (moves, running.get(name)) {
            if !sent.contains_key(&row.id) {
                let kinds = reminder_store::of_deadline(conn, &row.id)?
                    .into_iter()
                    .filter(|r| r.status == reminder_store::SENT)
                    .map(|r| r.kind)
                    .collect();
                sent.insert(row.id.clone(), kinds);
            }
        }
    }
    let hooks = notify::hooks_of(conn, agencies)?;
    Ok(Reads { running, sent, hooks })
}

/// Writes what the actions of one step decided, from what [`read`] found. Each action sees
/// what those before it did to the running deadlines, as it would reading them back.
pub fn write(to: &mut impl Sink, ctx: &StepContext<'_>, actions: &[Action], reads: Reads) -> ApiResult<()> {
    let Reads { mut running, sent, hooks } = reads;
    // The deadlines this step has written so far (see [`again`]).
    let mut written = BTreeSet::new();
    // An agency bound to several slots hears of a step once.
    let mut notified = BTreeSet::new();
    let mut notes = Vec::new();
    for action in actions {
        match action {
            Action::OpenDeadline {
                deadline,
                responsible,
                escalate_slot,
                escalate_to,
                starts_at,
                due_date,
            } => {
                let Some(d) = ctx.def.deadlines.iter().find(|x| &x.name == deadline) else { continue };
                let step_time = DateTime::from_timestamp_micros(ctx.at).unwrap_or(DateTime::UNIX_EPOCH);
                let start = starts_at.as_deref().and_then(parse_start).unwrap_or(step_time);
                let due = match due_date.as_deref().and_then(|s| s.parse::<NaiveDate>().ok()) {
                    Some(day) => ctx.calendar.due_on(day),
                    None => ctx.calendar.due(start, d.duration, unit_of(d.unit)),
                };
                if !due.complete {
                    tracing::warn!(
                        instance = ctx.instance_id,
                        deadline,
                        "the calendar lacks a year this deadline crosses"
                    );
                }
                let row = DeadlineRow {
                    id: Uuid::now_v7().to_string(),
                    instance_id: ctx.instance_id.to_owned(),
                    workflow_id: ctx.def.id.clone(),
                    name: deadline.clone(),
                    title: format!("{}: {}", ctx.def.title_vi, deadline),
                    responsible_agency: responsible.to_string(),
                    responsible_roles: roles_of(ctx.def, &d.responsible),
                    escalate_agency: escalate_to.as_ref().map(ToString::to_string),
                    escalate_roles: roles_of(ctx.def, escalate_slot),
                    legal_basis: d.legal_basis.clone(),
                    unit: unit_name(d.unit).to_owned(),
                    duration: i32::try_from(d.duration).unwrap_or(i32::MAX),
                    starts_at: start.timestamp_micros(),
                    due_at: due.value.at.timestamp_micros(),
                    due_date: due.value.last_day.to_string(),
                    calendar_complete: due.complete,
                    status: deadline_store::OPEN.to_owned(),
                    opened_seq: ctx.seq,
                    opened_at: ctx.at,
                    closed_seq: None,
                    closed_at: None,
                    suspended_at: None,
                };
                deadline_store::insert(to, &row)?;
                let reminders =
                    schedule(d, &row.id, due.value, escalate_to.is_some(), ctx.at, ctx.calendar, &[]);
                reminder_store::insert_all(to, &reminders)?;
                written.insert(row.id.clone());
                running.insert(deadline.clone(), Some(row));
            }
            Action::CloseDeadline { deadline } => {
                if let Some(row) = running.get_mut(deadline).and_then(Option::take) {
                    // A clock that stands still was met if it stopped in time.
                    let stopped = if row.status == deadline_store::SUSPENDED {
                        row.suspended_at.unwrap_or(ctx.at)
                    } else {
                        ctx.at
                    };
                    let status =
                        if stopped < row.due_at { deadline_store::MET } else { deadline_store::MISSED };
                    again(to, &mut written, &row.id)?;
                    deadline_store::close(to, &row.id, status, ctx.seq, ctx.at)?;
                    reminder_store::cancel_pending(to, &row.id)?;
                }
            }
            Action::SuspendDeadline { deadline } => {
                let row = running.get_mut(deadline).and_then(Option::as_mut);
                if let Some(row) = row.filter(|r| r.status == deadline_store::OPEN) {
                    again(to, &mut written, &row.id)?;
                    deadline_store::suspend(to, &row.id, ctx.at)?;
                    reminder_store::cancel_pending(to, &row.id)?;
                    row.status = deadline_store::SUSPENDED.to_owned();
                    row.suspended_at = Some(ctx.at);
                }
            }
            Action::ResumeDeadline { deadline } => {
                let row = running.get_mut(deadline).and_then(Option::as_mut);
                let Some(row) = row.filter(|r| r.status == deadline_store::SUSPENDED) else { continue };
                let Some(d) = ctx.def.deadlines.iter().find(|x| &x.name == deadline) else { continue };
                // The time suspended does not count: an hour clock moves by the time it stood
                // still, a day clock by the days it stood still (suspended and resumed on one
                // day moves nothing), and a last day that falls on a day off moves on to the
                // next working day.
                let suspended_at = row.suspended_at.unwrap_or(ctx.at);
                let due = if d.unit == DeadlineUnit::Hours {
                    let moved = DateTime::from_timestamp_micros(row.due_at + (ctx.at - suspended_at))
                        .unwrap_or(DateTime::UNIX_EPOCH);
                    Counted {
                        value: Due { at: moved, last_day: moved.with_timezone(&Ho_Chi_Minh).date_naive() },
                        complete: true,
                    }
                } else {
                    let local_day = |micros: i64| {
                        DateTime::from_timestamp_micros(micros)
                            .unwrap_or(DateTime::UNIX_EPOCH)
                            .with_timezone(&Ho_Chi_Minh)
                            .date_naive()
                    };
                    let days = (local_day(ctx.at) - local_day(suspended_at)).num_days().max(0);
                    let last = row_due(row)?.last_day + chrono::Duration::days(days);
                    ctx.calendar.due_on(last)
                };
                again(to, &mut written, &row.id)?;
                reschedule(to, ctx, d, row, sent.get(&row.id).map_or(&[][..], Vec::as_slice), due)?;
            }
            Action::ExtendDeadline { deadline, by } => {
                let row = running.get_mut(deadline).and_then(Option::as_mut);
                let Some(row) = row.filter(|r| r.status == deadline_store::OPEN) else { continue };
                let Some(d) = ctx.def.deadlines.iter().find(|x| &x.name == deadline) else { continue };
                let current = row_due(row)?;
                let due = if d.unit == DeadlineUnit::Hours {
                    let at = current.at + chrono::Duration::hours(i64::from(*by));
                    Counted {
                        value: Due { at, last_day: at.with_timezone(&Ho_Chi_Minh).date_naive() },
                        complete: true,
                    }
                } else {
                    // Counted on from the current last day, in the deadline's own unit.
                    ctx.calendar.due(start_of_day(current.last_day), *by, unit_of(d.unit))
                };
                again(to, &mut written, &row.id)?;
                reschedule(to, ctx, d, row, sent.get(&row.id).map_or(&[][..], Vec::as_slice), due)?;
            }
            Action::Notify { slot: _, agency } => {
                if !notified.insert(agency.to_string()) {
                    continue;
                }
                notes.push(NotificationRow {
                    id: Uuid::now_v7().to_string(),
                    agency_code: agency.to_string(),
                    roles: String::new(),
                    kind: "step".into(),
                    instance_id: Some(ctx.instance_id.to_owned()),
                    deadline_id: None,
                    reminder_id: None,
                    subject: format!("{}: {}", ctx.def.title_vi, ctx.transition_title),
                    payload: json!({
                        "instance_id": ctx.instance_id,
                        "workflow": ctx.def.id,
                        "transition": ctx.transition,
                        "seq": ctx.seq,
                    })
                    .to_string(),
                    created_at: ctx.at,
                    read_at: None,
                    read_by: None,
                });
            }
        }
    }
    notify::write_all(to, &notes, &hooks)
}

/// Before a write to a deadline, or to its reminders, that this step has already written:
/// what is queued goes first, as a read back would have seen it.
fn again(to: &mut impl Sink, written: &mut BTreeSet<String>, id: &str) -> diesel::QueryResult<()> {
    if written.contains(id) {
        to.barrier()?;
        written.clear();
    }
    written.insert(id.to_owned());
    Ok(())
}

/// Moves a running deadline's due time, in the store and in `row`, and schedules its
/// reminders again; `sent`, the kinds it has sent, are not sent again once their time is past.
fn reschedule(
    to: &mut impl Sink,
    ctx: &StepContext<'_>,
    d: &Deadline,
    row: &mut DeadlineRow,
    sent: &[String],
    due: Counted<Due>,
) -> ApiResult<()> {
    let last_day = due.value.last_day.to_string();
    let due_at = due.value.at.timestamp_micros();
    deadline_store::reschedule(to, &row.id, due_at, &last_day, due.complete)?;
    let reminders =
        schedule(d, &row.id, due.value, row.escalate_agency.is_some(), ctx.at, ctx.calendar, sent);
    reminder_store::cancel_and_replace(to, &row.id, &reminders)?;
    row.status = deadline_store::OPEN.to_owned();
    row.suspended_at = None;
    row.due_at = due_at;
    row.due_date = last_day;
    row.calendar_complete = due.complete;
    Ok(())
}
