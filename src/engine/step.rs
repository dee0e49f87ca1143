//! The engine: pure decisions, no I/O.
//!
//! Given a definition, an instance and an actor, it decides whether a step is allowed and
//! what follows from it: the new state, the normalized data, the effects (`Action`s) to carry
//! out after commit, and the follow-up instances to start with it. The store records the
//! decision; nothing is sent from here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::data;
use super::definition::{
    Condition, DateCheck, Deadline, DeadlineUnit, Definition, PartyRuleKind, Transition,
};
use crate::domain::{AgencyCode, AgencyKind, Role};
use crate::engine::calendar::Calendar;
use crate::error::FieldError;

/// Who is acting, as their token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub sub: String,
    pub name: String,
    pub agency: AgencyCode,
    pub roles: Vec<Role>,
}

impl Actor {
    /// Auditors and admins read every instance; everyone else only their agency's.
    pub fn reads_everything(&self) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::Auditor | Role::Admin))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the actor may see an instance with these parties.
    pub fn can_see(&self, parties: &BTreeMap<String, AgencyCode>) -> bool {
        self.reads_everything() || parties.values().any(|a| *a == self.agency)
    }
}

/// One signature on a joint step still waiting for others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signature {
    pub slot: String,
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub role: String,
    pub at: String,
    /// The event that recorded it.
    pub seq: i64,
}

/// A joint step under way: what the first signer proposed, and the signatures so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingJoint {
    /// The data the step will record once every party has signed.
    pub proposal: Map<String, Value>,
    pub signatures: Vec<Signature>,
}

/// Joint steps under way, by transition name.
pub type Pending = BTreeMap<String, PendingJoint>;

/// The key under which a first signature's event records the proposal it makes: field names
/// never start with an underscore, and the instance's data takes the proposal only once the
/// last party has signed.
pub const PROPOSAL: &str = "_proposal";

/// What the engine needs to know of an instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceView<'a> {
    pub state: &'a str,
    pub parties: &'a BTreeMap<String, AgencyCode>,
    pub data: &'a Map<String, Value>,
    pub pending: &'a Pending,
    /// The parent agency of each bound agency that has one (a superior office), by slot.
    pub parents: &'a BTreeMap<String, AgencyCode>,
}

/// An agency as bound to a slot: what the party checks need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundAgency {
    pub code: AgencyCode,
    pub kind: AgencyKind,
    pub parent: Option<AgencyCode>,
}

impl BoundAgency {
    /// The agency that stands for its province: its parent if it has one, else itself.
    fn province(&self) -> &AgencyCode {
        self.parent.as_ref().unwrap_or(&self.code)
    }
}

/// An effect decided by a step, carried out after the step commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A deadline of the entered states starts running.
    OpenDeadline {
        deadline: String,
        responsible: AgencyCode,
        /// The slot told when it is missed, and the agency bound to it.
        escalate_slot: String,
        escalate_to: Option<AgencyCode>,
        /// The value of the data field that starts the clock; the step's time when absent.
        starts_at: Option<String>,
        /// A due date set by the document itself, which then replaces the computed one.
        due_date: Option<String>,
    },
    /// A deadline of the left states stops: met if not yet due, missed otherwise.
    CloseDeadline { deadline: String },
    /// A running deadline's clock stops until it is resumed.
    SuspendDeadline { deadline: String },
    /// A suspended deadline runs again; the time it was suspended does not count.
    ResumeDeadline { deadline: String },
    /// A running deadline is extended by `by` of its units.
    ExtendDeadline { deadline: String, by: u32 },
    /// An agency is told of the step.
    Notify { slot: String, agency: AgencyCode },
}

/// An instance of another workflow that a step starts.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpRequest {
    pub workflow: String,
    pub parties: BTreeMap<String, AgencyCode>,
    pub data: Map<String, Value>,
}

/// Where a joint step stands after a signature.
#[derive(Debug, Clone, PartialEq)]
pub struct JointProgress {
    /// The slot the actor signed for.
    pub slot: String,
    /// Whether every slot has now signed.
    pub complete: bool,
    /// The data the first signer proposed (on the first signature only).
    pub proposal: Option<Map<String, Value>>,
}

/// What a step does, once the engine has allowed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub transition: String,
    pub from: Option<String>,
    pub to: String,
    /// The role under which the actor acted.
    pub role: Role,
    /// The step's own data, normalized.
    pub data: Map<String, Value>,
    /// The instance's data after the step.
    pub merged_data: Map<String, Value>,
    pub actions: Vec<Action>,
    pub follow_ups: Vec<FollowUpRequest>,
    /// Set for a signature on a joint step.
    pub joint: Option<JointProgress>,
}

/// Why the engine refused a step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("workflow has no transition {0:?}")]
    UnknownTransition(String),
    #[error("transition {transition:?} cannot be fired from state {state:?}")]
    NotFromState { transition: String, state: String },
    #[error("transition {transition:?} is not open for this instance: {reason}")]
    GuardFailed { transition: String, reason: String },
    #[error("only the agency bound to party {slot:?} may do this")]
    WrongAgency { slot: String },
    #[error("this step needs one of the roles {}", .allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
    WrongRole { allowed: Vec<Role> },
    #[error("{0}")]
    AlreadySigned(String),
    #[error("the parties do not fit the workflow")]
    InvalidParties(Vec<FieldError>),
    #[error("the data does not fit the step")]
    InvalidData(Vec<FieldError>),
}

/// Finds the role under which the actor may act among `allowed`.
fn role_for(actor: &Actor, allowed: &[Role]) -> Result<Role, Refusal> {
    allowed
        .iter()
        .copied()
        .find(|r| actor.has_role(*r))
        .ok_or_else(|| Refusal::WrongRole { allowed: allowed.to_vec() })
}

/// Checks that the actor may act for `slot` under one of `allowed`; returns the role used.
fn authorize(
    actor: &Actor,
    parties: &BTreeMap<String, AgencyCode>,
    slot: &str,
    allowed: &[Role],
) -> Result<Role, Refusal> {
    if parties.get(slot) != Some(&actor.agency) {
        return Err(Refusal::WrongAgency { slot: slot.to_owned() });
    }
    role_for(actor, allowed)
}

/// Whether a condition holds on an instance's data.
pub fn holds(condition: &Condition, data: &Map<String, Value>) -> bool {
    match condition {
        Condition::FieldIn { field, values } => {
            data.get(field).and_then(Value::as_str).is_some_and(|v| values.iter().any(|x| x == v))
        }
        Condition::FieldIs { field, is } => data.get(field).and_then(Value::as_bool).unwrap_or(false) == *is,
        Condition::Discrepancy { discrepancy_in } => {
            data.get(discrepancy_in).is_some_and(data::has_discrepancy)
        }
    }
}

fn describe(condition: &Condition) -> String {
    match condition {
        Condition::FieldIn { field, values } => format!("only when {field} is {}", values.join(" or ")),
        Condition::FieldIs { field, is } => format!("only when {field} is {is}"),
        Condition::Discrepancy { discrepancy_in } => {
            format!("only when {discrepancy_in} records a discrepancy")
        }
    }
}

fn applies(deadline: &Deadline, data: &Map<String, Value>) -> bool {
    deadline.when.as_ref().is_none_or(|c| holds(c, data))
}

fn covers(deadline: &Deadline, state: Option<&str>) -> bool {
    state.is_some_and(|s| deadline.states.iter().any(|x| x == s))
}

fn text_of(data: &Map<String, Value>, field: Option<&String>) -> Option<String> {
    field.and_then(|f| data.get(f)).and_then(Value::as_str).map(str::to_owned)
}

fn open(d: &Deadline, parties: &BTreeMap<String, AgencyCode>, data: &Map<String, Value>) -> Option<Action> {
    // No agency bound to the responsible slot (an optional party): nobody to hold to it.
    let responsible = parties.get(&d.responsible)?.clone();
    // An optional slot named first takes the escalation when an agency is bound to it.
    let escalate_slot = match &d.escalate_first_to {
        Some(first) if parties.contains_key(first) => first,
        _ => &d.escalate_to,
    };
    Some(Action::OpenDeadline {
        deadline: d.name.clone(),
        responsible,
        escalate_to: parties.get(escalate_slot).cloned(),
        escalate_slot: escalate_slot.clone(),
        starts_at: text_of(data, d.starts_from_field.as_ref()),
        due_date: text_of(data, d.due_date_field.as_ref()),
    })
}

/// The deadline actions of moving from `from` to `to` by `transition` (None at the start).
fn deadline_actions(
    def: &Definition,
    from: Option<&str>,
    to: &str,
    transition: Option<&str>,
    parties: &BTreeMap<String, AgencyCode>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for d in &def.deadlines {
        let was = covers(d, from) && applies(d, before);
        let runs_now = covers(d, Some(to)) && applies(d, after);
        let restarted = transition.is_some_and(|t| d.restarted_by.iter().any(|r| r == t));
        // A clock stops when the instance leaves its states or its condition no longer holds.
        if was && (!runs_now || restarted) {
            actions.push(Action::CloseDeadline { deadline: d.name.clone() });
        }
        if runs_now && (!was || restarted) {
            actions.extend(open(d, parties, after));
        }
        // Suspension and extension apply to a clock that keeps running through the step.
        if was && runs_now && !restarted {
            if let Some(t) = transition {
                let named = |list: &[String]| list.iter().any(|x| x == t);
                if named(&d.suspended_by) {
                    actions.push(Action::SuspendDeadline { deadline: d.name.clone() });
                }
                if named(&d.resumed_by) {
                    actions.push(Action::ResumeDeadline { deadline: d.name.clone() });
                }
                let by = d.extension_field.as_ref().and_then(|f| after.get(f)).and_then(Value::as_u64);
                if let (true, Some(by)) = (named(&d.extended_by), by) {
                    actions.push(Action::ExtendDeadline {
                        deadline: d.name.clone(),
                        by: u32::try_from(by).unwrap_or(u32::MAX),
                    });
                }
            }
        }
    }
    actions
}

/// The most one extension may grant, in the deadline's own unit.
fn max_extension(unit: DeadlineUnit) -> i64 {
    match unit {
        DeadlineUnit::CalendarDays | DeadlineUnit::WorkingDays => 365,
        DeadlineUnit::Months => 12,
        DeadlineUnit::Hours => 720,
    }
}

/// Refuses an extension that grants nothing, takes time away, or more than a year.
fn check_extensions(def: &Definition, transition: &str, data: &Map<String, Value>) -> Result<(), Refusal> {
    let mut errors: Vec<FieldError> = Vec::new();
    for d in def.deadlines.iter().filter(|d| d.extended_by.iter().any(|t| t == transition)) {
        let Some(field) = &d.extension_field else { continue };
        let max = max_extension(d.unit);
        let given = data.get(field).map(|v| v.as_i64().filter(|n| (1..=max).contains(n)));
        let path = format!("data.{field}");
        if given == Some(None) && !errors.iter().any(|e| e.field == path) {
            errors.push(FieldError::new(
                path,
                format!("an extension grants 1 to {max} (in the deadline's unit)"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidData(errors))
    }
}

/// Refuses dates further apart than a check allows.
fn check_dates(checks: &[DateCheck], data: &Map<String, Value>) -> Result<(), Refusal> {
    let date = |f: &str| {
        let raw = data.get(f)?.as_str()?;
        NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()
    };
    let mut errors = Vec::new();
    for c in checks.iter().filter(|c| c.when.as_ref().is_none_or(|w| holds(w, data))) {
        if let (Some(later), Some(earlier)) = (date(&c.field), date(&c.after_field)) {
            let days = (later - earlier).num_days();
            if let Some(max) = c.within_days.filter(|max| days > i64::from(*max)) {
                errors.push(FieldError::new(
                    format!("data.{}", c.field),
                    format!(
                        "{later} is {days} days after {} ({earlier}); the limit is {max} days ({})",
                        c.after_field, c.legal_basis
                    ),
                ));
            } else if let Some(min) = c.at_least_days.filter(|min| days >= 0 && days < i64::from(*min)) {
                errors.push(FieldError::new(
                    format!("data.{}", c.field),
                    format!(
                        "{later} is only {days} days after {} ({earlier}); at least {min} must pass ({})",
                        c.after_field, c.legal_basis
                    ),
                ));
            } else if days < 0 {
                errors.push(FieldError::new(
                    format!("data.{}", c.field),
                    format!("{later} is before {} ({earlier})", c.after_field),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidData(errors))
    }
}

/// Checks the agencies bound to the slots against the definition's parties and rules;
/// `given` is the creation data, on which a slot may be required.
fn check_parties(
    def: &Definition,
    parties: &BTreeMap<String, BoundAgency>,
    given: &Map<String, Value>,
) -> Result<(), Refusal> {
    let mut errors = Vec::new();
    for p in &def.parties {
        let required_now = p.required_when.as_ref().is_some_and(|c| holds(c, given));
        match parties.get(&p.slot) {
            None if p.required => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!("required: the code of a {} agency", p.kind.as_str()),
            )),
            None if required_now => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!(
                    "required here ({}): the code of a {} agency",
                    p.required_when.as_ref().map(describe).unwrap_or_default().trim_start_matches("only "),
                    p.kind.as_str()
                ),
            )),
            Some(a) if a.kind != p.kind => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!(
                    "{} is a {} agency; this slot takes a {} agency",
                    a.code,
                    a.kind.as_str(),
                    p.kind.as_str()
                ),
            )),
            _ => {}
        }
    }
    for slot in parties.keys().filter(|s| def.party(s).is_none()) {
        errors.push(FieldError::new(format!("parties.{slot}"), "not a party slot of this workflow"));
    }
    for rule in &def.party_rules {
        let bound: Vec<(&String, &BoundAgency)> =
            rule.slots.iter().filter_map(|s| parties.get(s).map(|a| (s, a))).collect();
        match rule.rule {
            PartyRuleKind::ParentOf => {
                if let [(superior_slot, superior), (slot, lower)] = bound[..] {
                    if lower.parent.as_ref() != Some(&superior.code) {
                        errors.push(FieldError::new(
                            format!("parties.{superior_slot}"),
                            format!(
                                "{} is not the superior office of {} ({slot}) ({})",
                                superior.code, lower.code, rule.legal_basis
                            ),
                        ));
                    }
                }
            }
            PartyRuleKind::DifferentProvince => {
                for (i, (slot, a)) in bound.iter().enumerate() {
                    if let Some((other, b)) = bound[..i].iter().find(|(_, b)| b.province() == a.province()) {
                        errors.push(FieldError::new(
                            format!("parties.{slot}"),
                            format!(
                                "{} and {} ({other}) belong to one province, which this step does not allow ({})",
                                a.code, b.code, rule.legal_basis
                            ),
                        ));
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidParties(errors))
    }
}

/// The agency a follow-up's party comes from: a slot's, or the parent of a slot's (`parent:slot`).
fn source_agency(source: &str, inst: InstanceView<'_>) -> Option<AgencyCode> {
    match source.strip_prefix(PARENT_OF) {
        Some(slot) => inst.parents.get(slot).cloned(),
        None => inst.parties.get(source).cloned(),
    }
}

/// The prefix of a follow-up party taken from the parent of a slot's agency.
pub const PARENT_OF: &str = "parent:";

fn follow_ups(t: &Transition, inst: InstanceView<'_>, data: &Map<String, Value>) -> Vec<FollowUpRequest> {
    t.starts
        .iter()
        .map(|f| FollowUpRequest {
            workflow: f.workflow.clone(),
            parties: f
                .parties
                .iter()
                .filter_map(|(target, source)| Some((target.clone(), source_agency(source, inst)?)))
                .collect(),
            data: f
                .data
                .iter()
                .filter_map(|(target, source)| Some((target.clone(), data.get(source)?.clone())))
                .chain(f.values.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect(),
        })
        .collect()
}

/// Decides the start of a new instance: the parties bound to agencies, the actor, and the
/// creation data.
pub fn start(
    def: &Definition,
    parties: &BTreeMap<String, BoundAgency>,
    actor: &Actor,
    given: &Map<String, Value>,
    calendar: &Calendar,
) -> Result<Decision, Refusal> {
    check_parties(def, parties, given)?;
    let codes = codes(parties);
    let role = authorize(actor, &codes, &def.create.party, &def.create.roles)?;
    let mut decision = begin(def, &codes, role, given, calendar)?;
    // The other parties learn of the new instance; the one that started it knows.
    decision.actions.extend(notify_all(&codes, Some(&actor.agency)));
    Ok(decision)
}

/// Tells every bound agency but `except`, once per slot.
fn notify_all(parties: &BTreeMap<String, AgencyCode>, except: Option<&AgencyCode>) -> Vec<Action> {
    parties
        .iter()
        .filter(|(_, agency)| Some(*agency) != except)
        .map(|(slot, agency)| Action::Notify { slot: slot.clone(), agency: agency.clone() })
        .collect()
}

/// Decides the start of an instance that another instance's step starts: the parties and
/// data are carried over, and the actor is whoever fired that step, under the role they used.
pub fn start_follow_up(
    def: &Definition,
    parties: &BTreeMap<String, BoundAgency>,
    role: Role,
    given: &Map<String, Value>,
    calendar: &Calendar,
) -> Result<Decision, Refusal> {
    check_parties(def, parties, given)?;
    let codes = codes(parties);
    let mut decision = begin(def, &codes, role, given, calendar)?;
    decision.actions.extend(notify_all(&codes, None));
    Ok(decision)
}

fn codes(parties: &BTreeMap<String, BoundAgency>) -> BTreeMap<String, AgencyCode> {
    parties.iter().map(|(slot, a)| (slot.clone(), a.code.clone())).collect()
}

fn begin(
    def: &Definition,
    parties: &BTreeMap<String, AgencyCode>,
    role: Role,
    given: &Map<String, Value>,
    calendar: &Calendar,
) -> Result<Decision, Refusal> {
    let data =
        data::validate(&def.create.data, given, &Map::new(), calendar).map_err(Refusal::InvalidData)?;
    check_dates(&def.create.checks, &data)?;
    let actions = deadline_actions(def, None, &def.initial_state, None, parties, &Map::new(), &data);
    Ok(Decision {
        transition: "create".into(),
        from: None,
        to: def.initial_state.clone(),
        role,
        merged_data: data.clone(),
        data,
        actions,
        follow_ups: Vec::new(),
        joint: None,
    })
}

/// The slot the actor would sign for in a joint step, and the role they would sign under.
fn joint_signer(
    def: &Definition,
    t: &Transition,
    inst: InstanceView<'_>,
    actor: &Actor,
) -> Result<(String, Role), Refusal> {
    let signed = inst.pending.get(&t.name).map(|p| p.signatures.as_slice()).unwrap_or_default();
    let mine: Vec<&String> =
        t.signed_by.iter().filter(|s| inst.parties.get(*s) == Some(&actor.agency)).collect();
    let Some(first) = mine.first() else {
        return Err(Refusal::WrongAgency { slot: t.signed_by.join(" or ") });
    };
    let Some(slot) = mine.iter().find(|s| !signed.iter().any(|x| x.slot == ***s)) else {
        return Err(Refusal::AlreadySigned(format!(
            "{} has already signed {:?} for {first:?}; the other parties must sign now",
            actor.agency, t.name
        )));
    };
    // The role must be one that can act for the kind of agency the slot takes.
    let kind = def.party(slot).map(|p| p.kind);
    let fitting: Vec<Role> =
        t.roles.iter().copied().filter(|r| kind.is_some_and(|k| r.acts_for(k))).collect();
    Ok(((*slot).clone(), role_for(actor, &fitting)?))
}

/// Whether the actor may fire `t` now (state, guard, agency, role, signatures).
fn may_fire(def: &Definition, t: &Transition, inst: InstanceView<'_>, actor: &Actor) -> bool {
    t.from.iter().any(|f| f == inst.state)
        && t.guard.as_ref().is_none_or(|g| holds(g, inst.data))
        && missing_party(t, inst).is_none()
        && if t.is_joint() {
            joint_signer(def, t, inst, actor).is_ok()
        } else {
            t.party.as_ref().is_some_and(|p| authorize(actor, inst.parties, p, &t.roles).is_ok())
        }
}

/// The transitions the actor may fire now.
pub fn available<'d>(def: &'d Definition, inst: InstanceView<'_>, actor: &Actor) -> Vec<&'d Transition> {
    def.transitions.iter().filter(|t| may_fire(def, t, inst, actor)).collect()
}

/// Why a step cannot be taken for want of an agency: an unbound slot it needs, or a slot
/// whose agency has no parent when a follow-up is to go to the parent.
fn missing_party(t: &Transition, inst: InstanceView<'_>) -> Option<String> {
    if let Some(unbound) =
        t.slots().iter().chain(&t.requires_parties).find(|s| !inst.parties.contains_key(*s))
    {
        return Some(format!("no agency is bound to party {unbound:?}"));
    }
    t.starts.iter().flat_map(|f| f.parties.values()).find_map(|source| {
        let slot = source.strip_prefix(PARENT_OF)?;
        let agency = inst.parties.get(slot)?;
        (!inst.parents.contains_key(slot))
            .then(|| format!("{agency} ({slot}) has no superior agency on record"))
    })
}

/// Decides one step of a running instance.
pub fn fire(
    def: &Definition,
    inst: InstanceView<'_>,
    actor: &Actor,
    transition: &str,
    given: &Map<String, Value>,
    calendar: &Calendar,
) -> Result<Decision, Refusal> {
    let t = def.transition(transition).ok_or_else(|| Refusal::UnknownTransition(transition.to_owned()))?;
    if let Some(reason) = missing_party(t, inst) {
        return Err(Refusal::GuardFailed { transition: t.name.clone(), reason });
    }
    let (role, signer) = if t.is_joint() {
        let (slot, role) = joint_signer(def, t, inst, actor)?;
        (role, Some(slot))
    } else {
        let party = t.party.as_deref().unwrap_or_default();
        (authorize(actor, inst.parties, party, &t.roles)?, None)
    };
    if !t.from.iter().any(|f| f == inst.state) {
        return Err(Refusal::NotFromState { transition: t.name.clone(), state: inst.state.to_owned() });
    }
    if let Some(guard) = t.guard.as_ref().filter(|g| !holds(g, inst.data)) {
        return Err(Refusal::GuardFailed { transition: t.name.clone(), reason: describe(guard) });
    }

    // A joint step: the first signer proposes the data; the others sign it as it stands; it
    // takes effect with the last signature.
    let pending = inst.pending.get(&t.name);
    let signed_before = pending.map_or(0, |p| p.signatures.len());
    if signed_before > 0 && !given.is_empty() {
        return Err(Refusal::InvalidData(vec![FieldError::new(
            "data",
            "the data of this joint step was proposed with its first signature; sign it as it stands \
             (a comment may say more)",
        )]));
    }
    let data = match pending {
        Some(p) if signed_before > 0 => p.proposal.clone(),
        _ => data::validate(&t.data, given, inst.data, calendar).map_err(Refusal::InvalidData)?,
    };
    let mut merged = inst.data.clone();
    merged.extend(data.clone());
    check_dates(&t.checks, &merged)?;
    check_extensions(def, &t.name, &data)?;

    if let Some(slot) = signer.clone().filter(|_| signed_before + 1 < t.signed_by.len()) {
        // Not everyone has signed: the instance stays as it is; the others are told to sign.
        let actions = t
            .signed_by
            .iter()
            .filter(|s| **s != slot && !pending.is_some_and(|p| p.signatures.iter().any(|x| x.slot == **s)))
            .filter_map(|s| Some(Action::Notify { slot: s.clone(), agency: inst.parties.get(s)?.clone() }))
            .collect();
        let first = signed_before == 0;
        let mut recorded = Map::new();
        if first {
            recorded.insert(PROPOSAL.to_owned(), Value::Object(data.clone()));
        }
        return Ok(Decision {
            transition: t.name.clone(),
            from: Some(inst.state.to_owned()),
            to: inst.state.to_owned(),
            role,
            data: recorded,
            merged_data: inst.data.clone(),
            actions,
            follow_ups: Vec::new(),
            joint: Some(JointProgress { slot, complete: false, proposal: first.then_some(data) }),
        });
    }
    let joint = signer.map(|slot| JointProgress { slot, complete: true, proposal: None });

    let to = t.routes.iter().find(|r| holds(&r.when, &merged)).map_or(&t.to, |r| &r.to).clone();
    let mut actions =
        deadline_actions(def, Some(inst.state), &to, Some(&t.name), inst.parties, inst.data, &merged);
    for slot in &t.notify {
        if let Some(agency) = inst.parties.get(slot) {
            actions.push(Action::Notify { slot: slot.clone(), agency: agency.clone() });
        }
    }
    Ok(Decision {
        transition: t.name.clone(),
        from: Some(inst.state.to_owned()),
        to,
        role,
        follow_ups: follow_ups(t, inst, &merged),
        data,
        merged_data: merged,
        actions,
        joint,
    })
}

#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;
