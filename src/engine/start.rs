//! The engine's decision of a new instance: started by a user, or by another instance's step
//! (a follow-up), as a [`Plan`] with its first event, its deadlines and who is told.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::checks::{check_dates, check_parties};
use super::data;
use super::deadlines::{self, Move};
use super::definition::{Definition, FollowUp, Transition};
use super::plan::{identity, Event, InstanceWrite, NewInstance, Notice, Plan, Step};
use super::step::{authorize, source_agency, Actor, BoundAgency, InstanceView, Refusal, World};
use crate::domain::{AgencyCode, Role};
use crate::error::FieldError;

/// Where a new instance comes from, beyond its definition and parties.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// Its id, chosen before the step (the first event's hash covers it).
    pub id: &'a str,
    pub case_id: Option<&'a str>,
    /// The day whose law governs it.
    pub reference_date: NaiveDate,
    /// The instance and event whose step started it, for a follow-up.
    pub started_by: Option<(&'a str, i64)>,
}

/// Decides the start of a new instance: the parties bound to agencies, the actor, and the
/// creation data.
pub fn start(
    def: &Definition,
    parties: &BTreeMap<String, BoundAgency>,
    actor: &Actor,
    given: &Map<String, Value>,
    origin: Origin<'_>,
    world: &World<'_>,
) -> Result<Plan, Refusal> {
    check_parties(def, parties, given)?;
    let codes = codes(parties);
    let role = authorize(actor, &codes, &def.create.party, &def.create.roles)?;
    let reserved: Vec<FieldError> = def
        .create
        .data
        .iter()
        .filter(|f| f.follow_up_only && given.get(&f.name).is_some_and(|v| !v.is_null()))
        .map(|f| {
            FieldError::new(
                format!("data.{}", f.name),
                "set only when another instance's step starts this one; leave it out",
            )
        })
        .collect();
    if !reserved.is_empty() {
        return Err(Refusal::InvalidData(reserved));
    }
    // The other parties learn of the new instance; the one that started it knows.
    begin(def, codes, (actor, role), given, origin, world, Some(&actor.agency))
}

fn codes(parties: &BTreeMap<String, BoundAgency>) -> BTreeMap<String, AgencyCode> {
    parties.iter().map(|(slot, a)| (slot.clone(), a.code.clone())).collect()
}

/// The plan of a new instance once its parties and the actor are accepted: every bound agency
/// but `except` is told of it.
fn begin(
    def: &Definition,
    parties: BTreeMap<String, AgencyCode>,
    (actor, role): (&Actor, Role),
    given: &Map<String, Value>,
    origin: Origin<'_>,
    world: &World<'_>,
    except: Option<&AgencyCode>,
) -> Result<Plan, Refusal> {
    let mut data =
        data::validate(&def.create.data, given, &Map::new(), world.calendar).map_err(Refusal::InvalidData)?;
    let documents = super::documents::resolve(&def.create.data, &mut data, world.documents, &actor.agency)?;
    check_dates(&def.create.checks, &data, world.calendar)?;
    let to = def.initial_state.as_str();
    let reference_date = origin.reference_date.to_string();
    let parties_json = serde_json::to_value(&parties).unwrap_or_default();
    let identity = identity(
        &def.id,
        i64::from(def.version),
        &parties_json,
        &reference_date,
        origin.case_id,
        origin.started_by,
    );
    let step = Step {
        instance_id: origin.id,
        seq: 1,
        prev_hash: super::history::GENESIS,
        actor,
        role,
        comment: None,
        at: world.at,
        identity: Some(&identity),
    };
    let event = step.seal("create", None, to, Value::Object(data.clone()));
    let moved =
        Move { from: None, to, transition: None, parties: &parties, before: &Map::new(), after: &data };
    let deadlines = deadlines::plan(def, &moved, &[], &world.clock());
    let told = parties.values().filter(|agency| Some(*agency) != except);
    let notices = notices(def, &event, "Bắt đầu", told, world);
    let numbers = super::search::instance_words(def, &data);
    Ok(Plan {
        instance: InstanceWrite::Start(NewInstance {
            id: origin.id.to_owned(),
            workflow_id: def.id.clone(),
            workflow_version: def.version,
            state: to.to_owned(),
            parties,
            data,
            case_id: origin.case_id.map(str::to_owned),
            reference_date: origin.reference_date,
            at: world.at,
            last_hash: event.hash.clone(),
            started_by: origin.started_by.map(|(id, seq)| (id.to_owned(), seq)),
            closed: def.is_terminal(to),
            numbers,
        }),
        event,
        deadlines,
        notices,
        case: None,
        follow_ups: Vec::new(),
        documents,
    })
}

/// The follow-ups a step starts given the data it was given: each, unless its `if_given`
/// names a field the step's own data leaves out.
pub(super) fn starting<'t>(t: &'t Transition, given: &Map<String, Value>) -> Vec<&'t FollowUp> {
    let named = |field: &String| given.get(field).is_some_and(|v| !v.is_null());
    t.starts.iter().filter(|f| f.if_given.as_ref().is_none_or(named)).collect()
}

/// The instances a step starts (`starts`, see [`starting`]), each under the version of its
/// workflow in force on the day of the step, with the parties and data it carries over. The
/// actor is whoever fired the step, under the role they used; every party of a follow-up is
/// told of it.
pub(super) fn follow_ups(
    starts: &[&FollowUp],
    inst: InstanceView<'_>,
    actor: &Actor,
    role: Role,
    data: &Map<String, Value>,
    seq: i64,
    world: &World<'_>,
) -> Result<Vec<Plan>, Refusal> {
    let day = world.day();
    let mut plans = Vec::new();
    for f in starts {
        let def = world
            .registry
            .in_force(&f.workflow, day)
            .ok_or_else(|| Refusal::NoDefinitionInForce { workflow: f.workflow.clone(), day })?;
        let mut bound = BTreeMap::new();
        let mut unknown = Vec::new();
        for (slot, source) in &f.parties {
            let Some(code) = source_agency(source, inst) else { continue };
            match world.agencies.get(&code) {
                Some(agency) => {
                    bound.insert(slot.clone(), agency.clone());
                }
                None => unknown.push(FieldError::new(format!("parties.{slot}"), format!("no agency {code}"))),
            }
        }
        if !unknown.is_empty() {
            return Err(Refusal::FollowUpParties(unknown));
        }
        let given: Map<String, Value> = f
            .data
            .iter()
            .filter_map(|(target, source)| Some((target.clone(), data.get(source)?.clone())))
            .chain(f.values.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        let id = (world.ids)();
        let origin =
            Origin { id: &id, case_id: inst.case_id, reference_date: day, started_by: Some((inst.id, seq)) };
        let plan = check_parties(def, &bound, &given)
            .and_then(|()| begin(def, codes(&bound), (actor, role), &given, origin, world, None))
            .map_err(|r| Refusal::FollowUp { workflow: def.id.clone(), refusal: Box::new(r) })?;
        plans.push(plan);
    }
    Ok(plans)
}

/// What a step tells the agencies `told`: one notice each, however many slots they hold.
pub(super) fn notices<'a>(
    def: &Definition,
    event: &Event,
    title: &str,
    told: impl IntoIterator<Item = &'a AgencyCode>,
    world: &World<'_>,
) -> Vec<Notice> {
    let mut agencies: Vec<&AgencyCode> = Vec::new();
    for agency in told {
        if !agencies.contains(&agency) {
            agencies.push(agency);
        }
    }
    agencies
        .into_iter()
        .map(|agency| Notice {
            id: (world.ids)(),
            agency: agency.clone(),
            roles: Vec::new(),
            kind: "step".into(),
            instance_id: Some(event.instance_id.clone()),
            deadline_id: None,
            reminder_id: None,
            subject: format!("{}: {title}", def.title_vi),
            payload: json!({
                "instance_id": event.instance_id,
                "workflow": def.id,
                "transition": event.transition,
                "seq": event.seq,
            }),
            created_at: event.occurred_at,
        })
        .collect()
}
