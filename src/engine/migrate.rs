//! Moving a running instance from the version of its workflow it started under to another, as
//! the later version's transitional rule allows: the state it continues in, its deadlines
//! stated anew by the new version's rules, and an event of its history that says so. Pure,
//! like a step: decided as a [`Plan`] the store records.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::checks::holds;
use super::deadlines::{self, Move};
use super::definition::{DataField, Definition};
use super::plan::{Advance, DeadlineOp, InstanceWrite, Plan, Step};
use super::start::notices;
use super::step::{Actor, InstanceView, World};
use crate::domain::{local_rfc3339, Role};

/// The transition an instance's move to another version records in its history. Definitions
/// cannot name a transition so: their names start with a letter.
pub const MIGRATION: &str = "_migration";

/// A move of the running instances of one version to another, with the state each continues
/// in; a state not named continues in the state of the same name, if the new version has one.
pub struct Migration<'a> {
    pub from: &'a Definition,
    pub to: &'a Definition,
    pub states: &'a BTreeMap<String, String>,
    /// The run that moves it, recorded with the event.
    pub run: &'a str,
}

impl Migration<'_> {
    /// The state an instance in `state` continues in, if there is one.
    pub fn target(&self, state: &str) -> Option<&str> {
        match self.states.get(state) {
            Some(to) => Some(to),
            None => self.to.state(state).map(|s| s.name.as_str()),
        }
    }
}

/// Why an instance cannot move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObstacleCode {
    /// Its state has no mapping and the new version has no state of that name.
    NoMapping,
    /// The transitional rule keeps instances in its state under their version.
    StaysUnderItsVersion,
    /// A joint step is half signed: it must be completed or voided first.
    SignaturesPending,
    /// The new version requires data the instance does not hold.
    DataMissing,
    /// The new version needs an agency the instance has not bound.
    PartyUnbound,
    /// The instance binds a party the new version does not have.
    PartyUnknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Obstacle {
    pub code: ObstacleCode,
    pub detail: String,
}

impl Obstacle {
    fn new(code: ObstacleCode, detail: String) -> Self {
        Self { code, detail }
    }
}

/// What a move does to one deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineChangeKind {
    /// Running, stated anew by the new version's rule from when it started.
    Recomputed,
    /// Not running before; the new version runs it in the state the instance continues in.
    Opened,
    /// Running before; the new version does not run it there.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeadlineChange {
    pub name: String,
    pub change: DeadlineChangeKind,
    /// Its due time before the move, if it was running.
    pub due_before: Option<String>,
    /// Its due time after the move, if it runs on.
    pub due_after: Option<String>,
    /// The basis it is stated on after the move.
    pub legal_basis: Option<String>,
    pub operational: bool,
}

/// An instance moved: the plan that records it, and what it does, as a dry run shows it.
#[derive(Debug, Clone)]
pub struct Moved {
    pub plan: Plan,
    pub to_state: String,
    pub deadlines: Vec<DeadlineChange>,
}

/// The required fields of `fields` the data does not hold.
fn missing<'f>(fields: &'f [DataField], data: &Map<String, Value>) -> Vec<&'f str> {
    fields
        .iter()
        .filter(|f| f.required || f.required_when.as_ref().is_some_and(|c| holds(c, data)))
        .filter(|f| !data.contains_key(&f.name))
        .map(|f| f.name.as_str())
        .collect()
}

/// Why the instance cannot continue in `to` under the new version: its transitional rule,
/// half-signed steps, parties the new version does not have or needs bound, the data the
/// creation and a step into `to` give there, and a state from which no step could be taken.
fn obstacles(m: &Migration<'_>, inst: InstanceView<'_>, to: &str) -> Vec<Obstacle> {
    let new = m.to;
    let mut found = Vec::new();
    let rule = new.transitional.as_ref();
    if let Some(rule) = rule.filter(|r| r.stay.iter().any(|s| s == inst.state)) {
        found.push(Obstacle::new(
            ObstacleCode::StaysUnderItsVersion,
            format!("an instance in {:?} continues under its version: {}", inst.state, rule.legal_basis),
        ));
    }
    for name in inst.pending.keys() {
        found.push(Obstacle::new(
            ObstacleCode::SignaturesPending,
            format!("{name:?} is signed by some parties only: complete it, or let another step void it"),
        ));
    }
    for slot in inst.parties.keys().filter(|s| new.party(s).is_none()) {
        found.push(Obstacle::new(
            ObstacleCode::PartyUnknown,
            format!("party {slot:?} has no place in version {}", new.version),
        ));
    }
    let unbound = |slot: &String| !inst.parties.contains_key(slot);
    for p in new.parties.iter().filter(|p| p.required && unbound(&p.slot)) {
        found.push(Obstacle::new(
            ObstacleCode::PartyUnbound,
            format!("version {} requires party {:?}, which is not bound", new.version, p.slot),
        ));
    }
    for field in missing(&new.create.data, inst.data) {
        found.push(Obstacle::new(
            ObstacleCode::DataMissing,
            format!("version {} starts an instance with {field:?}, which this one lacks", new.version),
        ));
    }
    // A step into the target state must have been possible: the data of the closest one.
    let entering = new
        .transitions
        .iter()
        .filter(|t| !t.from.iter().any(|f| f == to) && (t.to == to || t.routes.iter().any(|r| r.to == to)));
    let closest = entering.map(|t| (t, missing(&t.data, inst.data))).min_by_key(|(_, gaps)| gaps.len());
    if let Some((t, gaps)) = closest.filter(|_| to != new.initial_state) {
        for field in gaps {
            found.push(Obstacle::new(
                ObstacleCode::DataMissing,
                format!(
                    "in version {} step {:?} gives {field:?} on the way to {to:?}; this instance lacks it",
                    new.version, t.name
                ),
            ));
        }
    }
    // From the target state some step must be possible, or the instance would be stuck there.
    let leaving: Vec<_> = new.transitions.iter().filter(|t| t.from.iter().any(|f| f == to)).collect();
    let stuck = !leaving.is_empty()
        && leaving.iter().all(|t| t.slots().iter().chain(&t.requires_parties).any(unbound));
    if stuck {
        let mut slots: Vec<&str> = leaving
            .iter()
            .flat_map(|t| t.slots().iter().chain(&t.requires_parties))
            .filter(|s| unbound(s))
            .map(String::as_str)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        found.push(Obstacle::new(
            ObstacleCode::PartyUnbound,
            format!(
                "in {to:?} every step of version {} needs party {}, which is not bound",
                new.version,
                slots.join(" or ")
            ),
        ));
    }
    found
}

/// Decides the move of one running instance of `m.from` to `m.to`, or why it cannot move.
pub fn migrate(
    m: &Migration<'_>,
    inst: InstanceView<'_>,
    actor: &Actor,
    world: &World<'_>,
) -> Result<Moved, Vec<Obstacle>> {
    let Some(to) = m.target(inst.state) else {
        return Err(vec![Obstacle::new(
            ObstacleCode::NoMapping,
            format!(
                "state {:?} has no mapping, and version {} has no state of that name",
                inst.state, m.to.version
            ),
        )]);
    };
    let mut found = obstacles(m, inst, to);
    if m.to.is_terminal(to) {
        found.push(Obstacle::new(
            ObstacleCode::NoMapping,
            format!(
                "{to:?} ends an instance in version {}: map {:?} to a state that runs on",
                m.to.version, inst.state
            ),
        ));
    }
    if !found.is_empty() {
        return Err(found);
    }
    let (old, new) = (m.from, m.to);
    let step = Step {
        instance_id: inst.id,
        seq: inst.version + 1,
        prev_hash: inst.last_hash,
        actor,
        role: Role::Admin,
        comment: None,
        at: world.at,
        identity: None,
    };
    let record = json!({ "_migration": {
        "run": m.run,
        "from_version": old.version,
        "to_version": new.version,
        "from_state": inst.state,
        "to_state": to,
    }});
    let event = step.seal(MIGRATION, Some(inst.state), to, record);
    let moved = Move {
        from: Some(inst.state),
        to,
        transition: None,
        parties: inst.parties,
        before: inst.data,
        after: inst.data,
    };
    let ops = deadlines::restated((old, new), &moved, inst.deadlines, &world.clock());
    let changes = ops.iter().filter_map(|op| change(op, inst)).collect();
    let title = format!("chuyển sang phiên bản {} ({})", new.version, new.law);
    let notices = notices(new, &event, &title, inst.parties.values(), world);
    let words = super::search::instance_words(new, inst.data);
    let advance = Advance {
        id: inst.id.to_owned(),
        expected_version: inst.version,
        state: to.to_owned(),
        data: inst.data.clone(),
        pending: Default::default(),
        at: world.at,
        last_hash: event.hash.clone(),
        closes: false,
        parties: inst.parties.clone(),
        bound: Vec::new(),
        numbers: (words != super::search::instance_words(old, inst.data)).then_some(words),
        workflow_version: Some(new.version),
    };
    let plan = Plan {
        instance: InstanceWrite::Advance(advance),
        event,
        deadlines: ops,
        notices,
        case: None,
        follow_ups: Vec::new(),
        documents: Vec::new(),
    };
    Ok(Moved { plan, to_state: to.to_owned(), deadlines: changes })
}

/// A deadline operation of a move, as a dry run reports it.
fn change(op: &DeadlineOp, inst: InstanceView<'_>) -> Option<DeadlineChange> {
    let before = |id: &str| {
        inst.deadlines.iter().find(|r| r.id == id).map(|r| local_rfc3339(r.due.at.timestamp_micros()))
    };
    Some(match op {
        DeadlineOp::Restate(o) | DeadlineOp::Open(o) => DeadlineChange {
            name: o.name.clone(),
            change: if matches!(op, DeadlineOp::Open(_)) {
                DeadlineChangeKind::Opened
            } else {
                DeadlineChangeKind::Recomputed
            },
            due_before: before(&o.id),
            due_after: Some(local_rfc3339(o.due.at.timestamp_micros())),
            legal_basis: Some(o.legal_basis.clone()),
            operational: o.operational,
        },
        DeadlineOp::Close(c) => DeadlineChange {
            name: c.name.clone(),
            change: DeadlineChangeKind::Stopped,
            due_before: before(&c.id),
            due_after: None,
            legal_basis: None,
            operational: false,
        },
        _ => return None,
    })
}
