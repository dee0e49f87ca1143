//! What a step does to its instance's deadlines, decided in full: which open (with their due
//! time by the calendar's counting and their reminders), which close as met or missed, which
//! are suspended, resumed or extended, and when their reminders go out anew.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde_json::{Map, Value};

use super::calendar::{start_of, Calendar, Counted, Due, Unit};
use super::checks::holds;
use super::definition::{Deadline, DeadlineUnit, Definition};
use super::plan::{Closing, DeadlineOp, Opening, Reminder, ReminderKind, Rescheduling};
use crate::domain::{AgencyCode, Role};

/// The hour (local) at which reminders of a coming due day go out.
const REMINDER_HOUR: i64 = 8;

/// A deadline of the instance that is running (open or suspended) when a step begins.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningDeadline {
    pub id: String,
    pub name: String,
    pub due: Due,
    /// When its clock started, in microseconds.
    pub starts_at: i64,
    /// When its clock stopped, while it is suspended.
    pub suspended_at: Option<i64>,
    /// Whether an agency is bound to its escalation.
    pub escalates: bool,
    /// The kinds of its reminders already sent, so that a notice of the last day or an
    /// escalation is not sent twice. Read only for a deadline the step may resume or extend.
    pub sent: Vec<ReminderKind>,
}

/// Where the step happens, for its deadlines.
pub(super) struct Clock<'a> {
    pub calendar: &'a Calendar,
    /// When the step happens, in microseconds.
    pub at: i64,
    pub ids: &'a dyn Fn() -> String,
}

/// The step whose deadlines are decided: from which state to which, by which transition (none
/// at the start), with the data before and after it.
pub(super) struct Move<'a> {
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub transition: Option<&'a str>,
    pub parties: &'a BTreeMap<String, AgencyCode>,
    pub before: &'a Map<String, Value>,
    pub after: &'a Map<String, Value>,
}

fn applies(deadline: &Deadline, data: &Map<String, Value>) -> bool {
    deadline.when.as_ref().is_none_or(|c| holds(c, data))
}

fn covers(deadline: &Deadline, state: Option<&str>) -> bool {
    state.is_some_and(|s| deadline.states.iter().any(|x| x == s))
}

/// Whether a deadline of the definition may be running in `state`: a step from there has its
/// running deadlines read first.
pub fn may_run_in(def: &Definition, state: &str) -> bool {
    def.deadlines.iter().any(|d| covers(d, Some(state)))
}

/// The deadlines `transition` may resume or extend: for those the step needs to know which
/// reminders have gone out.
pub fn rescheduled_by<'d>(def: &'d Definition, transition: &str) -> Vec<&'d str> {
    let named = |list: &[String]| list.iter().any(|t| t == transition);
    def.deadlines
        .iter()
        .filter(|d| named(&d.resumed_by) || named(&d.extended_by))
        .map(|d| d.name.as_str())
        .collect()
}

/// The deadline operations of a step, in the order of the definition's deadlines.
pub(super) fn plan(
    def: &Definition,
    step: &Move<'_>,
    running: &[RunningDeadline],
    clock: &Clock<'_>,
) -> Vec<DeadlineOp> {
    let mut running: BTreeMap<&str, RunningDeadline> =
        running.iter().map(|r| (r.name.as_str(), r.clone())).collect();
    let mut ops = Vec::new();
    for d in &def.deadlines {
        let was = covers(d, step.from) && applies(d, step.before);
        let runs_now = covers(d, Some(step.to)) && applies(d, step.after);
        let named = |list: &[String]| step.transition.is_some_and(|t| list.iter().any(|x| x == t));
        let restarted = named(&d.restarted_by);
        // A clock stops when the instance leaves its states or its condition no longer holds.
        let closing = (was && (!runs_now || restarted))
            .then(|| running.remove(d.name.as_str()))
            .flatten()
            .map(|r| close(&r, clock.at));
        let opening = (runs_now && (!was || restarted)).then(|| open(def, d, step, clock)).flatten();
        match (closing, opening) {
            (Some(closing), Some(opening)) => ops.push(DeadlineOp::Restart { closing, opening }),
            (Some(closing), None) => ops.push(DeadlineOp::Close(closing)),
            (None, Some(opening)) => ops.push(DeadlineOp::Open(opening)),
            (None, None) => {}
        }
        // Suspension and extension apply to a clock that keeps running through the step.
        if !(was && runs_now && !restarted) {
            continue;
        }
        let Some(r) = running.get_mut(d.name.as_str()) else { continue };
        if named(&d.suspended_by) && r.suspended_at.is_none() {
            r.suspended_at = Some(clock.at);
            ops.push(DeadlineOp::Suspend { id: r.id.clone(), name: r.name.clone() });
        }
        if named(&d.resumed_by) {
            if let Some(suspended_at) = r.suspended_at {
                let due = resumed(d, r, suspended_at, clock);
                ops.push(DeadlineOp::Resume(reschedule(d, r, due, clock)));
            }
        }
        let by = d.extension_field.as_ref().and_then(|f| step.after.get(f)).and_then(Value::as_u64);
        if let (true, Some(by), None) = (named(&d.extended_by), by, r.suspended_at) {
            let by = u32::try_from(by).unwrap_or(u32::MAX);
            let due = extended(d, r, by, clock);
            ops.push(DeadlineOp::Extend { by, rescheduling: reschedule(d, r, due, clock) });
        }
    }
    ops
}

/// Met if the clock stopped (at the step, or when it was suspended) before the due time.
fn close(r: &RunningDeadline, at: i64) -> Closing {
    let stopped = r.suspended_at.unwrap_or(at);
    Closing { id: r.id.clone(), name: r.name.clone(), met: stopped < r.due.at.timestamp_micros() }
}

fn text_of<'a>(data: &'a Map<String, Value>, field: Option<&String>) -> Option<&'a str> {
    field.and_then(|f| data.get(f)).and_then(Value::as_str)
}

/// Reads a start given in the data: a date (the event is that day) or an RFC 3339 time.
fn parse_start(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(day) = raw.parse::<NaiveDate>() {
        return Some(start_of(day));
    }
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

pub(super) fn unit_of(unit: DeadlineUnit) -> Unit {
    match unit {
        DeadlineUnit::CalendarDays => Unit::CalendarDays,
        DeadlineUnit::WorkingDays => Unit::WorkingDays,
        DeadlineUnit::Hours => Unit::Hours,
        DeadlineUnit::Months => Unit::Months,
    }
}

fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::UNIX_EPOCH)
}

/// The roles that act for a slot: those of the steps that slot's agency may take.
pub(super) fn roles_of(def: &Definition, slot: &str) -> Vec<Role> {
    let mut roles: Vec<Role> = def
        .transitions
        .iter()
        .filter(|t| t.slots().iter().any(|s| s == slot))
        .flat_map(|t| t.roles.iter().copied())
        .collect();
    if def.create.party == slot {
        roles.extend(def.create.roles.iter().copied());
    }
    roles.sort_unstable_by_key(|r| r.as_str());
    roles.dedup();
    roles
}

/// A deadline that starts running now, unless no agency is bound to the slot responsible for
/// it (an optional party): nobody to hold to it.
fn open(def: &Definition, d: &Deadline, step: &Move<'_>, clock: &Clock<'_>) -> Option<Opening> {
    opening(def, d, step, clock, None)
}

/// When a deadline's clock starts and when it is due by its rule alone, for data `data`: from
/// its start field, else from `start` (microseconds).
fn by_rule(
    d: &Deadline,
    data: &Map<String, Value>,
    start: i64,
    clock: &Clock<'_>,
) -> (DateTime<Utc>, Counted<Due>) {
    let start =
        text_of(data, d.starts_from_field.as_ref()).and_then(parse_start).unwrap_or_else(|| instant(start));
    let due = match text_of(data, d.due_date_field.as_ref()).and_then(|s| s.parse::<NaiveDate>().ok()) {
        Some(day) => clock.calendar.due_on(day),
        None => clock.calendar.due(start, d.duration, unit_of(d.unit)),
    };
    (start, due)
}

/// The due time of running deadline `r`, stated anew by rule `d` where `was` stated it: the
/// same if the rule is the same; otherwise by the new rule, moved on by what extensions and
/// suspensions had added to the old one.
fn due_anew(
    d: &Deadline,
    was: Option<&Deadline>,
    r: &RunningDeadline,
    data: &Map<String, Value>,
    clock: &Clock<'_>,
) -> Counted<Due> {
    let same = |w: &Deadline| {
        (w.unit, w.duration, &w.starts_from_field, &w.due_date_field)
            == (d.unit, d.duration, &d.starts_from_field, &d.due_date_field)
    };
    let (_, plain) = by_rule(d, data, r.starts_at, clock);
    let Some(was) = was else { return plain };
    if same(was) {
        return Counted { value: r.due, complete: true };
    }
    let (_, old_plain) = by_rule(was, data, r.starts_at, clock);
    if d.unit == DeadlineUnit::Hours {
        let added = (r.due.at - old_plain.value.at).max(Duration::zero());
        return hours_due(plain.value.at + added);
    }
    let added = (r.due.last_day - old_plain.value.last_day).num_days().max(0);
    if added == 0 {
        return plain;
    }
    clock.calendar.due_on(plain.value.last_day + Duration::days(added))
}

/// A deadline as `def` states it, for the instance as `step` leaves it: started now, or (for
/// `again`, a running deadline stated anew with its due time) when it started, its sent
/// reminders not repeated.
fn opening(
    def: &Definition,
    d: &Deadline,
    step: &Move<'_>,
    clock: &Clock<'_>,
    again: Option<(&RunningDeadline, Counted<Due>)>,
) -> Option<Opening> {
    let responsible = step.parties.get(&d.responsible)?.clone();
    // An optional slot named first takes the escalation when an agency is bound to it.
    let escalate_slot = match &d.escalate_first_to {
        Some(first) if step.parties.contains_key(first) => first,
        _ => &d.escalate_to,
    };
    let escalate_agency = step.parties.get(escalate_slot).cloned();
    let (start, due) = by_rule(d, step.after, again.map_or(clock.at, |(r, _)| r.starts_at), clock);
    let due = again.map_or(due, |(_, due)| due);
    let id = again.map_or_else(|| (clock.ids)(), |(r, _)| r.id.clone());
    let sent = again.map(|(r, _)| r.sent.as_slice()).unwrap_or_default();
    let reminders = schedule(d, due.value, escalate_agency.is_some(), clock, sent);
    Some(Opening {
        id,
        workflow_id: def.id.clone(),
        name: d.name.clone(),
        title: d.title_vi.clone(),
        responsible_agency: responsible,
        responsible_roles: roles_of(def, &d.responsible),
        escalate_agency,
        escalate_roles: roles_of(def, escalate_slot),
        legal_basis: d.legal_basis.clone(),
        operational: d.operational,
        unit: d.unit,
        duration: d.duration,
        starts_at: start.timestamp_micros(),
        due: due.value,
        calendar_complete: due.complete,
        reminders,
    })
}

/// The deadlines of an instance that moves from version `old` to `def`, into `step.to`: each of
/// the new version's deadlines that runs there is stated anew by its rule from when it started,
/// if it was running (its due time kept when the rule is the same, extensions and suspensions
/// carried over when not; a suspended one is left as it stands), or opens now; a running one
/// the new version does not run there stops.
pub(super) fn restated(
    (old, def): (&Definition, &Definition),
    step: &Move<'_>,
    running: &[RunningDeadline],
    clock: &Clock<'_>,
) -> Vec<DeadlineOp> {
    let mut ops = Vec::new();
    let mut kept = Vec::new();
    for d in def.deadlines.iter().filter(|d| covers(d, Some(step.to)) && applies(d, step.after)) {
        match running.iter().find(|r| r.name == d.name) {
            Some(r) if r.suspended_at.is_some() => kept.push(&r.id),
            Some(r) => {
                kept.push(&r.id);
                let was = old.deadlines.iter().find(|w| w.name == d.name);
                let due = due_anew(d, was, r, step.after, clock);
                ops.extend(opening(def, d, step, clock, Some((r, due))).map(DeadlineOp::Restate));
            }
            None => ops.extend(open(def, d, step, clock).map(DeadlineOp::Open)),
        }
    }
    for r in running.iter().filter(|r| !kept.contains(&&r.id)) {
        ops.push(DeadlineOp::Close(close(r, clock.at)));
    }
    ops
}

/// A due time in the deadline's own terms: an hour limit at an instant, a day limit at the
/// end of its last day (or of the next working day).
fn hours_due(at: DateTime<Utc>) -> Counted<Due> {
    Counted { value: Due { at, last_day: at.with_timezone(&Ho_Chi_Minh).date_naive() }, complete: true }
}

/// The time suspended does not count: an hour clock moves by the time it stood still, a day
/// clock by the days it stood still (suspended and resumed on one day moves nothing), and a
/// last day that falls on a day off moves on to the next working day.
fn resumed(d: &Deadline, r: &RunningDeadline, suspended_at: i64, clock: &Clock<'_>) -> Counted<Due> {
    if d.unit == DeadlineUnit::Hours {
        return hours_due(instant(r.due.at.timestamp_micros() + (clock.at - suspended_at)));
    }
    let local_day = |micros: i64| instant(micros).with_timezone(&Ho_Chi_Minh).date_naive();
    let days = (local_day(clock.at) - local_day(suspended_at)).num_days().max(0);
    clock.calendar.due_on(r.due.last_day + Duration::days(days))
}

/// Counted on from the current last day, in the deadline's own unit.
fn extended(d: &Deadline, r: &RunningDeadline, by: u32, clock: &Clock<'_>) -> Counted<Due> {
    if d.unit == DeadlineUnit::Hours {
        return hours_due(r.due.at + Duration::hours(i64::from(by)));
    }
    clock.calendar.due(start_of(r.due.last_day), by, unit_of(d.unit))
}

/// Moves a running deadline's due time (in `r` too, for the operations after this one) and
/// schedules its reminders again; those it has sent are not sent again once their time is past.
fn reschedule(d: &Deadline, r: &mut RunningDeadline, due: Counted<Due>, clock: &Clock<'_>) -> Rescheduling {
    let reminders = schedule(d, due.value, r.escalates, clock, &r.sent);
    r.suspended_at = None;
    r.due = due.value;
    Rescheduling {
        id: r.id.clone(),
        name: r.name.clone(),
        due: due.value,
        calendar_complete: due.complete,
        reminders,
    }
}

/// The reminders of a deadline that runs until `due`: the chosen working days before its last
/// day and the last day itself (at 08:00; for a limit in hours, the due time), and the
/// escalation when it has passed. Reminders before the last day whose time has gone by are not
/// created; the notice of the last day and the escalation are, once: when they already went
/// out (`sent`) and their new time is past too, they are not sent again.
pub(super) fn schedule(
    d: &Deadline,
    due: Due,
    escalates: bool,
    clock: &Clock<'_>,
    sent: &[ReminderKind],
) -> Vec<Reminder> {
    let now = clock.at;
    let at_eight = |day: NaiveDate| (start_of(day) + Duration::hours(REMINDER_HOUR)).timestamp_micros();
    let reminder = |kind, working_days_before, fire_at| Reminder {
        id: (clock.ids)(),
        kind,
        working_days_before,
        fire_at,
    };
    let mut out = Vec::new();
    if d.unit != DeadlineUnit::Hours {
        let mut days: Vec<u32> = d.reminders.clone();
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        for k in days {
            let at = at_eight(clock.calendar.sub_working_days(due.last_day, k).value);
            if at > now {
                out.push(reminder(ReminderKind::Before, Some(k), at));
            }
        }
    }
    let due_at = due.at.timestamp_micros();
    let last_day_at = if d.unit == DeadlineUnit::Hours { due_at } else { at_eight(due.last_day) };
    let again = |kind: ReminderKind, at: i64| at > now || !sent.contains(&kind);
    if again(ReminderKind::Due, last_day_at) {
        out.push(reminder(ReminderKind::Due, None, last_day_at));
    }
    if escalates && again(ReminderKind::Escalation, due_at) {
        out.push(reminder(ReminderKind::Escalation, None, due_at));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::engine::registry::Registry;

    /// A running deadline moved to a version whose rule is other: counted by the new rule from
    /// when it started, plus the days an extension had added; with the same rule, kept.
    #[test]
    fn a_deadline_stated_anew_keeps_what_extensions_added() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let registry = Registry::load_dir(&root.join("workflows")).unwrap();
        let calendar = Calendar::load(&root.join("workflows/calendar/holidays.toml")).unwrap();
        let ids = || "id".to_owned();
        let clock = Clock { calendar: &calendar, at: 0, ids: &ids };
        let old = registry.get("court_transfer", 1).unwrap();
        let rule = old.deadlines.iter().find(|d| d.name == "enforcement_decision").unwrap();
        let data: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"received_date": "2026-11-02"})).unwrap();
        let (start, plain) = by_rule(rule, &data, 0, &clock);
        // Extended by 3 days beyond what the rule gives.
        let extended = clock.calendar.due_on(plain.value.last_day + Duration::days(3)).value;
        let running = RunningDeadline {
            id: "d".into(),
            name: rule.name.clone(),
            due: extended,
            starts_at: start.timestamp_micros(),
            suspended_at: None,
            escalates: true,
            sent: Vec::new(),
        };
        assert_eq!(
            due_anew(rule, Some(rule), &running, &data, &clock).value,
            extended,
            "the same rule keeps it"
        );
        let longer = Deadline { duration: rule.duration + 5, ..rule.clone() };
        let (_, by_longer) = by_rule(&longer, &data, 0, &clock);
        let anew = due_anew(&longer, Some(rule), &running, &data, &clock).value;
        assert_eq!(anew, clock.calendar.due_on(by_longer.value.last_day + Duration::days(3)).value);
        assert!(anew.last_day > extended.last_day);
    }
}
