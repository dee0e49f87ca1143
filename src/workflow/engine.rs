//! The engine: pure decisions, no I/O.
//!
//! Given a definition, an instance and an actor, it decides whether a step is allowed and
//! what follows from it: the new state, the normalized data, and the effects (`Action`s) to
//! carry out after commit. The store records the decision; nothing is sent from here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::data;
use super::definition::{Deadline, Definition, Transition};
use crate::domain::{AgencyCode, AgencyKind, Role};
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
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Auditor | Role::Admin))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the actor may see an instance with these parties.
    pub fn can_see(&self, parties: &BTreeMap<String, AgencyCode>) -> bool {
        self.reads_everything() || parties.values().any(|a| *a == self.agency)
    }
}

/// What the engine needs to know of an instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceView<'a> {
    pub state: &'a str,
    pub parties: &'a BTreeMap<String, AgencyCode>,
    pub data: &'a Map<String, Value>,
}

/// An effect decided by a step, carried out after the step commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A deadline of the entered state starts running.
    OpenDeadline {
        deadline: String,
        responsible: AgencyCode,
        escalate_to: Option<AgencyCode>,
        /// The value of the data field that starts the clock; the step's time when absent.
        starts_at: Option<String>,
    },
    /// A deadline of the left state stops: met if not yet due, missed otherwise.
    CloseDeadline { deadline: String },
    /// An agency is told of the step.
    Notify { slot: String, agency: AgencyCode },
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
}

/// Why the engine refused a step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("workflow has no transition {0:?}")]
    UnknownTransition(String),
    #[error("transition {transition:?} cannot be fired from state {state:?}")]
    NotFromState { transition: String, state: String },
    #[error("only the agency bound to party {slot:?} may do this")]
    WrongAgency { slot: String },
    #[error("this step needs one of the roles {}", .allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
    WrongRole { allowed: Vec<Role> },
    #[error("the parties do not fit the workflow")]
    InvalidParties(Vec<FieldError>),
    #[error("the data does not fit the step")]
    InvalidData(Vec<FieldError>),
}

/// Checks that the actor may act for `slot` under one of `allowed`; returns the role used.
fn authorize(
    actor: &Actor,
    parties: &BTreeMap<String, AgencyCode>,
    slot: &str,
    allowed: &[Role],
) -> Result<Role, Refusal> {
    if parties.get(slot) != Some(&actor.agency) {
        return Err(Refusal::WrongAgency {
            slot: slot.to_owned(),
        });
    }
    allowed
        .iter()
        .copied()
        .find(|r| actor.has_role(*r))
        .ok_or_else(|| Refusal::WrongRole {
            allowed: allowed.to_vec(),
        })
}

/// Whether a deadline applies given the instance's data.
fn applies(deadline: &Deadline, data: &Map<String, Value>) -> bool {
    deadline.when.as_ref().is_none_or(|cond| {
        data.get(&cond.field)
            .and_then(Value::as_str)
            .is_some_and(|v| cond.values.iter().any(|x| x == v))
    })
}

fn covers(deadline: &Deadline, state: Option<&str>) -> bool {
    state.is_some_and(|s| deadline.states.iter().any(|x| x == s))
}

/// Opens the deadlines that `to` is in and `from` is not.
fn open_deadlines(
    def: &Definition,
    from: Option<&str>,
    to: &str,
    parties: &BTreeMap<String, AgencyCode>,
    data: &Map<String, Value>,
    actions: &mut Vec<Action>,
) {
    let entered = def
        .deadlines
        .iter()
        .filter(|d| covers(d, Some(to)) && !covers(d, from));
    for d in entered.filter(|d| applies(d, data)) {
        // The loader checked the slots; an unbound one would be a definition change under a
        // running instance, and then there is nobody to hold responsible.
        let Some(responsible) = parties.get(&d.responsible) else {
            continue;
        };
        actions.push(Action::OpenDeadline {
            deadline: d.name.clone(),
            responsible: responsible.clone(),
            escalate_to: d.escalate_to.as_ref().and_then(|s| parties.get(s)).cloned(),
            starts_at: d
                .starts_from_field
                .as_ref()
                .and_then(|f| data.get(f))
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
}

/// Decides the start of a new instance: the parties bound to agencies (with their kinds),
/// the actor, and the creation data.
pub fn start(
    def: &Definition,
    parties: &BTreeMap<String, (AgencyCode, AgencyKind)>,
    actor: &Actor,
    given: &Map<String, Value>,
) -> Result<Decision, Refusal> {
    let mut errors = Vec::new();
    for p in &def.parties {
        match parties.get(&p.slot) {
            None => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!("required: the code of a {} agency", p.kind.as_str()),
            )),
            Some((code, kind)) if *kind != p.kind => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!(
                    "{code} is a {} agency; this slot takes a {} agency",
                    kind.as_str(),
                    p.kind.as_str()
                ),
            )),
            Some(_) => {}
        }
    }
    for slot in parties.keys() {
        if def.party(slot).is_none() {
            errors.push(FieldError::new(
                format!("parties.{slot}"),
                "not a party slot of this workflow",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::InvalidParties(errors));
    }
    let bound: BTreeMap<String, AgencyCode> = parties
        .iter()
        .map(|(slot, (code, _))| (slot.clone(), code.clone()))
        .collect();
    let role = authorize(actor, &bound, &def.create.party, &def.create.roles)?;
    let data = data::validate(&def.create.data, given).map_err(Refusal::InvalidData)?;
    let mut actions = Vec::new();
    open_deadlines(def, None, &def.initial_state, &bound, &data, &mut actions);
    Ok(Decision {
        transition: "create".into(),
        from: None,
        to: def.initial_state.clone(),
        role,
        merged_data: data.clone(),
        data,
        actions,
    })
}

/// The transitions the actor may fire now.
pub fn available<'d>(def: &'d Definition, inst: InstanceView<'_>, actor: &Actor) -> Vec<&'d Transition> {
    def.transitions
        .iter()
        .filter(|t| t.from.iter().any(|f| f == inst.state))
        .filter(|t| authorize(actor, inst.parties, &t.party, &t.roles).is_ok())
        .collect()
}

/// Decides one step of a running instance.
pub fn fire(
    def: &Definition,
    inst: InstanceView<'_>,
    actor: &Actor,
    transition: &str,
    given: &Map<String, Value>,
) -> Result<Decision, Refusal> {
    let t = def
        .transition(transition)
        .ok_or_else(|| Refusal::UnknownTransition(transition.to_owned()))?;
    let role = authorize(actor, inst.parties, &t.party, &t.roles)?;
    if !t.from.iter().any(|f| f == inst.state) {
        return Err(Refusal::NotFromState {
            transition: t.name.clone(),
            state: inst.state.to_owned(),
        });
    }
    let data = data::validate(&t.data, given).map_err(Refusal::InvalidData)?;
    let mut merged = inst.data.clone();
    merged.extend(data.clone());

    let mut actions = Vec::new();
    // A clock runs while the instance stays among its deadline's states.
    let left = def
        .deadlines
        .iter()
        .filter(|d| covers(d, Some(inst.state)) && !covers(d, Some(&t.to)));
    for d in left.filter(|d| applies(d, inst.data)) {
        actions.push(Action::CloseDeadline {
            deadline: d.name.clone(),
        });
    }
    open_deadlines(def, Some(inst.state), &t.to, inst.parties, &merged, &mut actions);
    for slot in &t.notify {
        if let Some(agency) = inst.parties.get(slot) {
            actions.push(Action::Notify {
                slot: slot.clone(),
                agency: agency.clone(),
            });
        }
    }
    Ok(Decision {
        transition: t.name.clone(),
        from: Some(inst.state.to_owned()),
        to: t.to.clone(),
        role,
        data,
        merged_data: merged,
        actions,
    })
}
