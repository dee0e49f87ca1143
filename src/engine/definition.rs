//! A validated workflow definition. Built only by the loader, which checks every reference,
//! so the engine can rely on states, slots and fields named here existing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{AgencyKind, PaymentMethod, Role};

pub use super::meaning::{Coercion, OperationFields, OperationStage, Supervision};

/// One version of a workflow, as a definition file states it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Definition {
    pub id: String,
    pub version: u32,
    /// First day (inclusive) on which new instances take this version.
    pub valid_from: NaiveDate,
    /// Last day (inclusive) on which new instances take this version; open-ended when absent.
    pub valid_until: Option<NaiveDate>,
    pub title_vi: String,
    pub title_en: String,
    /// The law the version follows, such as "Luật THADS 26/2008/QH12 (sửa đổi 2014, 2022)".
    pub law: String,
    pub parties: Vec<Party>,
    /// Rules on which agencies may be bound together.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub party_rules: Vec<PartyRule>,
    pub states: Vec<State>,
    pub initial_state: String,
    pub create: CreateRule,
    pub transitions: Vec<Transition>,
    pub deadlines: Vec<Deadline>,
    /// For a two-party handover: which fields hold the manifest and the receipt.
    pub handover: Option<Handover>,
    /// Set when the instances are coercion operations: what the coercion calendar and the
    /// steering page read of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coercion: Option<Coercion>,
    /// Set when each instance is an instrument of the procuracy's supervision: what the
    /// procuracy's page and the coordination report read of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervision: Option<Supervision>,
    /// Which running instances of earlier versions may move to this one, as the law that
    /// brought this version in provides; none may when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitional: Option<Transitional>,
    #[serde(skip)]
    pub source: PathBuf,
}

/// The transitional rule of the law a version follows: the earlier versions whose running
/// instances may continue under this one, and the states in which an instance continues under
/// the version it started with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transitional {
    pub from_versions: Vec<u32>,
    /// States (of the earlier versions) whose instances stay under their version until they end.
    pub stay: Vec<String>,
    pub legal_basis: String,
    /// True when the rule is this definition's reading, not a figure or list the text sets.
    pub operational: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A named slot that an instance binds to one agency of the given kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Party {
    pub slot: String,
    pub kind: AgencyKind,
    /// An optional slot may be left unbound; its steps are then unavailable.
    pub required: bool,
    /// An optional slot becomes required when this holds on the creation data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_when: Option<Condition>,
    pub title_vi: String,
    pub title_en: String,
}

/// A rule on the agencies bound to some slots.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartyRule {
    pub rule: PartyRuleKind,
    pub slots: Vec<String>,
    pub legal_basis: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyRuleKind {
    /// The agencies must belong to different provinces: not the same agency, nor two offices
    /// under one provincial parent, nor a provincial office and one of its own offices.
    DifferentProvince,
    /// The first slot's agency is the parent (the superior office) of the second's.
    ParentOf,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct State {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    /// A terminal state ends the instance; nothing leaves it.
    pub terminal: bool,
}

/// Who may start an instance and what data they must give.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreateRule {
    pub party: String,
    pub roles: Vec<Role>,
    pub data: Vec<DataField>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<DateCheck>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transition {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    pub from: Vec<String>,
    /// Where the step leads unless one of `routes` applies.
    pub to: String,
    /// The party slot whose agency fires this transition (absent for a joint step).
    pub party: Option<String>,
    /// For a joint step: every one of these slots must sign before the instance moves on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    pub roles: Vec<Role>,
    /// Optional slots that must be bound for the step to be available.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires_parties: Vec<String>,
    /// The step is available only while this holds on the instance's data.
    pub guard: Option<Condition>,
    /// Other destinations, the first whose condition holds after the step's data is merged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    pub data: Vec<DataField>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<DateCheck>,
    /// The step must come at least so many hours before a time the instance holds, such as
    /// a postponement asked before a scheduled coercion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<LeadTime>,
    /// Party slots told when the transition happens.
    pub notify: Vec<String>,
    /// Instances of other workflows this step starts, linked to this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub starts: Vec<FollowUp>,
    /// Workflows whose instances, started by this one's steps, must each have ended or be
    /// past a deadline before this step is open (answers awaited, or their time run out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
    /// What the step changes in the case the instance belongs to (for a joint step, when its
    /// last signature makes it take effect).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseEffect>,
    /// Yes-or-no facts the step records in the instance's data by being taken (a second
    /// verification done), which later guards may read; never given by a client.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub records: BTreeMap<String, bool>,
}

/// What a step records in its instance's case: a classification, a status, or a payment
/// taken from one of the step's money fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseEffect {
    /// `enforceable`, `not_yet_enforceable` or `unclassified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// `open`, `suspended`, `completed` or `terminated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A money field of the step whose amount, when above zero, is recorded as a payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
    /// How the payment was collected (with `payment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<PaymentMethod>,
    /// The date or datetime field that dates the change; the step's day when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// A money field of the step whose amount, exempted or reduced, comes off the amount due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reduce_due: Option<String>,
    /// A party slot the case is entrusted to: the case closes as entrusted at its office and
    /// a case opens at the agency bound to the slot for what is outstanding, numbered by the
    /// text field `number`. That agency may take the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrust_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// A fact the case's history records: the value of a field under a title (a decision
    /// cancelled on a complaint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<CaseRecord>,
    /// The change applies only when this holds on the instance's data after the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
}

/// What a step records in its case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CaseRecord {
    pub field: String,
    pub title_vi: String,
    pub title_en: String,
}

/// The media types a document field may accept: those the service reads from a file's bytes.
pub const MEDIA_TYPES: [&str; 8] = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "text/plain",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

/// The classifications and statuses a step may give a case.
pub const CASE_CLASSIFICATIONS: [&str; 3] = ["enforceable", "not_yet_enforceable", "unclassified"];
pub const CASE_STEP_STATUSES: [&str; 4] = ["open", "suspended", "completed", "terminated"];

impl Transition {
    /// The slots that act in this step: its party, or every signer of a joint step.
    pub fn slots(&self) -> &[String] {
        match &self.party {
            Some(party) => std::slice::from_ref(party),
            None => &self.signed_by,
        }
    }

    pub fn is_joint(&self) -> bool {
        !self.signed_by.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Route {
    pub when: Condition,
    pub to: String,
}

/// An instance of another workflow started by a step, its parties and data carried over.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUp {
    pub workflow: String,
    /// Slot of the new instance to slot of this one, or to `parent:slot`, the superior office
    /// of the agency bound to that slot.
    pub parties: BTreeMap<String, String>,
    /// Field of the new instance's creation data to field of this one's data.
    pub data: BTreeMap<String, String>,
    /// Field of the new instance's creation data to a fixed value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// Started only when the step's own data gives this field (a step that may ask several
    /// agencies at once starts one instance for each it names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_given: Option<String>,
    /// Where the file declares it, for problems found across files.
    #[serde(skip)]
    pub line: usize,
}

/// A piece of data a step requires or accepts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DataType,
    pub required: bool,
    /// An optional field becomes required when this holds on the data (given or earlier).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_when: Option<Condition>,
    pub title_vi: String,
    pub title_en: String,
    /// The allowed values of a `choice` field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// For a `receipt`: the `items` field whose lines it confirms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// For a `datetime` or `date`: a legal rule the time or day must satisfy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_rule: Option<TimeRule>,
    /// With the coercion time rule: the Tết window, which concerns a coercion that mobilises
    /// forces, does not apply when this holds (the plan says it mobilises none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tet_window_unless: Option<Condition>,
    /// For a `document`: the media types accepted, as read from the file's bytes (any when
    /// empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
    /// For a `document`: the largest file accepted, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// For a `document`: whether several are given, as a list of document ids.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub multiple: bool,
    /// For a `text`: whether search finds the instance by it (a number of a judgment, a
    /// decision, a register entry). Never personal data: that is a case's, and search finds
    /// it there only for those who may see it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub searchable: bool,
    /// For the data an instance starts with: set only when another instance's step starts it
    /// (by the follow-up's `values`), never by a client.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub follow_up_only: bool,
    /// For a `party`: the slot the step binds the agency to.
    #[serde(rename = "slot", skip_serializing_if = "Option::is_none")]
    pub binds: Option<String>,
    /// Only the agencies bound to these slots see the value (a denouncer's identity): not the
    /// instance's other parties, nor auditors or admins. Such a field is never searchable,
    /// never carried to a follow-up and never part of a joint step; notices carry no data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub visible_to: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Text,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 with an offset.
    Datetime,
    /// A decimal string, in VND.
    Money,
    Integer,
    Boolean,
    /// A list of items: description, quantity, unit, seal, declared value.
    Items,
    /// One line per item of a manifest: received, missing or damaged.
    Receipt,
    /// One of `options`.
    Choice,
    /// A document uploaded beforehand (`POST /api/v1/documents`), named by its id; the step
    /// records its SHA-256, name, type and size.
    Document,
    /// An agency's code, which the step binds to the party slot the field names (`slot`): the
    /// office assigned, the auction organisation contracted. From that step on the agency
    /// sees the instance, acts for the slot and is reminded of its deadlines.
    Party,
}

impl DataType {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "text" => Self::Text,
            "date" => Self::Date,
            "datetime" => Self::Datetime,
            "money" => Self::Money,
            "integer" => Self::Integer,
            "boolean" => Self::Boolean,
            "items" => Self::Items,
            "receipt" => Self::Receipt,
            "choice" => Self::Choice,
            "document" => Self::Document,
            "party" => Self::Party,
            _ => return None,
        })
    }
}

/// A legal rule on a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeRule {
    /// No coercion at night (22:00-06:00), on rest days, on holidays or around Tết.
    Coercion,
}

/// A limit between two dates of a step's data, such as a protest lodged within 15 days of
/// receiving the decision it contests.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DateCheck {
    /// The later date.
    pub field: String,
    /// The earlier date it is measured from.
    pub after_field: String,
    /// The most calendar days allowed between them.
    pub within_days: Option<u32>,
    /// The fewest calendar days allowed between them (a window that must have passed).
    pub at_least_days: Option<u32>,
    /// The fewest months allowed between them: a window of months that must have passed, which
    /// ends on the corresponding day of its last month (its last day if it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least_months: Option<u32>,
    pub when: Option<Condition>,
    pub legal_basis: String,
}

/// How long before a datetime of the instance's data a step must be taken.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadTime {
    /// The datetime field (of the instance's data, as it stands before the step).
    pub field: String,
    pub hours: u32,
    pub legal_basis: String,
}

/// A legal time limit, opened when the instance enters one of `states` from outside them and
/// closed when it leaves them all.
#[derive(Debug, Clone, Serialize, ToSchema)]
// Named apart from the open deadline rows of `/deadlines`, whose schema is `Deadline`.
#[schema(as = DeadlineRule)]
pub struct Deadline {
    pub name: String,
    /// What is due, as people read it in the inbox, the notices and the reports.
    pub title_vi: String,
    pub title_en: String,
    pub states: Vec<String>,
    pub duration: u32,
    pub unit: DeadlineUnit,
    /// A date or datetime field that starts the clock; the state's entry when absent.
    pub starts_from_field: Option<String>,
    /// A date field that, when given, is itself the due date (a date set in a document).
    pub due_date_field: Option<String>,
    /// The party slot that must act.
    pub responsible: String,
    /// The party slot told when the deadline is missed (a required slot).
    pub escalate_to: String,
    /// An optional slot told instead of `escalate_to` when an agency is bound to it (the
    /// steering committee of a complex coercion, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalate_first_to: Option<String>,
    /// Article and law, such as "Điều 36 khoản 1 Luật THADS 26/2008/QH12".
    pub legal_basis: String,
    /// The figure is this definition's operational choice: the text cited obliges to act but
    /// sets no such time (or says "immediately"). Shown with the deadline wherever it is.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub operational: bool,
    /// Applies only when this holds on the instance's data.
    pub when: Option<Condition>,
    /// Steps that meet the deadline and start it again (a recurring obligation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restarted_by: Vec<String>,
    /// Steps that stop the clock (the time until resumed does not count), and that restart it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suspended_by: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumed_by: Vec<String>,
    /// Steps that extend the deadline by the number (in its unit) in `extension_field`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extended_by: Vec<String>,
    pub extension_field: Option<String>,
    /// Reminders before the due day, in working days (for limits in days or months).
    pub reminders: Vec<u32>,
    /// Why a number is as it is, where the law leaves it uncertain.
    pub note: Option<String>,
    /// The instrument (an option of the supervision's instrument field) this deadline is the
    /// reply to: the coordination report counts the procuracy's instruments by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineUnit {
    CalendarDays,
    WorkingDays,
    Hours,
    Months,
}

impl DeadlineUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CalendarDays => "calendar_days",
            Self::WorkingDays => "working_days",
            Self::Hours => "hours",
            Self::Months => "months",
        }
    }
}

/// A condition on an instance's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Condition {
    /// A choice field has one of these values.
    FieldIn {
        field: String,
        #[serde(rename = "in")]
        values: Vec<String>,
    },
    /// A boolean field has this value.
    FieldIs { field: String, is: bool },
    /// A receipt field records at least one line not received as sent.
    Discrepancy { discrepancy_in: String },
}

/// Which fields make up a two-party handover record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Handover {
    pub sender: String,
    pub receiver: String,
    /// The `items` field the sender fills.
    pub manifest: String,
    /// The `receipt` field the receiver fills (and a resolution may restate).
    pub receipt: String,
}

impl Definition {
    /// Removes from `data` what a viewer may not see: the value of each field visible only to
    /// slots (see [`DataField::visible_to`]) none of which `bound` says the viewer's agency is
    /// bound to. Auditors and admins, bound to no slot, see none of them.
    pub fn withhold(
        &self,
        data: &mut serde_json::Map<String, serde_json::Value>,
        bound: impl Fn(&str) -> bool,
    ) {
        for field in self.fields() {
            if !field.visible_to.is_empty() && !field.visible_to.iter().any(|s| bound(s)) {
                data.remove(&field.name);
            }
        }
    }

    /// The fields search finds its instances by, each once, as declared.
    pub fn searchable_fields(&self) -> impl Iterator<Item = &str> {
        let mut seen: Vec<&str> = Vec::new();
        self.create
            .data
            .iter()
            .chain(self.transitions.iter().flat_map(|t| t.data.iter()))
            .filter(|f| f.searchable && f.kind == DataType::Text)
            .map(|f| f.name.as_str())
            .filter(move |name| {
                let new = !seen.contains(name);
                seen.push(name);
                new
            })
    }

    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| s.name == name)
    }

    /// Whether `state` ends an instance.
    pub fn is_terminal(&self, state: &str) -> bool {
        self.state(state).is_some_and(|s| s.terminal)
    }

    pub fn transition(&self, name: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.name == name)
    }

    pub fn party(&self, slot: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.slot == slot)
    }

    /// The `party` fields of its steps, each with the slot it binds.
    pub fn bindings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.transitions
            .iter()
            .flat_map(|t| &t.data)
            .filter_map(|f| Some((f.name.as_str(), f.binds.as_deref()?)))
    }

    /// Whether a step binds this slot: it is never bound when an instance starts.
    pub fn bound_by_step(&self, slot: &str) -> bool {
        self.bindings().any(|(_, s)| s == slot)
    }

    /// Every data field a step of this workflow declares, creation first.
    pub fn fields(&self) -> impl Iterator<Item = &DataField> {
        self.create.data.iter().chain(self.transitions.iter().flat_map(|t| t.data.iter()))
    }

    /// Whether new instances with this legal reference date take this version.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_until.is_none_or(|until| date <= until)
    }
}
