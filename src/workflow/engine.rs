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
        return Err(Refusal::WrongAgency { slot: slot.to_owned() });
    }
    allowed
        .iter()
        .copied()
        .find(|r| actor.has_role(*r))
        .ok_or_else(|| Refusal::WrongRole { allowed: allowed.to_vec() })
}

/// Whether a deadline applies given the instance's data.
fn applies(deadline: &Deadline, data: &Map<String, Value>) -> bool {
    deadline.when.as_ref().is_none_or(|cond| {
        data.get(&cond.field).and_then(Value::as_str).is_some_and(|v| cond.values.iter().any(|x| x == v))
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
    let entered = def.deadlines.iter().filter(|d| covers(d, Some(to)) && !covers(d, from));
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
                format!("{code} is a {} agency; this slot takes a {} agency", kind.as_str(), p.kind.as_str()),
            )),
            Some(_) => {}
        }
    }
    for slot in parties.keys() {
        if def.party(slot).is_none() {
            errors.push(FieldError::new(format!("parties.{slot}"), "not a party slot of this workflow"));
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::InvalidParties(errors));
    }
    let bound: BTreeMap<String, AgencyCode> =
        parties.iter().map(|(slot, (code, _))| (slot.clone(), code.clone())).collect();
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
    let t = def.transition(transition).ok_or_else(|| Refusal::UnknownTransition(transition.to_owned()))?;
    let role = authorize(actor, inst.parties, &t.party, &t.roles)?;
    if !t.from.iter().any(|f| f == inst.state) {
        return Err(Refusal::NotFromState { transition: t.name.clone(), state: inst.state.to_owned() });
    }
    let data = data::validate(&t.data, given).map_err(Refusal::InvalidData)?;
    let mut merged = inst.data.clone();
    merged.extend(data.clone());

    let mut actions = Vec::new();
    // A clock runs while the instance stays among its deadline's states.
    let left = def.deadlines.iter().filter(|d| covers(d, Some(inst.state)) && !covers(d, Some(&t.to)));
    for d in left.filter(|d| applies(d, inst.data)) {
        actions.push(Action::CloseDeadline { deadline: d.name.clone() });
    }
    open_deadlines(def, Some(inst.state), &t.to, inst.parties, &merged, &mut actions);
    for slot in &t.notify {
        if let Some(agency) = inst.parties.get(slot) {
            actions.push(Action::Notify { slot: slot.clone(), agency: agency.clone() });
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::workflow::loader::parse_definition;

    fn court_transfer() -> Definition {
        let text = include_str!("../../workflows/court_transfer.2008.toml");
        parse_definition(Path::new("court_transfer.2008.toml"), text).unwrap()
    }

    fn code(c: &str) -> AgencyCode {
        AgencyCode::parse(c).unwrap()
    }

    fn actor(agency: &str, roles: &[Role]) -> Actor {
        Actor { sub: "u".into(), name: "U".into(), agency: code(agency), roles: roles.to_vec() }
    }

    fn bound() -> BTreeMap<String, (AgencyCode, AgencyKind)> {
        BTreeMap::from([
            ("court".into(), (code("TAND-HN"), AgencyKind::Court)),
            ("enforcement".into(), (code("THADS-HN"), AgencyKind::Enforcement)),
            ("procuracy".into(), (code("VKS-HN"), AgencyKind::Procuracy)),
        ])
    }

    fn parties() -> BTreeMap<String, AgencyCode> {
        bound().into_iter().map(|(s, (c, _))| (s, c)).collect()
    }

    fn creation(category: &str) -> Map<String, Value> {
        json!({"judgment_number": "1/2026", "judgment_date": "2026-03-01", "effective_date": "2026-03-20", "category": category})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn start_opens_the_deadline_that_fits_the_category() {
        let def = court_transfer();
        let court = actor("TAND-HN", &[Role::CourtLiaison]);
        let d = start(&def, &bound(), &court, &creation("standard")).unwrap();
        assert_eq!((d.from, d.to.as_str(), d.role), (None, "judgment_effective", Role::CourtLiaison));
        assert_eq!(
            d.actions,
            [Action::OpenDeadline {
                deadline: "transfer".into(),
                responsible: code("TAND-HN"),
                escalate_to: Some(code("VKS-HN")),
                starts_at: Some("2026-03-20".into()),
            }]
        );
        let urgent = start(&def, &bound(), &court, &creation("urgent_measure")).unwrap();
        assert!(
            matches!(&urgent.actions[..], [Action::OpenDeadline { deadline, starts_at: None, .. }] if deadline == "transfer_urgent")
        );
    }

    #[test]
    fn start_checks_parties_and_who_starts() {
        let def = court_transfer();
        let court = actor("TAND-HN", &[Role::CourtLiaison]);
        let mut wrong_kind = bound();
        wrong_kind.insert("procuracy".into(), (code("CA-HN"), AgencyKind::Police));
        wrong_kind.remove("court");
        let Err(Refusal::InvalidParties(errors)) = start(&def, &wrong_kind, &court, &creation("standard"))
        else {
            panic!("parties accepted")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["parties.court", "parties.procuracy"]);

        let head = actor("THADS-HN", &[Role::EnforcementHead]);
        assert_eq!(
            start(&def, &bound(), &head, &creation("standard")),
            Err(Refusal::WrongAgency { slot: "court".into() })
        );
        let clerk = actor("TAND-HN", &[Role::Auditor]);
        assert!(matches!(
            start(&def, &bound(), &clerk, &creation("standard")),
            Err(Refusal::WrongRole { .. })
        ));
    }

    #[test]
    fn a_step_closes_the_left_deadlines_and_opens_the_entered_ones() {
        let def = court_transfer();
        let p = parties();
        let data = creation("standard");
        let head = actor("THADS-HN", &[Role::EnforcementHead]);
        let given = json!({"decision_number": "9/QĐ", "decision_date": "2026-04-02"});
        let inst = InstanceView { state: "registered", parties: &p, data: &data };
        let d = fire(&def, inst, &head, "issue_decision", given.as_object().unwrap()).unwrap();
        assert_eq!(d.to, "decision_issued");
        assert_eq!(d.merged_data["decision_date"], "2026-04-02");
        let names: Vec<String> = d
            .actions
            .iter()
            .map(|a| match a {
                Action::OpenDeadline { deadline, .. } => format!("open {deadline}"),
                Action::CloseDeadline { deadline } => format!("close {deadline}"),
                Action::Notify { slot, .. } => format!("notify {slot}"),
            })
            .collect();
        assert_eq!(names, ["close enforcement_decision", "open assign_officer", "open send_decision"]);

        // The notification clock spans two states: assigning the officer keeps it running.
        let after = d.merged_data;
        let inst = InstanceView { state: "decision_issued", parties: &p, data: &after };
        let given = json!({"officer_name": "A", "assigned_date": "2026-04-03"});
        let d = fire(&def, inst, &head, "assign_officer", given.as_object().unwrap()).unwrap();
        assert_eq!(d.actions, [Action::CloseDeadline { deadline: "assign_officer".into() }]);
    }

    #[test]
    fn refusals_name_their_reason() {
        let def = court_transfer();
        let p = parties();
        let data = creation("standard");
        let inst = InstanceView { state: "judgment_effective", parties: &p, data: &data };
        let officer = actor("THADS-HN", &[Role::EnforcementOfficer]);
        let none = Map::new();
        assert_eq!(fire(&def, inst, &officer, "fly", &none), Err(Refusal::UnknownTransition("fly".into())));
        assert_eq!(
            fire(&def, inst, &officer, "register", &none),
            Err(Refusal::NotFromState { transition: "register".into(), state: "judgment_effective".into() })
        );
        assert_eq!(
            fire(&def, inst, &officer, "transfer", &none),
            Err(Refusal::WrongAgency { slot: "court".into() })
        );
        let court = actor("TAND-HN", &[Role::CourtLiaison]);
        let Err(Refusal::InvalidData(errors)) = fire(&def, inst, &court, "transfer", &none) else {
            panic!("empty data accepted")
        };
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn available_lists_only_the_callers_steps() {
        let def = court_transfer();
        let p = parties();
        let data = creation("standard");
        let inst = InstanceView { state: "transferred", parties: &p, data: &data };
        let names =
            |a: &Actor| available(&def, inst, a).into_iter().map(|t| t.name.as_str()).collect::<Vec<_>>();
        assert_eq!(names(&actor("THADS-HN", &[Role::EnforcementOfficer])), ["register", "return_to_court"]);
        assert!(names(&actor("TAND-HN", &[Role::CourtLiaison])).is_empty());
        assert!(names(&actor("THADS-LC", &[Role::EnforcementHead])).is_empty());
    }
}
