//! Instances: start one, read one, list, see what may be done, fire a step.
//!
//! An instance is visible only to the agencies bound to its parties (auditors and admins see
//! all); to anyone else it does not exist, so they get 404, never 403.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::effects;
use super::idempotency::{self, IdempotencyKey, Reply};
use crate::domain::{check_text, local_rfc3339, now, today_local, AgencyCode};
use crate::engine::definition::{DataField, Definition, Transition};
use crate::engine::history::{EventBody, GENESIS};
use crate::engine::registry::Registry;
use crate::engine::step::{
    self as engine, Actor, BoundAgency, Decision, InstanceView, Pending, Refusal, Signature,
};
use crate::engine::Rules;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::store::events::{self as event_store, EventRow};
use crate::store::fixed::Writes;
use crate::store::instances::{self as store, Advance, InstanceRow, ListFilter};
use crate::store::{agencies as agency_store, DbConn};

/// Longest comment accepted on a step, in characters.
pub const MAX_COMMENT: usize = 4000;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInstance {
    /// The workflow id, such as `court_transfer`.
    pub workflow: String,
    /// Party slot to agency code, one entry per slot of the workflow (optional slots may be left out).
    #[schema(example = json!({"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"}))]
    pub parties: BTreeMap<String, String>,
    /// The data the workflow's create rule asks for.
    #[serde(default)]
    pub data: Map<String, Value>,
    pub case_id: Option<Uuid>,
    /// The date whose law governs the instance (the version in force that day is taken);
    /// today in Asia/Ho_Chi_Minh when absent.
    pub reference_date: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FireTransition {
    pub transition: String,
    /// The instance version the caller saw; the step is refused with 409 if it moved on.
    pub expected_version: i64,
    #[serde(default)]
    pub data: Map<String, Value>,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Instance {
    pub id: String,
    pub workflow: String,
    pub workflow_version: u32,
    pub state: String,
    /// Whether the instance has reached a terminal state.
    pub terminal: bool,
    /// Increases by one with every step; send it back as `expected_version`.
    pub version: i64,
    pub parties: BTreeMap<String, String>,
    pub data: Map<String, Value>,
    pub case_id: Option<String>,
    pub reference_date: NaiveDate,
    pub created_at: String,
    pub updated_at: String,
    /// Joint steps under way: transition to the data proposed and the signatures given so far.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_signatures: Pending,
    /// The instances this one is linked to (on a single instance, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Its deadlines, open and closed (on a single instance, not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<Vec<super::deadlines::Deadline>>,
}

/// Instances linked to one; the linked instance's state only for those who may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Links {
    /// The instance whose step started this one.
    pub started_by: Option<Link>,
    /// The instances this one's steps started.
    pub started: Vec<Link>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    pub id: String,
    pub workflow: String,
    /// Shown only to those who may see the linked instance.
    pub state: Option<String>,
    /// The event of the starting instance that started the other.
    pub seq: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstancePage {
    pub items: Vec<Instance>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A step the caller may take now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailableTransition {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    pub to: String,
    /// For a joint step: the slots that must sign, and those that have.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signed: Vec<String>,
    /// The data to give (empty when another party already gave it with a joint step).
    pub data: Vec<DataField>,
}

/// What the caller asked to list.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub workflow: Option<String>,
    pub state: Option<String>,
    pub party: Option<AgencyCode>,
    /// Only instances with an open deadline past due.
    pub overdue: bool,
    /// Only running instances (true) or only ended ones (false).
    pub open: Option<bool>,
    pub cursor: Option<Uuid>,
    pub limit: i64,
}

pub(super) fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::UnknownTransition(_) => ApiError::new(ErrorCode::UnknownTransition, r.to_string()),
        Refusal::NotFromState { .. } | Refusal::GuardFailed { .. } => {
            ApiError::new(ErrorCode::TransitionNotAllowed, r.to_string())
        }
        Refusal::AlreadySigned(_) => ApiError::new(ErrorCode::AlreadySigned, r.to_string()),
        Refusal::WrongAgency { .. } | Refusal::WrongRole { .. } => ApiError::forbidden(r.to_string()),
        Refusal::InvalidParties(errors) => {
            ApiError::validation("the parties do not fit the workflow", errors)
        }
        Refusal::InvalidData(errors) => ApiError::validation("the data does not fit the step", errors),
    }
}

fn json_of<T: Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

/// A stored instance with its JSON columns read.
pub(super) struct Loaded {
    pub row: InstanceRow,
    pub parties: BTreeMap<String, AgencyCode>,
    pub data: Map<String, Value>,
    pub pending: Pending,
    /// The parents of the bound agencies, by slot; read only when a step may need them.
    pub parents: BTreeMap<String, AgencyCode>,
}

impl Loaded {
    pub fn read(row: InstanceRow) -> ApiResult<Self> {
        let parties = serde_json::from_str(&row.parties).map_err(ApiError::internal)?;
        let data = serde_json::from_str(&row.data).map_err(ApiError::internal)?;
        let pending = serde_json::from_str(&row.pending).map_err(ApiError::internal)?;
        Ok(Loaded { row, parties, data, pending, parents: BTreeMap::new() })
    }

    /// Reads the parents of the bound agencies, if one of `steps` starts a follow-up at a
    /// superior level.
    fn with_parents<'d>(
        mut self,
        conn: &mut DbConn,
        mut steps: impl Iterator<Item = &'d Transition>,
    ) -> ApiResult<Self> {
        let at_superior_level = |t: &Transition| {
            t.starts.iter().flat_map(|f| f.parties.values()).any(|s| s.starts_with(engine::PARENT_OF))
        };
        if !steps.any(at_superior_level) {
            return Ok(self);
        }
        let codes: Vec<&str> = self.parties.values().map(AgencyCode::as_str).collect();
        let agencies = agency_store::find_many(conn, &codes)?;
        for (slot, code) in &self.parties {
            let parent =
                agencies.iter().find(|a| a.code == code.as_str()).and_then(|a| a.parent_code.as_deref());
            if let Some(parent) = parent {
                self.parents.insert(slot.clone(), AgencyCode::parse(parent).map_err(ApiError::internal)?);
            }
        }
        Ok(self)
    }

    fn view(&self) -> InstanceView<'_> {
        InstanceView {
            state: &self.row.state,
            parties: &self.parties,
            data: &self.data,
            pending: &self.pending,
            parents: &self.parents,
        }
    }

    fn to_api(&self, def: Option<&Definition>, links: Option<Links>) -> ApiResult<Instance> {
        Ok(Instance {
            id: self.row.id.clone(),
            workflow: self.row.workflow_id.clone(),
            workflow_version: u32::try_from(self.row.workflow_version).map_err(ApiError::internal)?,
            terminal: def.is_some_and(|d| d.is_terminal(&self.row.state)),
            state: self.row.state.clone(),
            version: self.row.version,
            parties: self.parties.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            data: self.data.clone(),
            case_id: self.row.case_id.clone(),
            reference_date: self.row.reference_date.parse().map_err(ApiError::internal)?,
            created_at: local_rfc3339(self.row.created_at),
            updated_at: local_rfc3339(self.row.updated_at),
            pending_signatures: self.pending.clone(),
            links,
            deadlines: None,
        })
    }
}

/// Finds an instance the actor may see; 404 whether it is missing or someone else's.
pub(super) fn find_visible(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Loaded> {
    let missing = || ApiError::not_found(format!("no instance {id}"));
    let row = store::find(conn, &id.to_string())?.ok_or_else(missing)?;
    let loaded = Loaded::read(row)?;
    if actor.can_see(&loaded.parties) {
        Ok(loaded)
    } else {
        Err(missing())
    }
}

pub(super) fn definition<'r>(registry: &'r Registry, row: &InstanceRow) -> ApiResult<&'r Definition> {
    let version = u32::try_from(row.workflow_version).map_err(ApiError::internal)?;
    registry.get(&row.workflow_id, version).map(AsRef::as_ref).ok_or_else(|| {
        // A definition file was removed while instances still run under it: an operator must
        // put it back; nothing the client sends can fix that.
        tracing::error!(instance = %row.id, workflow = %row.workflow_id, version, "definition version not loaded");
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            format!(
                "this instance runs {} version {version}, which is not loaded; an administrator must restore it",
                row.workflow_id
            ),
        )
    })
}

/// The instances linked to `loaded`: those its steps started and the one that started it. A
/// party of this instance knows they exist (the starting step is in its history); the linked
/// instance's state is shown only to those who may see it.
fn links(conn: &mut DbConn, actor: &Actor, loaded: &Loaded) -> ApiResult<Links> {
    let follow_ups = store::follow_ups(conn, &loaded.row.id)?;
    let visible: BTreeSet<String> = if actor.reads_everything() {
        follow_ups.iter().map(|r| r.id.clone()).collect()
    } else {
        let ids: Vec<&str> = follow_ups.iter().map(|r| r.id.as_str()).collect();
        store::visible_among(conn, actor.agency.as_str(), &ids)?.into_iter().collect()
    };
    let started = follow_ups
        .into_iter()
        .map(|r| Link {
            state: visible.contains(&r.id).then_some(r.state),
            id: r.id,
            workflow: r.workflow_id,
            seq: r.started_by_seq,
        })
        .collect();
    let started_by = match &loaded.row.started_by_instance {
        None => None,
        Some(parent) => store::find(conn, parent)?.map(Loaded::read).transpose()?.map(|p| Link {
            state: actor.can_see(&p.parties).then(|| p.row.state.clone()),
            id: p.row.id,
            workflow: p.row.workflow_id,
            seq: loaded.row.started_by_seq,
        }),
    };
    Ok(Links { started_by, started })
}

fn deadlines_of(conn: &mut DbConn, id: &str) -> ApiResult<Vec<super::deadlines::Deadline>> {
    let at = now().timestamp_micros();
    Ok(crate::store::deadlines::of_instance(conn, id)?
        .into_iter()
        .map(|d| super::deadlines::view(d, at))
        .collect())
}

/// What an instance is, as its first event's hash covers it: workflow and version, parties,
/// reference date, case, and the step that started it if another instance's step did.
pub fn identity(row: &InstanceRow) -> ApiResult<Value> {
    let parties: Value = serde_json::from_str(&row.parties).map_err(ApiError::internal)?;
    let mut identity = serde_json::json!({
        "workflow": row.workflow_id,
        "workflow_version": row.workflow_version,
        "parties": parties,
        "reference_date": row.reference_date,
        "case_id": row.case_id,
    });
    if let (Some(parent), Some(seq)) = (&row.started_by_instance, row.started_by_seq) {
        identity["started_by"] = serde_json::json!({"instance": parent, "seq": seq});
    }
    Ok(identity)
}

/// Who did what, and when: the step's context as the history records it.
struct Step<'a> {
    instance_id: &'a str,
    seq: i64,
    prev_hash: &'a str,
    actor: &'a Actor,
    comment: Option<&'a str>,
    at: i64,
    /// The first step only: the instance's identity, which its hash covers.
    identity: Option<&'a Value>,
}

/// Seals a decision into its hash-chained event, ready to be written.
fn seal(step: &Step<'_>, decision: &Decision) -> EventRow {
    let data = Value::Object(decision.data.clone());
    let agency = step.actor.agency.to_string();
    let body = EventBody {
        instance_id: step.instance_id,
        seq: step.seq,
        occurred_at: step.at,
        actor_sub: &step.actor.sub,
        actor_name: &step.actor.name,
        actor_agency: &agency,
        actor_role: decision.role.as_str(),
        transition: &decision.transition,
        from_state: decision.from.as_deref(),
        to_state: &decision.to,
        data: &data,
        comment: step.comment,
        prev_hash: step.prev_hash,
        instance: step.identity,
    };
    EventRow {
        hash: body.hash(),
        instance_id: step.instance_id.to_owned(),
        seq: step.seq,
        occurred_at: step.at,
        actor_sub: step.actor.sub.clone(),
        actor_name: step.actor.name.clone(),
        actor_agency: agency.clone(),
        actor_role: decision.role.as_str().to_owned(),
        transition: decision.transition.clone(),
        from_state: decision.from.clone(),
        to_state: decision.to.clone(),
        data: data.to_string(),
        comment: step.comment.map(str::to_owned),
        prev_hash: step.prev_hash.to_owned(),
    }
}

/// Writes a sealed event and carries out the decision's effects, in the step's transaction:
/// what the effects need read first, then `first` (the instance's own writes), the event and
/// the effects, together (see [`Writes`]).
fn write_event(
    conn: &mut DbConn,
    event: &EventRow,
    decision: &Decision,
    def: &Definition,
    calendar: &crate::engine::calendar::Calendar,
    first: impl FnOnce(&mut Writes<'_>) -> diesel::QueryResult<()>,
) -> ApiResult<()> {
    let transition_title = match def.transition(&decision.transition) {
        Some(t) => t.title_vi.as_str(),
        None => "Bắt đầu",
    };
    let ctx = effects::StepContext {
        def,
        instance_id: &event.instance_id,
        seq: event.seq,
        at: event.occurred_at,
        transition: &decision.transition,
        transition_title,
        calendar,
    };
    let reads = effects::read(conn, &ctx, &decision.actions)?;
    let mut writes = Writes::new(conn);
    first(&mut writes)?;
    event_store::insert(&mut writes, event)?;
    effects::write(&mut writes, &ctx, &decision.actions, reads)?;
    Ok(writes.finish()?)
}

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

/// Looks up the agencies bound to slots; unknown codes are reported per slot.
fn bind(
    conn: &mut DbConn,
    codes: &BTreeMap<String, AgencyCode>,
    errors: &mut Vec<FieldError>,
) -> ApiResult<BTreeMap<String, BoundAgency>> {
    let wanted: Vec<&str> = codes.values().map(AgencyCode::as_str).collect();
    let found = agency_store::find_many(conn, &wanted)?;
    let mut bound = BTreeMap::new();
    for (slot, code) in codes {
        match found.iter().find(|a| a.code == code.as_str()) {
            Some(a) => {
                let parent = a
                    .parent_code
                    .as_deref()
                    .map(AgencyCode::parse)
                    .transpose()
                    .map_err(ApiError::internal)?;
                let kind = a.kind.parse().map_err(ApiError::internal)?;
                bound.insert(slot.clone(), BoundAgency { code: code.clone(), kind, parent });
            }
            None => errors.push(FieldError::new(format!("parties.{slot}"), format!("no agency {code}"))),
        }
    }
    Ok(bound)
}

/// The agencies that see an instance: those bound to its parties, each once.
fn seen_by(parties: &BTreeMap<String, AgencyCode>) -> Vec<&str> {
    let agencies: BTreeSet<&str> = parties.values().map(AgencyCode::as_str).collect();
    agencies.into_iter().collect()
}

/// Where a new instance comes from.
struct Origin<'a> {
    case_id: Option<String>,
    reference_date: NaiveDate,
    /// The instance and event that started it, for a follow-up.
    started_by: Option<(&'a str, i64)>,
    /// When it starts, in microseconds.
    at: i64,
}

/// Writes a new instance decided by the engine: its row, who may see it, its first event.
fn insert_instance(
    conn: &mut DbConn,
    rules: &Rules,
    def: &Definition,
    parties: BTreeMap<String, AgencyCode>,
    decision: Decision,
    actor: &Actor,
    origin: Origin<'_>,
) -> ApiResult<Loaded> {
    let at = origin.at;
    let id = Uuid::now_v7().to_string();
    let row = InstanceRow {
        id: id.clone(),
        workflow_id: def.id.clone(),
        workflow_version: i32::try_from(def.version).map_err(ApiError::internal)?,
        state: decision.to.clone(),
        version: 1,
        parties: json_of(&parties)?,
        data: json_of(&decision.merged_data)?,
        case_id: origin.case_id,
        reference_date: origin.reference_date.to_string(),
        created_at: at,
        updated_at: at,
        last_hash: String::new(),
        pending: "{}".into(),
        started_by_instance: origin.started_by.map(|(parent, _)| parent.to_owned()),
        started_by_seq: origin.started_by.map(|(_, seq)| seq),
        closed_at: def.is_terminal(&decision.to).then_some(at),
    };
    let identity = identity(&row)?;
    let step = Step {
        instance_id: &id,
        seq: 1,
        prev_hash: GENESIS,
        actor,
        comment: None,
        at,
        identity: Some(&identity),
    };
    let event = seal(&step, &decision);
    let row = InstanceRow { last_hash: event.hash.clone(), ..row };
    let agencies = seen_by(&parties);
    write_event(conn, &event, &decision, def, &rules.calendar, |w| store::insert(w, &row, &agencies))?;
    Ok(Loaded { row, parties, data: decision.merged_data, pending: Pending::new(), parents: BTreeMap::new() })
}

/// Starts the follow-up instances a step decided, under the version in force on the day of
/// the step.
fn start_follow_ups(
    conn: &mut DbConn,
    rules: &Rules,
    parent: &InstanceRow,
    seq: i64,
    actor: &Actor,
    decision: &Decision,
    at: i64,
) -> ApiResult<()> {
    // A follow-up is governed by the law in force on the day of the step that starts it.
    let reference_date =
        crate::domain::from_micros(at).with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
    for request in &decision.follow_ups {
        let def = rules.registry.in_force(&request.workflow, reference_date).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NoDefinitionInForce,
                format!(
                    "this step starts {}, but no version of it is in force on {reference_date}",
                    request.workflow
                ),
            )
        })?;
        let mut errors = Vec::new();
        let bound = bind(conn, &request.parties, &mut errors)?;
        if !errors.is_empty() {
            return Err(ApiError::validation("the follow-up's parties do not exist", errors));
        }
        let started = engine::start_follow_up(def, &bound, decision.role, &request.data, &rules.calendar)
            .map_err(|r| {
                let mut e = refusal(r);
                e.detail =
                    format!("this step starts {}, which refuses what it carries over: {}", def.id, e.detail);
                e
            })?;
        let origin = Origin {
            case_id: parent.case_id.clone(),
            reference_date,
            started_by: Some((&parent.id, seq)),
            at,
        };
        insert_instance(conn, rules, def, request.parties.clone(), started, actor, origin)?;
    }
    Ok(())
}

/// The task the migration that made instances keep whether they are open leaves behind.
const CLOSE_ENDED: &str = "close_ended_instances";

/// Closes the instances that reached a terminal state before instances kept whether they were
/// closed, if that is still to be done; how many. All of it, or nothing, in one transaction.
pub fn close_ended(conn: &mut DbConn, registry: &Registry) -> ApiResult<usize> {
    crate::store::write_transaction(conn, |conn| {
        if !store::take_pending_task(conn, CLOSE_ENDED)? {
            return Ok(0);
        }
        let mut closed = 0;
        for def in registry.all() {
            let version = i32::try_from(def.version).map_err(ApiError::internal)?;
            for state in def.states.iter().filter(|s| s.terminal) {
                closed += store::close_in_state(conn, &def.id, version, &state.name)?;
            }
        }
        store::close_access_of_closed(conn)?;
        Ok(closed)
    })
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
            super::cases::check_link(conn, actor, case_id)?;
        }
        let bound = bind(conn, &codes, &mut errors)?;
        // Every problem with the parties at once: those found here and those the engine finds.
        let decision = match engine::start(def, &bound, actor, &req.data, &rules.calendar) {
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
        let decision = decision.map_err(refusal)?;
        let origin = Origin {
            case_id: req.case_id.map(|c| c.to_string()),
            reference_date: date,
            started_by: None,
            at: now().timestamp_micros(),
        };
        let loaded = insert_instance(conn, rules, def, codes, decision, actor, origin)?;
        Ok((201, loaded.to_api(Some(def), None)?))
    })
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
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        let loaded = find_visible(conn, actor, id)?;
        let def = definition(&rules.registry, &loaded.row)?;
        let loaded = loaded.with_parents(conn, def.transition(&req.transition).into_iter())?;
        let row = &loaded.row;
        let stale = || {
            ApiError::new(
                ErrorCode::VersionConflict,
                format!(
                    "instance {id} is at version {}, not {}; read it again and decide anew",
                    row.version, req.expected_version
                ),
            )
        };
        if row.version != req.expected_version {
            return Err(stale());
        }
        let decision = engine::fire(def, loaded.view(), actor, &req.transition, &req.data, &rules.calendar)
            .map_err(refusal)?;

        let at = now().timestamp_micros();
        let seq = row.version + 1;
        let step = Step {
            instance_id: &row.id,
            seq,
            prev_hash: &row.last_hash,
            actor,
            comment: comment.as_deref(),
            at,
            identity: None,
        };
        let event = seal(&step, &decision);
        // Signatures of a joint step stand while only its signers act: any other step, or a
        // change of state, voids them.
        let mut pending = match &decision.joint {
            Some(_) if decision.to == row.state => loaded.pending.clone(),
            _ => Pending::new(),
        };
        if let Some(joint) = decision.joint.as_ref() {
            if joint.complete {
                pending.remove(&decision.transition);
            } else {
                let entry = pending.entry(decision.transition.clone()).or_default();
                if let Some(proposal) = &joint.proposal {
                    entry.proposal = proposal.clone();
                }
                entry.signatures.push(Signature {
                    slot: joint.slot.clone(),
                    sub: actor.sub.clone(),
                    name: actor.name.clone(),
                    agency: actor.agency.to_string(),
                    role: decision.role.as_str().to_owned(),
                    at: crate::domain::local_rfc3339(at),
                    seq,
                });
            }
        }
        let data = json_of(&decision.merged_data)?;
        let pending_json = json_of(&pending)?;
        let agencies = seen_by(&loaded.parties);
        let closes = def.is_terminal(&decision.to);
        let advance = Advance {
            id: &row.id,
            expected_version: row.version,
            state: &decision.to,
            data: &data,
            updated_at: at,
            last_hash: &event.hash,
            pending: &pending_json,
            closes,
        };
        if !store::advance(conn, &advance)? {
            return Err(stale());
        }
        write_event(conn, &event, &decision, def, &rules.calendar, |w| {
            if closes {
                store::close_access(w, &row.id, &agencies)
            } else {
                Ok(())
            }
        })?;
        if let (Some(case_id), Some(effect)) =
            (row.case_id.as_deref(), def.transition(&decision.transition).and_then(|t| t.case.as_ref()))
        {
            let by = super::cases::ChangedBy {
                sub: actor.sub.clone(),
                name: actor.name.clone(),
                agency: actor.agency.to_string(),
                role: decision.role.as_str().to_owned(),
            };
            let step = super::cases::CaseStep {
                case_id,
                effect,
                data: &decision.merged_data,
                instance_id: &row.id,
                seq,
                transition: &decision.transition,
                at,
                by,
            };
            super::cases::apply_step(conn, step)?;
        }
        start_follow_ups(conn, rules, row, seq, actor, &decision, at)?;

        let after = Loaded {
            row: InstanceRow {
                state: decision.to.clone(),
                version: seq,
                data,
                updated_at: at,
                last_hash: event.hash.clone(),
                pending: pending_json,
                closed_at: closes.then_some(at),
                ..row.clone()
            },
            parties: loaded.parties.clone(),
            data: decision.merged_data,
            pending,
            parents: BTreeMap::new(),
        };
        let links = links(conn, actor, &after)?;
        let view = Instance {
            deadlines: Some(deadlines_of(conn, &after.row.id)?),
            ..after.to_api(Some(def), Some(links))?
        };
        Ok((200, view))
    })
}

pub fn get(conn: &mut DbConn, registry: &Registry, actor: &Actor, id: Uuid) -> ApiResult<Instance> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row).ok();
    let links = links(conn, actor, &loaded)?;
    let deadlines = deadlines_of(conn, &loaded.row.id)?;
    Ok(Instance { deadlines: Some(deadlines), ..loaded.to_api(def, Some(links))? })
}

pub fn list(conn: &mut DbConn, registry: &Registry, actor: &Actor, q: ListQuery) -> ApiResult<InstancePage> {
    let filter = ListFilter {
        visible_to: (!actor.reads_everything()).then(|| actor.agency.to_string()),
        party: q.party.map(|p| p.to_string()),
        workflow: q.workflow,
        state: q.state,
        before: q.cursor.map(|c| c.to_string()),
        overdue_at: q.overdue.then(|| now().timestamp_micros()),
        open: q.open,
        limit: q.limit + 1,
    };
    let mut rows = store::list(conn, &filter)?;
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.id.clone()) } else { None };
    let items = rows
        .into_iter()
        .map(|row| {
            let def = definition(registry, &row).ok();
            Loaded::read(row)?.to_api(def, None)
        })
        .collect::<ApiResult<_>>()?;
    Ok(InstancePage { items, next_cursor })
}

pub fn available(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<Vec<AvailableTransition>> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row)?;
    let loaded = loaded.with_parents(conn, def.transitions.iter())?;
    Ok(engine::available(def, loaded.view(), actor)
        .into_iter()
        .map(|t| {
            let signed: Vec<String> = loaded
                .pending
                .get(&t.name)
                .into_iter()
                .flat_map(|p| &p.signatures)
                .map(|s| s.slot.clone())
                .collect();
            AvailableTransition {
                name: t.name.clone(),
                title_vi: t.title_vi.clone(),
                title_en: t.title_en.clone(),
                to: t.to.clone(),
                signed_by: t.signed_by.clone(),
                data: if signed.is_empty() { t.data.clone() } else { Vec::new() },
                signed,
            }
        })
        .collect())
}
