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

pub mod moves;
mod step;

pub use step::{create, fire, MAX_COMMENT};

use crate::domain::{local_rfc3339, now, AgencyCode};
use crate::engine::deadlines::RunningDeadline;
use crate::engine::definition::{DataField, Definition, Transition};
use crate::engine::registry::Registry;
use crate::engine::step::{self as engine, Actor, CaseHolder, InstanceView, Pending, Refusal, Started};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::store::instances::{self as store, InstanceRow, ListFilter};
use crate::store::{agencies as agency_store, DbConn};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "workflow": "court_transfer",
    "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
    "data": {"judgment_number": "125/2026/KDTM-PT", "judgment_date": "2026-10-05",
             "effective_date": "2026-10-20", "category": "standard"},
    "reference_date": "2026-10-20"
}))]
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
#[schema(example = json!({
    "transition": "transfer",
    "expected_version": 1,
    "data": {"judgment_file": "019ad2f4-5c7e-7b31-9e0a-6f2d8c41a7b5", "transfer_date": "2026-10-25",
             "method": "in_person",
             "documents": [{"description": "Bản án phúc thẩm 125/2026/KDTM-PT", "quantity": "2", "unit": "bản"}]},
    "comment": "Giao trực tiếp tại trụ sở Cục THADS"
}))]
pub struct FireTransition {
    pub transition: String,
    /// The instance version the caller saw; the step is refused with 409 if it moved on. An
    /// `If-Match` header may give it instead (412 if it moved on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<i64>,
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

/// The problem a refusal of the engine answers with, for the instance `id` when it is known.
pub(crate) fn refusal(r: Refusal, id: Option<&str>) -> ApiError {
    match r {
        Refusal::Stale { version, expected } => ApiError::new(
            ErrorCode::VersionConflict,
            format!(
                "instance {} is at version {version}, not {expected}; read it again and decide anew",
                id.unwrap_or_default()
            ),
        ),
        Refusal::UnknownTransition(_) => ApiError::new(ErrorCode::UnknownTransition, r.to_string()),
        Refusal::NotFromState { .. } | Refusal::GuardFailed { .. } => {
            ApiError::new(ErrorCode::TransitionNotAllowed, r.to_string())
        }
        Refusal::AlreadySigned(_) => ApiError::new(ErrorCode::AlreadySigned, r.to_string()),
        Refusal::WrongAgency { .. } | Refusal::WrongRole { .. } | Refusal::CaseNotYours { .. } => {
            ApiError::forbidden(r.to_string())
        }
        Refusal::InvalidParties(errors) => {
            ApiError::validation("the parties do not fit the workflow", errors)
        }
        Refusal::InvalidData(errors) => ApiError::validation("the data does not fit the step", errors),
        Refusal::NoDefinitionInForce { .. } => ApiError::new(ErrorCode::NoDefinitionInForce, r.to_string()),
        Refusal::FollowUpParties(errors) => {
            ApiError::validation("the follow-up's parties do not exist", errors)
        }
        Refusal::Document { problem, errors } => {
            use crate::engine::documents::DocumentProblem as P;
            let code = match problem {
                P::Unknown => ErrorCode::DocumentUnknown,
                P::Foreign => ErrorCode::DocumentForeign,
                P::Used => ErrorCode::DocumentUsed,
                P::TypeNotAccepted => ErrorCode::DocumentTypeNotAccepted,
                P::TooLarge => ErrorCode::DocumentTooLarge,
            };
            ApiError { errors, ..ApiError::new(code, "a document the step names cannot be taken") }
        }
        Refusal::FollowUp { workflow, refusal: inner } => {
            let mut e = refusal(*inner, None);
            e.detail =
                format!("this step starts {workflow}, which refuses what it carries over: {}", e.detail);
            e
        }
    }
}

/// A stored instance with its JSON columns read.
pub(super) struct Loaded {
    pub row: InstanceRow,
    pub parties: BTreeMap<String, AgencyCode>,
    pub data: Map<String, Value>,
    pub pending: Pending,
    /// The parents of the bound agencies, by slot; read only when a step may need them.
    pub parents: BTreeMap<String, AgencyCode>,
    /// The instances its steps started, settled or not; read only when a step waits for them.
    pub started: Vec<Started>,
}

impl Loaded {
    pub fn read(row: InstanceRow) -> ApiResult<Self> {
        let parties = serde_json::from_str(&row.parties).map_err(ApiError::internal)?;
        let data = serde_json::from_str(&row.data).map_err(ApiError::internal)?;
        let pending = serde_json::from_str(&row.pending).map_err(ApiError::internal)?;
        Ok(Loaded { row, parties, data, pending, parents: BTreeMap::new(), started: Vec::new() })
    }

    /// Reads the instances this one started, and whether each is settled now, if one of
    /// `steps` waits for them from the instance's state.
    pub(super) fn with_started<'d>(
        mut self,
        conn: &mut DbConn,
        mut steps: impl Iterator<Item = &'d Transition>,
    ) -> ApiResult<Self> {
        let waits_here = |t: &Transition| !t.waits_for.is_empty() && t.from.contains(&self.row.state);
        if steps.any(waits_here) {
            let rows = store::started_settled(conn, &self.row.id, now().timestamp_micros())?;
            self.started =
                rows.into_iter().map(|(id, workflow, settled)| Started { id, workflow, settled }).collect();
        }
        Ok(self)
    }

    /// Reads the parents of the bound agencies, if one of `steps` starts a follow-up at a
    /// superior level or binds a party (whose party rules may name a bound agency's parent).
    pub(super) fn with_parents<'d>(
        mut self,
        conn: &mut DbConn,
        mut steps: impl Iterator<Item = &'d Transition>,
    ) -> ApiResult<Self> {
        let needs_parents = |t: &Transition| {
            t.starts.iter().flat_map(|f| f.parties.values()).any(|s| s.starts_with(engine::PARENT_OF))
                || t.data.iter().any(|f| f.binds.is_some())
        };
        if !steps.any(needs_parents) {
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

    /// The instance as the engine sees it, with its running deadlines and its case's holder
    /// when the step needs them.
    fn view<'a>(
        &'a self,
        deadlines: &'a [RunningDeadline],
        case: Option<&'a CaseHolder>,
    ) -> InstanceView<'a> {
        InstanceView {
            id: &self.row.id,
            version: self.row.version,
            last_hash: &self.row.last_hash,
            state: &self.row.state,
            parties: &self.parties,
            data: &self.data,
            pending: &self.pending,
            parents: &self.parents,
            case_id: self.row.case_id.as_deref(),
            deadlines,
            case,
            started: &self.started,
        }
    }

    fn to_api(&self, def: Option<&Definition>, actor: &Actor, links: Option<Links>) -> ApiResult<Instance> {
        Ok(Instance {
            id: self.row.id.clone(),
            workflow: self.row.workflow_id.clone(),
            workflow_version: u32::try_from(self.row.workflow_version).map_err(ApiError::internal)?,
            terminal: def.is_some_and(|d| d.is_terminal(&self.row.state)),
            state: self.row.state.clone(),
            version: self.row.version,
            parties: self.parties.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            data: seen_data(def, &self.data, &self.parties, actor),
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

/// The data of an instance with parties `parties` as `actor` may see it: without the values
/// its definition shows to some parties only, unless the actor's agency is bound to one of
/// them; without any value when the definition is not loaded, for then nobody can tell.
pub(crate) fn seen_data(
    def: Option<&Definition>,
    data: &Map<String, Value>,
    parties: &BTreeMap<String, AgencyCode>,
    actor: &Actor,
) -> Map<String, Value> {
    let Some(def) = def else { return Map::new() };
    let mut seen = data.clone();
    def.withhold(&mut seen, |slot| parties.get(slot) == Some(&actor.agency));
    seen
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
pub(super) fn links(conn: &mut DbConn, actor: &Actor, loaded: &Loaded) -> ApiResult<Links> {
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

pub(super) fn deadlines_of(conn: &mut DbConn, id: &str) -> ApiResult<Vec<super::deadlines::Deadline>> {
    let at = now().timestamp_micros();
    Ok(crate::store::deadlines::of_instance(conn, id)?
        .into_iter()
        .map(|d| super::deadlines::view(d, at))
        .collect())
}

/// What an instance is, as its first event's hash covers it: workflow and the version it
/// started under, parties, reference date, case, and the step that started it if another
/// instance's step did. A slot for which `bound_later` holds was bound by a step, not at the
/// start.
pub fn identity(row: &InstanceRow, bound_later: impl Fn(&str) -> bool, version: u32) -> ApiResult<Value> {
    // The parties it started with: those its steps bound later are proven by their events.
    let mut parties: Map<String, Value> = serde_json::from_str(&row.parties).map_err(ApiError::internal)?;
    parties.retain(|slot, _| !bound_later(slot));
    let parties = Value::Object(parties);
    let started_by = row.started_by_instance.as_deref().zip(row.started_by_seq);
    Ok(crate::engine::plan::identity(
        &row.workflow_id,
        i64::from(version),
        &parties,
        &row.reference_date,
        row.case_id.as_deref(),
        started_by,
    ))
}

/// The task the migration that made instances keep whether they are open leaves behind.
const CLOSE_ENDED: &str = "close_ended_instances";

/// The terminal states of every loaded definition: workflow, version, state.
pub fn terminal_states(registry: &Registry) -> ApiResult<Vec<(String, i32, String)>> {
    let mut terminal = Vec::new();
    for def in registry.all() {
        let version = i32::try_from(def.version).map_err(ApiError::internal)?;
        for state in def.states.iter().filter(|s| s.terminal) {
            terminal.push((def.id.clone(), version, state.name.clone()));
        }
    }
    Ok(terminal)
}

/// Closes the instances that reached a terminal state (of `terminal`, see [`terminal_states`])
/// before instances kept whether they were closed, if that is still to be done; how many. All
/// of it, or nothing, in one transaction.
pub fn close_ended(conn: &mut DbConn, terminal: &[(String, i32, String)]) -> ApiResult<usize> {
    crate::store::write_transaction(conn, |conn| {
        if !store::take_pending_task(conn, CLOSE_ENDED)? {
            return Ok(0);
        }
        let mut closed = 0;
        for (workflow, version, state) in terminal {
            closed += store::close_in_state(conn, workflow, *version, state)?;
        }
        store::close_access_of_closed(conn)?;
        Ok(closed)
    })
}

pub fn get(conn: &mut DbConn, registry: &Registry, actor: &Actor, id: Uuid) -> ApiResult<Instance> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row).ok();
    let links = links(conn, actor, &loaded)?;
    let deadlines = deadlines_of(conn, &loaded.row.id)?;
    Ok(Instance { deadlines: Some(deadlines), ..loaded.to_api(def, actor, Some(links))? })
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
            Loaded::read(row)?.to_api(def, actor, None)
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
    let loaded =
        loaded.with_parents(conn, def.transitions.iter())?.with_started(conn, def.transitions.iter())?;
    Ok(engine::available(def, loaded.view(&[], None), actor)
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
