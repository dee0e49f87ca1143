//! A step decided: everything it writes, as a value. The engine computes every figure here
//! (the event's hash, each deadline's due time and reminders, who is told and what, the case's
//! change); the store records the plan, and the case's own rules apply the case change, in
//! one transaction.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::calendar::Due;
use super::definition::{CaseRecord, DeadlineUnit};
use super::documents::DocumentUse;
use super::history::EventBody;
use super::step::{Actor, Pending};
use crate::domain::{AgencyCode, Money, PaymentMethod, Role};

/// Everything one step writes: the instance's row, its event, the deadlines it opens, closes
/// or moves with their reminders, the notices it sends, the change to its case, and the
/// instances it starts (each a plan of its own).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub instance: InstanceWrite,
    pub event: Event,
    pub deadlines: Vec<DeadlineOp>,
    pub notices: Vec<Notice>,
    pub case: Option<CaseChange>,
    pub follow_ups: Vec<Plan>,
    /// The documents the step takes, marked as used by it.
    pub documents: Vec<DocumentUse>,
}

impl Plan {
    /// The role the actor acted under.
    pub fn role(&self) -> &str {
        &self.event.actor_role
    }

    /// The instance after the step.
    pub fn instance_id(&self) -> &str {
        match &self.instance {
            InstanceWrite::Start(new) => &new.id,
            InstanceWrite::Advance(advance) => &advance.id,
        }
    }
}

/// What happens to the instance's own row.
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceWrite {
    /// A new instance.
    Start(NewInstance),
    /// A running instance moves on, if it is still at `expected_version`.
    Advance(Advance),
}

/// A new instance as it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstance {
    pub id: String,
    pub workflow_id: String,
    pub workflow_version: u32,
    pub state: String,
    pub parties: BTreeMap<String, AgencyCode>,
    pub data: Map<String, Value>,
    pub case_id: Option<String>,
    pub reference_date: NaiveDate,
    pub at: i64,
    pub last_hash: String,
    /// The instance and event whose step started it.
    pub started_by: Option<(String, i64)>,
    /// Whether it starts in a terminal state.
    pub closed: bool,
    /// The words search finds it by (see the engine's search), its scope being its parties.
    pub numbers: String,
}

/// A running instance after a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Advance {
    pub id: String,
    pub expected_version: i64,
    pub state: String,
    pub data: Map<String, Value>,
    /// Joint steps still under way after this one.
    pub pending: Pending,
    pub at: i64,
    pub last_hash: String,
    /// Whether the step ends it: its new state is terminal.
    pub closes: bool,
    /// The agencies that see it, which no longer count it as open when it closes.
    pub parties: BTreeMap<String, AgencyCode>,
    /// The agencies the step binds to slots (see [`super::definition::DataType::Party`]):
    /// they see it from now on.
    pub bound: Vec<AgencyCode>,
    /// The words search finds it by, when the step changes them.
    pub numbers: Option<String>,
    /// The version of its workflow it continues under, when the step moves it to another.
    pub workflow_version: Option<u32>,
}

impl Advance {
    pub fn version(&self) -> i64 {
        self.expected_version + 1
    }
}

/// An event of the history, sealed into its hash chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub instance_id: String,
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_sub: String,
    pub actor_name: String,
    pub actor_agency: String,
    pub actor_role: String,
    pub transition: String,
    pub from_state: Option<String>,
    pub to_state: String,
    /// The data given with the step (a JSON object).
    pub data: Value,
    pub comment: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Who did what and when, before it is sealed.
pub(super) struct Step<'a> {
    pub instance_id: &'a str,
    pub seq: i64,
    pub prev_hash: &'a str,
    pub actor: &'a Actor,
    pub role: Role,
    pub comment: Option<&'a str>,
    pub at: i64,
    /// The first event only: the instance's identity, which its hash covers.
    pub identity: Option<&'a Value>,
}

impl Step<'_> {
    /// Seals the step's event: its hash covers the one before it.
    pub(super) fn seal(&self, transition: &str, from: Option<&str>, to: &str, data: Value) -> Event {
        let agency = self.actor.agency.to_string();
        let body = EventBody {
            instance_id: self.instance_id,
            seq: self.seq,
            occurred_at: self.at,
            actor_sub: &self.actor.sub,
            actor_name: &self.actor.name,
            actor_agency: &agency,
            actor_role: self.role.as_str(),
            transition,
            from_state: from,
            to_state: to,
            data: &data,
            comment: self.comment,
            prev_hash: self.prev_hash,
            instance: self.identity,
        };
        Event {
            hash: body.hash(),
            instance_id: self.instance_id.to_owned(),
            seq: self.seq,
            occurred_at: self.at,
            actor_sub: self.actor.sub.clone(),
            actor_name: self.actor.name.clone(),
            actor_agency: agency,
            actor_role: self.role.as_str().to_owned(),
            transition: transition.to_owned(),
            from_state: from.map(str::to_owned),
            to_state: to.to_owned(),
            data,
            comment: self.comment.map(str::to_owned),
            prev_hash: self.prev_hash.to_owned(),
        }
    }
}

/// What an instance is, as its first event's hash covers it: workflow and version, parties,
/// reference date, case, and the step that started it if another instance's step did.
pub fn identity(
    workflow: &str,
    version: i64,
    parties: &Value,
    reference_date: &str,
    case_id: Option<&str>,
    started_by: Option<(&str, i64)>,
) -> Value {
    let mut identity = json!({
        "workflow": workflow,
        "workflow_version": version,
        "parties": parties,
        "reference_date": reference_date,
        "case_id": case_id,
    });
    if let Some((parent, seq)) = started_by {
        identity["started_by"] = json!({"instance": parent, "seq": seq});
    }
    identity
}

/// What a step does to a deadline of its instance.
#[derive(Debug, Clone, PartialEq)]
pub enum DeadlineOp {
    /// A deadline of an entered state starts running.
    Open(Opening),
    /// A deadline stops: met if it stopped before its due time, missed otherwise.
    Close(Closing),
    /// A recurring deadline is met (or missed) and runs again at once.
    Restart { closing: Closing, opening: Opening },
    /// A running deadline's clock stops; its pending reminders are cancelled.
    Suspend { id: String, name: String },
    /// A suspended deadline runs again, the time suspended not counted.
    Resume(Rescheduling),
    /// A running deadline is extended by `by` of its units.
    Extend { by: u32, rescheduling: Rescheduling },
    /// A running deadline is stated anew by another version's rule (its instance moved to
    /// that version): its basis, figure, parties and due time, from when it started.
    Restate(Opening),
}

/// A deadline that starts running, with its due time and reminders computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub id: String,
    pub workflow_id: String,
    pub name: String,
    pub title: String,
    pub responsible_agency: AgencyCode,
    /// The roles that act for the responsible agency in this workflow.
    pub responsible_roles: Vec<Role>,
    /// Who is told when it passes: the agency bound to the escalation slot, if any.
    pub escalate_agency: Option<AgencyCode>,
    pub escalate_roles: Vec<Role>,
    pub legal_basis: String,
    pub operational: bool,
    pub unit: DeadlineUnit,
    pub duration: u32,
    pub starts_at: i64,
    pub due: Due,
    /// False when a year the count crossed had no holiday data.
    pub calendar_complete: bool,
    pub reminders: Vec<Reminder>,
}

/// A running deadline that stops.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub id: String,
    pub name: String,
    pub met: bool,
}

/// A running deadline's new due time, and the reminders that replace its pending ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescheduling {
    pub id: String,
    pub name: String,
    pub due: Due,
    pub calendar_complete: bool,
    pub reminders: Vec<Reminder>,
}

/// When a reminder of a deadline goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub id: String,
    pub kind: ReminderKind,
    /// For a reminder before the last day: how many working days before.
    pub working_days_before: Option<u32>,
    pub fire_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// On a working day before the last day.
    Before,
    /// On the last day (for a limit in hours, at the due time).
    Due,
    /// When the due time has passed, to the escalation slot.
    Escalation,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::Due => "due",
            Self::Escalation => "escalation",
        }
    }
}

/// A notice into an agency's inbox (and to its webhooks).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: String,
    pub agency: AgencyCode,
    /// The roles it is for (their names); everyone of the agency when empty.
    pub roles: Vec<String>,
    /// `step`, `reminder`, `due` or `escalation`.
    pub kind: String,
    pub instance_id: Option<String>,
    pub deadline_id: Option<String>,
    pub reminder_id: Option<String>,
    pub subject: String,
    pub payload: Value,
    pub created_at: i64,
}

/// What a step changes in its instance's case, once the engine has found that the acting
/// office may change it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    pub case_id: String,
    /// An amount received, and how.
    pub payment: Option<(Money, PaymentMethod)>,
    pub classification: Option<String>,
    pub status: Option<String>,
    /// An amount exempted or reduced: it comes off the amount due.
    pub reduction: Option<Money>,
    /// The office the case is entrusted to, and the number its case there takes.
    pub entrusted_to: Option<(AgencyCode, String)>,
    /// A fact recorded in the case's history: its titles, the field and its value.
    pub record: Option<(CaseRecord, Value)>,
    /// The day the change takes effect.
    pub on: NaiveDate,
    /// When the step happened, in microseconds.
    pub at: i64,
    /// The step that made it: instance, event and transition.
    pub instance_id: String,
    pub seq: i64,
    pub transition: String,
}
