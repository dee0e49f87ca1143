//! Starting an instance and firing a step: read what the engine needs, ask it for the plan,
//! let the case apply its change, and record the plan in the request's transaction. Every
//! refusal of the engine or of the case's rules comes before anything is written (a race lost
//! to another writer after that rolls the whole transaction back).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use uuid::Uuid;

use super::{definition, find_visible, links, refusal, CreateInstance, FireTransition, Instance, Loaded};
use crate::domain::{check_text, local_rfc3339, now, today_local, AgencyCode};
use crate::engine::deadlines::{may_run_in, rescheduled_by, RunningDeadline};
use crate::engine::definition::{DataField, DataType, Definition, Transition};
use crate::engine::documents::StoredDocument;
use crate::engine::plan::{DeadlineOp, InstanceWrite, Plan};
use crate::engine::start::{self, Origin};
use crate::engine::step::{self as engine, Actor, BoundAgency, Refusal, World};
use crate::engine::Rules;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::service::cases::StepCase;
use crate::service::idempotency::{self, IdempotencyKey, Reply};
use crate::store::deadlines as deadline_store;
use crate::store::record::{record, RecordError};
use crate::store::{agencies as agency_store, documents as document_store, DbConn};

/// Longest comment accepted on a step, in characters.
pub const MAX_COMMENT: usize = 4000;

fn check_comment(comment: Option<&str>) -> ApiResult<Option<String>> {
    match comment.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > MAX_COMMENT => Err(ApiError::validation(
            "the comment is too long",
            vec![FieldError::new("comment", format!("at most {MAX_COMMENT} characters"))],
        )),
        Some(c) => match check_text(c) {
            Ok(()) => Ok(Some(c.to_owned())),
            Err(reason) => Err(ApiError::validation(
                "the comment cannot be stored",
                vec![FieldError::new("comment", reason)],
            )),
        },
    }
}

fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Looks up agencies by code, each as a slot would bind it; unknown ones are left out.
fn agencies_of<'a>(
    conn: &mut DbConn,
    codes: impl IntoIterator<Item = &'a AgencyCode>,
) -> ApiResult<BTreeMap<AgencyCode, BoundAgency>> {
    let wanted: BTreeSet<&str> = codes.into_iter().map(AgencyCode::as_str).collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let wanted: Vec<&str> = wanted.into_iter().collect();
    let mut found = BTreeMap::new();
    for a in agency_store::find_many(conn, &wanted)? {
        let code = AgencyCode::parse(&a.code).map_err(ApiError::internal)?;
        let parent =
            a.parent_code.as_deref().map(AgencyCode::parse).transpose().map_err(ApiError::internal)?;
        let kind = a.kind.parse().map_err(ApiError::internal)?;
        found.insert(code.clone(), BoundAgency { code, kind, parent });
    }
    Ok(found)
}

/// The agencies bound to slots; unknown codes are reported per slot.
fn bind(
    conn: &mut DbConn,
    codes: &BTreeMap<String, AgencyCode>,
    errors: &mut Vec<FieldError>,
) -> ApiResult<BTreeMap<String, BoundAgency>> {
    let found = agencies_of(conn, codes.values())?;
    let mut bound = BTreeMap::new();
    for (slot, code) in codes {
        match found.get(code) {
            Some(a) => {
                bound.insert(slot.clone(), a.clone());
            }
            None => errors.push(FieldError::new(format!("parties.{slot}"), format!("no agency {code}"))),
        }
    }
    Ok(bound)
}

/// The documents a step's data names in its document fields, as stored: the ids as given,
/// before the data is checked (an id that is not a UUID names nothing).
fn documents_named(
    conn: &mut DbConn,
    fields: &[DataField],
    given: &serde_json::Map<String, serde_json::Value>,
) -> ApiResult<BTreeMap<String, StoredDocument>> {
    let ids: BTreeSet<String> = fields
        .iter()
        .filter(|f| f.kind == DataType::Document)
        .filter_map(|f| given.get(&f.name))
        .flat_map(|v| match v {
            serde_json::Value::Array(list) => list.iter().collect::<Vec<_>>(),
            one => vec![one],
        })
        .filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
        .map(|id| id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    Ok(document_store::find_many(conn, &wanted)?
        .iter()
        .filter_map(|row| Some((row.id.clone(), row.stored()?)))
        .collect())
}

/// Logs what the calendar could not count: a deadline crossing a year it has no holidays for.
fn warn_incomplete(plan: &Plan) {
    for op in &plan.deadlines {
        let (name, complete) = match op {
            DeadlineOp::Open(o) | DeadlineOp::Restart { opening: o, .. } | DeadlineOp::Restate(o) => {
                (&o.name, o.calendar_complete)
            }
            DeadlineOp::Resume(r) | DeadlineOp::Extend { rescheduling: r, .. } => {
                (&r.name, r.calendar_complete)
            }
            DeadlineOp::Close(_) | DeadlineOp::Suspend { .. } => continue,
        };
        if !complete {
            tracing::warn!(instance = plan.instance_id(), deadline = %name, "the calendar lacks a year this deadline crosses");
        }
    }
    plan.follow_ups.iter().for_each(warn_incomplete);
}

/// Records a plan; a running instance that moved on since it was read is a conflict.
fn record_plan(conn: &mut DbConn, plan: &Plan, stale: impl FnOnce() -> ApiError) -> ApiResult<()> {
    warn_incomplete(plan);
    match record(conn, plan) {
        Ok(()) => Ok(()),
        Err(RecordError::Stale) => Err(stale()),
        Err(RecordError::DocumentTaken(id)) => Err(ApiError::new(
            ErrorCode::DocumentUsed,
            format!("document {id} was handed over with another step meanwhile"),
        )),
        Err(RecordError::Store(e)) => Err(e.into()),
    }
}

/// Starts an instance of the version of `req.workflow` in force on its reference date.
pub fn create(
    conn: &mut DbConn,
    rules: &Rules,
    actor: &Actor,
    req: CreateInstance,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply<Instance>> {
    let registry = &rules.registry;
    let versions = registry.versions(&req.workflow).ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownWorkflow, format!("no workflow {:?}", req.workflow))
    })?;
    let date = req.reference_date.unwrap_or_else(today_local);
    let def = registry.in_force(&req.workflow, date).ok_or_else(|| {
        let known: Vec<String> = versions
            .iter()
            .map(|d| {
                let until = d.valid_until.map_or("open".into(), |u| u.to_string());
                format!("v{} from {} until {until}", d.version, d.valid_from)
            })
            .collect();
        ApiError::new(
            ErrorCode::NoDefinitionInForce,
            format!("no version of {:?} is in force on {date}; known: {}", req.workflow, known.join("; ")),
        )
    })?;
    let mut errors = Vec::new();
    let mut codes = BTreeMap::new();
    // Checked against the definition before any lookup, so a request cannot make the store
    // look up more agencies than the workflow has parties.
    for (slot, code) in &req.parties {
        if def.party(slot).is_none() {
            errors.push(FieldError::new(format!("parties.{slot}"), "not a party slot of this workflow"));
            continue;
        }
        match AgencyCode::parse(code) {
            Ok(code) => {
                codes.insert(slot.clone(), code);
            }
            Err(reason) => errors.push(FieldError::new(format!("parties.{slot}"), reason)),
        }
    }

    idempotency::run(conn, actor, key, fingerprint, |conn| {
        if let Some(case_id) = req.case_id {
            crate::service::cases::check_link(conn, actor, case_id)?;
        }
        let bound = bind(conn, &codes, &mut errors)?;
        let id = new_id();
        let case_id = req.case_id.map(|c| c.to_string());
        let origin = Origin { id: &id, case_id: case_id.as_deref(), reference_date: date, started_by: None };
        let agencies = BTreeMap::new();
        let documents = documents_named(conn, &def.create.data, &req.data)?;
        let world = World {
            registry,
            calendar: &rules.calendar,
            agencies: &agencies,
            documents: &documents,
            at: now().timestamp_micros(),
            ids: &new_id,
        };
        // Every problem with the parties at once: those found here and those the engine finds.
        let plan = match start::start(def, &bound, actor, &req.data, origin, &world) {
            Err(Refusal::InvalidParties(more)) => {
                let known: BTreeSet<String> = errors.iter().map(|e| e.field.clone()).collect();
                errors.extend(more.into_iter().filter(|e| !known.contains(&e.field)));
                Err(Refusal::InvalidParties(Vec::new()))
            }
            other => other,
        };
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(ApiError::validation("the parties do not fit the workflow", errors));
        }
        let plan = plan.map_err(|r| refusal(r, None))?;
        record_plan(conn, &plan, || ApiError::internal("a new instance cannot be stale"))?;
        Ok((201, started(def, actor, &plan)?))
    })
}

/// A new instance as its plan starts it, as the API shows it.
fn started(def: &Definition, actor: &Actor, plan: &Plan) -> ApiResult<Instance> {
    let InstanceWrite::Start(new) = &plan.instance else {
        return Err(ApiError::internal("a start plans a new instance"));
    };
    Ok(Instance {
        id: new.id.clone(),
        workflow: new.workflow_id.clone(),
        workflow_version: new.workflow_version,
        terminal: def.is_terminal(&new.state),
        state: new.state.clone(),
        version: 1,
        parties: new.parties.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        data: super::seen_data(Some(def), &new.data, &new.parties, actor),
        case_id: new.case_id.clone(),
        reference_date: new.reference_date,
        created_at: local_rfc3339(new.at),
        updated_at: local_rfc3339(new.at),
        pending_signatures: Default::default(),
        links: None,
        deadlines: None,
    })
}

/// The running deadlines of an instance, if a deadline may run in its state, with the
/// reminders sent of those the step may resume or extend.
fn running_deadlines(
    conn: &mut DbConn,
    def: &Definition,
    loaded: &Loaded,
    transition: Option<&Transition>,
    at: i64,
) -> ApiResult<Vec<RunningDeadline>> {
    if !may_run_in(def, &loaded.row.state) {
        return Ok(Vec::new());
    }
    let moved = transition.map(|t| rescheduled_by(def, &t.name)).unwrap_or_default();
    Ok(deadline_store::running(conn, &loaded.row.id, at, &moved)?)
}

/// The agencies a step may bind: those it names in its `party` fields and, for a step with
/// follow-ups, those of the instance's parties and their superior offices; none for a step
/// that binds and starts nothing.
fn step_agencies(
    conn: &mut DbConn,
    loaded: &Loaded,
    transition: Option<&Transition>,
    given: &Map<String, Value>,
) -> ApiResult<BTreeMap<AgencyCode, BoundAgency>> {
    let Some(t) = transition else { return Ok(BTreeMap::new()) };
    let mut wanted: Vec<AgencyCode> = t
        .data
        .iter()
        .filter(|f| f.kind == DataType::Party)
        .filter_map(|f| AgencyCode::parse(given.get(&f.name)?.as_str()?).ok())
        .collect();
    if t.starts.is_empty() {
        return agencies_of(conn, wanted.iter());
    }
    wanted.extend(loaded.parties.values().cloned());
    let mut agencies = agencies_of(conn, wanted.iter())?;
    let parents: Vec<AgencyCode> = agencies.values().filter_map(|a| a.parent.clone()).collect();
    agencies.extend(agencies_of(conn, parents.iter())?);
    Ok(agencies)
}

/// Fires one step on an instance the actor can see, if it is still at `expected_version`.
pub fn fire(
    conn: &mut DbConn,
    rules: &Rules,
    actor: &Actor,
    id: Uuid,
    req: FireTransition,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply<Instance>> {
    let comment = check_comment(req.comment.as_deref())?;
    let expected_version = req.expected_version.ok_or_else(|| {
        ApiError::validation(
            "the step needs the version it was decided on",
            vec![FieldError::new("expected_version", "required, unless an If-Match header gives it")],
        )
    })?;
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        let loaded = find_visible(conn, actor, id)?;
        let def = definition(&rules.registry, &loaded.row)?;
        let transition = def.transition(&req.transition);
        let loaded =
            loaded.with_parents(conn, transition.into_iter())?.with_started(conn, transition.into_iter())?;
        let row = &loaded.row;
        let stale =
            || refusal(Refusal::Stale { version: row.version, expected: expected_version }, Some(&row.id));
        if row.version != expected_version {
            return Err(stale());
        }
        // What the engine needs beyond the instance, read only when the step may need it.
        let at = now().timestamp_micros();
        let deadlines = running_deadlines(conn, def, &loaded, transition, at)?;
        let agencies = step_agencies(conn, &loaded, transition, &req.data)?;
        let case = match (transition.and_then(|t| t.case.as_ref()), row.case_id.as_deref()) {
            (Some(_), Some(case_id)) => StepCase::find(conn, case_id)?,
            _ => None,
        };
        let documents = match transition {
            Some(t) => documents_named(conn, &t.data, &req.data)?,
            None => BTreeMap::new(),
        };
        let world = World {
            registry: &rules.registry,
            calendar: &rules.calendar,
            agencies: &agencies,
            documents: &documents,
            at,
            ids: &new_id,
        };
        let view = loaded.view(&deadlines, case.as_ref().map(|c| &c.holder));
        let step = (req.transition.as_str(), expected_version);
        let plan = engine::fire(def, view, actor, step, &req.data, comment.as_deref(), &world)
            .map_err(|r| refusal(r, Some(&row.id)))?;
        // The case's own checks (an amount beyond what is owed, a closed case) refuse the step
        // here, before anything is written.
        let case_update = match (case, &plan.case) {
            (Some(case), Some(change)) => Some(case.apply(conn, change, actor, plan.role())?),
            _ => None,
        };
        record_plan(conn, &plan, stale)?;
        if let Some(update) = case_update {
            update.save(conn)?;
        }
        Ok((200, advanced(conn, actor, def, &loaded, &plan)?))
    })
}

/// The instance after a step, as the API shows it: with its links and its deadlines, read back.
fn advanced(
    conn: &mut DbConn,
    actor: &Actor,
    def: &Definition,
    loaded: &Loaded,
    plan: &Plan,
) -> ApiResult<Instance> {
    let InstanceWrite::Advance(a) = &plan.instance else {
        return Err(ApiError::internal("a step plans a running instance"));
    };
    let row = &loaded.row;
    let data = serde_json::to_string(&a.data).map_err(ApiError::internal)?;
    let pending = serde_json::to_string(&a.pending).map_err(ApiError::internal)?;
    let parties = serde_json::to_string(&a.parties).map_err(ApiError::internal)?;
    let after = Loaded {
        row: crate::store::instances::InstanceRow {
            state: a.state.clone(),
            version: a.version(),
            data,
            updated_at: a.at,
            last_hash: a.last_hash.clone(),
            pending,
            closed_at: a.closes.then_some(a.at),
            parties,
            ..row.clone()
        },
        parties: a.parties.clone(),
        data: a.data.clone(),
        pending: a.pending.clone(),
        parents: BTreeMap::new(),
        started: Vec::new(),
    };
    let links = links(conn, actor, &after)?;
    Ok(Instance {
        deadlines: Some(super::deadlines_of(conn, &row.id)?),
        ..after.to_api(Some(def), actor, Some(links))?
    })
}
