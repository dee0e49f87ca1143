//! The engine's decision of a step on a running instance: who may take it, and everything it
//! does, as a [`Plan`]. Pure: the instance, its running deadlines and the world around it come
//! in as values, and nothing is read, written or sent from here.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::calendar::Calendar;
use super::checks::{bind_parties, check_dates, check_extensions, describe, holds};
use super::data;
use super::deadlines::{self, Clock, Move, RunningDeadline};
use super::definition::{Definition, LeadTime, Transition};
use super::documents::{self as docs, DocumentProblem, StoredDocument};
use super::plan::{Advance, CaseChange, InstanceWrite, Plan, Step};
use super::registry::Registry;
use super::start::{self, notices};
use crate::domain::{local_rfc3339, AgencyCode, AgencyKind, Money, PaymentMethod, Role};
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

/// What the engine needs to know of a running instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceView<'a> {
    pub id: &'a str,
    pub version: i64,
    /// The hash of its last event, which the next one's covers.
    pub last_hash: &'a str,
    pub state: &'a str,
    pub parties: &'a BTreeMap<String, AgencyCode>,
    pub data: &'a Map<String, Value>,
    pub pending: &'a Pending,
    /// The parent agency of each bound agency that has one (a superior office), by slot.
    pub parents: &'a BTreeMap<String, AgencyCode>,
    pub case_id: Option<&'a str>,
    /// Its running deadlines: needed only when a deadline may run in its state.
    pub deadlines: &'a [RunningDeadline],
    /// Who holds its case: needed only for a step that changes the case.
    pub case: Option<&'a CaseHolder>,
    /// The instances its steps started: needed only for a step that waits for them.
    pub started: &'a [Started],
}

/// An instance another one's step started, as a step waiting for it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub id: String,
    pub workflow: String,
    /// It has ended, or one of its deadlines has passed: nothing more is waited for.
    pub settled: bool,
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
    pub(super) fn province(&self) -> &AgencyCode {
        self.parent.as_ref().unwrap_or(&self.code)
    }
}
/// The office that holds a case, and the offices above it, which may act on it too; and the
/// enforcement offices directly under it (the regional offices through which a provincial
/// office acts under Law 106/2025), which may act on it as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHolder {
    pub number: String,
    pub office: AgencyCode,
    pub above: Vec<AgencyCode>,
    pub units: Vec<AgencyCode>,
}

impl CaseHolder {
    fn admits(&self, agency: &AgencyCode) -> bool {
        self.office == *agency || self.above.contains(agency) || self.units.contains(agency)
    }
}

/// What a step is decided against beyond its instance: the definitions, the legal calendar,
/// the agencies a follow-up may bind (each with its parent), the time, and where new ids come
/// from.
pub struct World<'a> {
    pub registry: &'a Registry,
    pub calendar: &'a Calendar,
    pub agencies: &'a BTreeMap<AgencyCode, BoundAgency>,
    /// The documents the step's data names, by id, as stored.
    pub documents: &'a BTreeMap<String, StoredDocument>,
    /// When the step happens, in microseconds.
    pub at: i64,
    pub ids: &'a dyn Fn() -> String,
}

impl World<'_> {
    pub(super) fn clock(&self) -> Clock<'_> {
        Clock { calendar: self.calendar, at: self.at, ids: self.ids }
    }

    /// The local day of the step.
    pub(super) fn day(&self) -> NaiveDate {
        DateTime::from_timestamp_micros(self.at)
            .unwrap_or(DateTime::UNIX_EPOCH)
            .with_timezone(&Ho_Chi_Minh)
            .date_naive()
    }
}

/// Why the engine refused a step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the instance is at version {version}, not {expected}; read it again and decide anew")]
    Stale { version: i64, expected: i64 },
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
    #[error("this step changes case {case}, which {office} holds; {agency} may not change it")]
    CaseNotYours { case: String, office: AgencyCode, agency: AgencyCode },
    #[error("this step starts {workflow}, but no version of it is in force on {day}")]
    NoDefinitionInForce { workflow: String, day: NaiveDate },
    #[error("the follow-up's parties do not exist")]
    FollowUpParties(Vec<FieldError>),
    #[error("this step starts {workflow}, which refuses what it carries over: {refusal}")]
    FollowUp { workflow: String, refusal: Box<Refusal> },
    #[error("a document the step names cannot be taken")]
    Document { problem: DocumentProblem, errors: Vec<FieldError> },
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
pub(super) fn authorize(
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

/// The agency a follow-up's party comes from: a slot's, or the parent of a slot's (`parent:slot`).
pub(super) fn source_agency(source: &str, inst: InstanceView<'_>) -> Option<AgencyCode> {
    match source.strip_prefix(PARENT_OF) {
        Some(slot) => inst.parents.get(slot).cloned(),
        None => inst.parties.get(source).cloned(),
    }
}

/// The prefix of a follow-up party taken from the parent of a slot's agency.
pub const PARENT_OF: &str = "parent:";

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
        && still_waiting(t, inst).is_none()
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

/// Why a step that waits for the instances of some workflows that this one started cannot be
/// taken yet: one of them has neither ended nor passed a deadline.
fn still_waiting(t: &Transition, inst: InstanceView<'_>) -> Option<String> {
    let open = inst.started.iter().find(|s| t.waits_for.contains(&s.workflow) && !s.settled)?;
    Some(format!("{} {} has neither ended nor passed its deadline", open.workflow, open.id))
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
/// Decides one step of a running instance seen at `expected_version`: the plan of everything
/// it writes, or why it is refused.
pub fn fire(
    def: &Definition,
    inst: InstanceView<'_>,
    actor: &Actor,
    (transition, expected_version): (&str, i64),
    given: &Map<String, Value>,
    comment: Option<&str>,
    world: &World<'_>,
) -> Result<Plan, Refusal> {
    if inst.version != expected_version {
        return Err(Refusal::Stale { version: inst.version, expected: expected_version });
    }
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
    if let Some(reason) = t.before.as_ref().and_then(|b| too_late(b, inst.data, world.at)) {
        return Err(Refusal::GuardFailed { transition: t.name.clone(), reason });
    }
    if let Some(reason) = still_waiting(t, inst) {
        return Err(Refusal::GuardFailed { transition: t.name.clone(), reason });
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
    let (data, documents) = match pending {
        Some(p) if signed_before > 0 => (p.proposal.clone(), Vec::new()),
        _ => {
            let mut data =
                data::validate(&t.data, given, inst.data, world.calendar).map_err(Refusal::InvalidData)?;
            let documents = docs::resolve(&t.data, &mut data, world.documents, &actor.agency)?;
            data.extend(t.records.iter().map(|(k, v)| (k.clone(), Value::Bool(*v))));
            (data, documents)
        }
    };
    let mut merged = inst.data.clone();
    merged.extend(data.clone());
    check_dates(&t.checks, &merged, world.calendar)?;
    check_extensions(def, &t.name, &data)?;
    // The agencies the step binds to slots see the instance, act and are reminded from now on.
    let bound = bind_parties(def, &t.data, &data, inst, world.agencies)?;
    let newly_bound: Vec<AgencyCode> = bound.as_ref().map(|b| b.new.clone()).unwrap_or_default();
    let inst = match &bound {
        Some(b) => InstanceView { parties: &b.parties, parents: &b.parents, ..inst },
        None => inst,
    };

    let seq = inst.version + 1;
    let step = Step {
        instance_id: inst.id,
        seq,
        prev_hash: inst.last_hash,
        actor,
        role,
        comment,
        at: world.at,
        identity: None,
    };
    let numbers_before = super::search::instance_words(def, inst.data);
    let advance = |state: &str, data: Map<String, Value>, pending: Pending, last_hash: String| Advance {
        // Written again when they change, and when the agencies that find it by them do.
        numbers: Some(super::search::instance_words(def, &data))
            .filter(|after| *after != numbers_before || (!newly_bound.is_empty() && !after.is_empty())),
        id: inst.id.to_owned(),
        expected_version: inst.version,
        state: state.to_owned(),
        data,
        pending,
        at: world.at,
        last_hash,
        closes: def.is_terminal(state),
        parties: inst.parties.clone(),
        bound: newly_bound.clone(),
        workflow_version: None,
    };
    if let Some(slot) = signer.clone().filter(|_| signed_before + 1 < t.signed_by.len()) {
        // Not everyone has signed: the instance stays as it is; the others are told to sign.
        let first = signed_before == 0;
        let mut recorded = Map::new();
        if first {
            recorded.insert(PROPOSAL.to_owned(), Value::Object(data.clone()));
        }
        let event = step.seal(&t.name, Some(inst.state), inst.state, Value::Object(recorded));
        let mut after = inst.pending.clone();
        let entry = after.entry(t.name.clone()).or_default();
        if first {
            entry.proposal = data;
        }
        entry.signatures.push(Signature {
            slot: slot.clone(),
            sub: actor.sub.clone(),
            name: actor.name.clone(),
            agency: actor.agency.to_string(),
            role: role.as_str().to_owned(),
            at: local_rfc3339(world.at),
            seq,
        });
        let to_sign = t
            .signed_by
            .iter()
            .filter(|s| **s != slot && !pending.is_some_and(|p| p.signatures.iter().any(|x| x.slot == **s)))
            .filter_map(|s| inst.parties.get(s));
        let notices = notices(def, &event, &t.title_vi, to_sign, world);
        return Ok(Plan {
            instance: InstanceWrite::Advance(advance(
                inst.state,
                inst.data.clone(),
                after,
                event.hash.clone(),
            )),
            event,
            deadlines: Vec::new(),
            notices,
            case: None,
            follow_ups: Vec::new(),
            documents,
        });
    }

    let to = t.routes.iter().find(|r| holds(&r.when, &merged)).map_or(&t.to, |r| &r.to).clone();
    let starting = start::starting(t, &data);
    let event = step.seal(&t.name, Some(inst.state), &to, Value::Object(data));
    let moved = Move {
        from: Some(inst.state),
        to: &to,
        transition: Some(&t.name),
        parties: inst.parties,
        before: inst.data,
        after: &merged,
    };
    let deadlines = deadlines::plan(def, &moved, inst.deadlines, &world.clock());
    let told = t.notify.iter().filter_map(|slot| inst.parties.get(slot));
    let notices = notices(def, &event, &t.title_vi, told, world);
    let case = case_change(t, inst, actor, &merged, (seq, world))?;
    let follow_ups = start::follow_ups(&starting, inst, actor, role, &merged, seq, world)?;
    // Signatures of a joint step stand while only its signers act: any other step, or a
    // change of state, voids them.
    let mut after = match signer {
        Some(_) if to == inst.state => inst.pending.clone(),
        _ => Pending::new(),
    };
    after.remove(&t.name);
    Ok(Plan {
        instance: InstanceWrite::Advance(advance(&to, merged, after, event.hash.clone())),
        event,
        deadlines,
        notices,
        case,
        follow_ups,
        documents,
    })
}

/// What the step changes in the instance's case, if its definition says it changes one and
/// the instance has one; refused when the acting office neither holds the case nor is above
/// the office that does.
fn case_change(
    t: &Transition,
    inst: InstanceView<'_>,
    actor: &Actor,
    data: &Map<String, Value>,
    (seq, world): (i64, &World<'_>),
) -> Result<Option<CaseChange>, Refusal> {
    let (Some(effect), Some(case_id), Some(holder)) = (&t.case, inst.case_id, inst.case) else {
        return Ok(None);
    };
    if effect.when.as_ref().is_some_and(|w| !holds(w, data)) {
        return Ok(None);
    }
    // The office a case is entrusted to takes it over by the step.
    let receiver = effect.entrust_to.as_ref().and_then(|slot| inst.parties.get(slot));
    if !holder.admits(&actor.agency) && receiver != Some(&actor.agency) {
        return Err(Refusal::CaseNotYours {
            case: holder.number.clone(),
            office: holder.office.clone(),
            agency: actor.agency.clone(),
        });
    }
    // An amount of the step's data above zero, if given.
    let money_of = |field: &String| -> Result<Option<Money>, Refusal> {
        let Some(raw) = data.get(field).and_then(Value::as_str) else { return Ok(None) };
        let amount = Money::parse(raw)
            .map_err(|reason| Refusal::InvalidData(vec![FieldError::new(format!("data.{field}"), reason)]))?;
        Ok((!amount.value().is_zero()).then_some(amount))
    };
    let payment = effect.payment.as_ref().map(money_of).transpose()?.flatten();
    let payment = payment.map(|amount| (amount, effect.method.unwrap_or(PaymentMethod::Other)));
    let reduction = effect.reduce_due.as_ref().map(money_of).transpose()?.flatten();
    let entrusted_to = match (receiver, effect.number.as_ref()) {
        (Some(agency), Some(field)) => {
            let number = data.get(field).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
            Some((agency.clone(), number))
        }
        _ => None,
    };
    let record = effect.record.as_ref().and_then(|r| Some((r.clone(), data.get(&r.field)?.clone())));
    Ok(Some(CaseChange {
        case_id: case_id.to_owned(),
        payment,
        classification: effect.classification.clone(),
        status: effect.status.clone(),
        reduction,
        entrusted_to,
        record,
        on: day_of(data, effect.on.as_deref()).unwrap_or_else(|| world.day()),
        at: world.at,
        instance_id: inst.id.to_owned(),
        seq,
        transition: t.name.clone(),
    }))
}

/// Why a step that must come `lead.hours` before the time in `lead.field` comes too late, if
/// it does; a time not given yet leaves nothing to be late for.
fn too_late(lead: &LeadTime, data: &Map<String, Value>, at: i64) -> Option<String> {
    let raw = data.get(&lead.field)?.as_str()?;
    let time = DateTime::parse_from_rfc3339(raw).ok()?;
    let latest = time.timestamp_micros() - i64::from(lead.hours) * 3_600_000_000;
    (at > latest).then(|| {
        format!("only until {} hours before {} ({raw}): {}", lead.hours, lead.field, lead.legal_basis)
    })
}

/// The local day a date or datetime field gives.
fn day_of(data: &Map<String, Value>, field: Option<&str>) -> Option<NaiveDate> {
    let raw = data.get(field?)?.as_str()?;
    raw.parse::<NaiveDate>().ok().or_else(|| {
        DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Ho_Chi_Minh).date_naive())
    })
}

#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;
