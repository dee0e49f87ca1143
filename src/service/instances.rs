//! Instances: start one, read one, list, fire a step, read and verify the history.
//!
//! An instance is visible only to the agencies bound to its parties (auditors and admins see
//! all); to anyone else it does not exist, so they get 404, never 403.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::idempotency::{self, IdempotencyKey, Reply};
use crate::db::events::{self as event_store, EventRow};
use crate::db::instances::{self as store, Advance, InstanceRow, ListFilter};
use crate::db::outbox::{self as outbox_store, OutboxRow};
use crate::db::{agencies as agency_store, DbConn};
use crate::domain::{check_text, local_rfc3339, now, today_local, AgencyCode, AgencyKind};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::history::{self, EventBody, Head, StoredEvent, Verification, GENESIS};
use crate::workflow::definition::{DataField, Definition};
use crate::workflow::engine::{self, Actor, Decision, InstanceView, Refusal};
use crate::workflow::loader::Registry;

/// Longest comment accepted on a step, in characters.
pub const MAX_COMMENT: usize = 4000;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInstance {
    /// The workflow id, such as `court_transfer`.
    pub workflow: String,
    /// Party slot to agency code, one entry per slot of the workflow.
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
    pub data: Vec<DataField>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventActor {
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    pub seq: i64,
    pub occurred_at: String,
    pub actor: EventActor,
    pub transition: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub data: Value,
    pub comment: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub instance_id: String,
    pub events: Vec<Event>,
}

/// What the caller asked to list.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub workflow: Option<String>,
    pub state: Option<String>,
    pub party: Option<AgencyCode>,
    pub cursor: Option<Uuid>,
    pub limit: i64,
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::UnknownTransition(_) => ApiError::new(ErrorCode::UnknownTransition, r.to_string()),
        Refusal::NotFromState { .. } => ApiError::new(ErrorCode::TransitionNotAllowed, r.to_string()),
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
struct Loaded {
    row: InstanceRow,
    parties: BTreeMap<String, AgencyCode>,
    data: Map<String, Value>,
}

impl Loaded {
    fn view(&self) -> InstanceView<'_> {
        InstanceView { state: &self.row.state, parties: &self.parties, data: &self.data }
    }

    fn to_api(&self, def: Option<&Definition>) -> ApiResult<Instance> {
        Ok(Instance {
            id: self.row.id.clone(),
            workflow: self.row.workflow_id.clone(),
            workflow_version: u32::try_from(self.row.workflow_version).map_err(ApiError::internal)?,
            terminal: def.and_then(|d| d.state(&self.row.state)).is_some_and(|s| s.terminal),
            state: self.row.state.clone(),
            version: self.row.version,
            parties: self.parties.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            data: self.data.clone(),
            case_id: self.row.case_id.clone(),
            reference_date: self.row.reference_date.parse().map_err(ApiError::internal)?,
            created_at: local_rfc3339(self.row.created_at),
            updated_at: local_rfc3339(self.row.updated_at),
        })
    }
}

fn load(row: InstanceRow) -> ApiResult<Loaded> {
    let parties = serde_json::from_str(&row.parties).map_err(ApiError::internal)?;
    let data = serde_json::from_str(&row.data).map_err(ApiError::internal)?;
    Ok(Loaded { row, parties, data })
}

/// Finds an instance the actor may see; 404 whether it is missing or someone else's.
fn find_visible(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Loaded> {
    let missing = || ApiError::not_found(format!("no instance {id}"));
    let row = store::find(conn, &id.to_string())?.ok_or_else(missing)?;
    let loaded = load(row)?;
    if actor.can_see(&loaded.parties) {
        Ok(loaded)
    } else {
        Err(missing())
    }
}

fn definition<'r>(registry: &'r Registry, row: &InstanceRow) -> ApiResult<&'r Definition> {
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

/// What an instance is, as its first event's hash covers it: workflow and version, parties,
/// reference date and case.
fn identity(row: &InstanceRow) -> ApiResult<Value> {
    let parties: Value = serde_json::from_str(&row.parties).map_err(ApiError::internal)?;
    Ok(serde_json::json!({
        "workflow": row.workflow_id,
        "workflow_version": row.workflow_version,
        "parties": parties,
        "reference_date": row.reference_date,
        "case_id": row.case_id,
    }))
}

/// Seals a decision into its hash-chained event and its effects, ready to be written.
fn seal(step: &Step<'_>, decision: &Decision) -> ApiResult<(EventRow, Vec<OutboxRow>)> {
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
    let event = EventRow {
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
    };
    let effects = decision
        .actions
        .iter()
        .map(|action| {
            let payload = serde_json::to_value(action).map_err(ApiError::internal)?;
            let kind = payload.get("kind").and_then(Value::as_str).unwrap_or("action").to_owned();
            Ok(OutboxRow {
                id: Uuid::now_v7().to_string(),
                instance_id: step.instance_id.to_owned(),
                event_seq: step.seq,
                kind,
                payload: payload.to_string(),
                created_at: step.at,
                processed_at: None,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((event, effects))
}

fn write_event(conn: &mut DbConn, event: &EventRow, effects: &[OutboxRow]) -> ApiResult<()> {
    event_store::insert(conn, event)?;
    outbox_store::insert_all(conn, effects)?;
    Ok(())
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

/// Starts an instance of the version of `req.workflow` in force on its reference date.
pub fn create(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    req: CreateInstance,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    let versions = registry.versions(&req.workflow).ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownWorkflow, format!("no workflow {:?}", req.workflow))
    })?;
    let date = req.reference_date.unwrap_or_else(today_local);
    let def = registry.in_force(&req.workflow, date).ok_or_else(|| {
        let known: Vec<String> = versions
            .iter()
            .map(|d| {
                format!(
                    "v{} from {} until {}",
                    d.version,
                    d.valid_from,
                    d.valid_until.map_or("open".into(), |u| u.to_string())
                )
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
        let wanted: Vec<&str> = codes.values().map(AgencyCode::as_str).collect();
        let found = agency_store::find_many(conn, &wanted)?;
        let mut bound: BTreeMap<String, (AgencyCode, AgencyKind)> = BTreeMap::new();
        for (slot, code) in &codes {
            match found.iter().find(|a| a.code == code.as_str()) {
                Some(a) => {
                    let kind = a.kind.parse().map_err(ApiError::internal)?;
                    bound.insert(slot.clone(), (code.clone(), kind));
                }
                None => errors.push(FieldError::new(format!("parties.{slot}"), format!("no agency {code}"))),
            }
        }
        // Every problem with the parties at once: those found here and those the engine finds.
        let decision = match engine::start(def, &bound, actor, &req.data) {
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

        let id = Uuid::now_v7().to_string();
        let at = now().timestamp_micros();
        let parties: BTreeMap<String, AgencyCode> = bound.into_iter().map(|(s, (c, _))| (s, c)).collect();
        let row = InstanceRow {
            id: id.clone(),
            workflow_id: def.id.clone(),
            workflow_version: i32::try_from(def.version).map_err(ApiError::internal)?,
            state: decision.to.clone(),
            version: 1,
            parties: json_of(&parties)?,
            data: json_of(&decision.merged_data)?,
            case_id: req.case_id.map(|c| c.to_string()),
            reference_date: date.to_string(),
            created_at: at,
            updated_at: at,
            last_hash: String::new(),
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
        let (event, effects) = seal(&step, &decision)?;
        let row = InstanceRow { last_hash: event.hash.clone(), ..row };
        let visible: BTreeSet<&str> = parties.values().map(AgencyCode::as_str).collect();
        store::insert(conn, &row, &visible.into_iter().collect::<Vec<_>>())?;
        write_event(conn, &event, &effects)?;
        let loaded = Loaded { row, parties, data: decision.merged_data };
        let body = serde_json::to_value(loaded.to_api(Some(def))?).map_err(ApiError::internal)?;
        Ok((201, body))
    })
}

/// Fires one step on an instance the actor can see, if it is still at `expected_version`.
pub fn fire(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    id: Uuid,
    req: FireTransition,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    let comment = check_comment(req.comment.as_deref())?;
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        let loaded = find_visible(conn, actor, id)?;
        let stale = || {
            ApiError::new(
                ErrorCode::VersionConflict,
                format!(
                    "instance {id} is at version {}, not {}; read it again and decide anew",
                    loaded.row.version, req.expected_version
                ),
            )
        };
        if loaded.row.version != req.expected_version {
            return Err(stale());
        }
        let def = definition(registry, &loaded.row)?;
        let decision =
            engine::fire(def, loaded.view(), actor, &req.transition, &req.data).map_err(refusal)?;

        let at = now().timestamp_micros();
        let step = Step {
            instance_id: &loaded.row.id,
            seq: loaded.row.version + 1,
            prev_hash: &loaded.row.last_hash,
            actor,
            comment: comment.as_deref(),
            at,
            identity: None,
        };
        let (event, effects) = seal(&step, &decision)?;
        let data = json_of(&decision.merged_data)?;
        let moved = store::advance(
            conn,
            &Advance {
                id: &loaded.row.id,
                expected_version: loaded.row.version,
                state: &decision.to,
                data: &data,
                updated_at: at,
                last_hash: &event.hash,
            },
        )?;
        if !moved {
            return Err(stale());
        }
        write_event(conn, &event, &effects)?;
        let after = Loaded {
            row: InstanceRow {
                state: decision.to.clone(),
                version: loaded.row.version + 1,
                data,
                updated_at: at,
                last_hash: event.hash.clone(),
                ..loaded.row.clone()
            },
            parties: loaded.parties.clone(),
            data: decision.merged_data,
        };
        let body = serde_json::to_value(after.to_api(Some(def))?).map_err(ApiError::internal)?;
        Ok((200, body))
    })
}

pub fn get(conn: &mut DbConn, registry: &Registry, actor: &Actor, id: Uuid) -> ApiResult<Instance> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row).ok();
    loaded.to_api(def)
}

pub fn list(conn: &mut DbConn, registry: &Registry, actor: &Actor, q: ListQuery) -> ApiResult<InstancePage> {
    let filter = ListFilter {
        visible_to: (!actor.reads_everything()).then(|| actor.agency.to_string()),
        party: q.party.map(|p| p.to_string()),
        workflow: q.workflow,
        state: q.state,
        before: q.cursor.map(|c| c.to_string()),
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
            load(row)?.to_api(def)
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
    Ok(engine::available(def, loaded.view(), actor)
        .into_iter()
        .map(|t| AvailableTransition {
            name: t.name.clone(),
            title_vi: t.title_vi.clone(),
            title_en: t.title_en.clone(),
            to: t.to.clone(),
            data: t.data.clone(),
        })
        .collect())
}

pub fn history(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<History> {
    let loaded = find_visible(conn, actor, id)?;
    // Up to the version read: a step committed since then belongs to the next read.
    let events = event_store::of_instance(conn, &loaded.row.id, loaded.row.version)?
        .into_iter()
        .map(|e| {
            Ok(Event {
                seq: e.seq,
                occurred_at: local_rfc3339(e.occurred_at),
                actor: EventActor {
                    sub: e.actor_sub,
                    name: e.actor_name,
                    agency: e.actor_agency,
                    role: e.actor_role,
                },
                transition: e.transition,
                from_state: e.from_state,
                to_state: e.to_state,
                data: serde_json::from_str(&e.data).map_err(ApiError::internal)?,
                comment: e.comment,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(History { instance_id: loaded.row.id, events })
}

/// Recomputes every hash of the instance's chain, then checks that the instance row says
/// what its history says: its state, version, data and who may see it.
pub fn verify(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Verification> {
    let loaded = find_visible(conn, actor, id)?;
    let row = &loaded.row;
    // Up to the version read, so that a step committing meanwhile is not taken for tampering.
    let events = event_store::of_instance(conn, &row.id, row.version)?;
    let head = Head { hash: &row.last_hash, state: &row.state, version: row.version };
    let verification = verify_rows(&events, head, &identity(row)?);
    if !verification.valid {
        return Ok(verification);
    }
    let broken = |reason: String| Verification {
        valid: false,
        events: events.len(),
        first_broken_seq: None,
        reason: Some(reason),
        head_hash: None,
    };
    let mut folded = Map::new();
    for e in &events {
        if let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&e.data) {
            folded.extend(data);
        }
    }
    if folded != loaded.data {
        return Ok(broken("the instance's data is not what its events recorded".into()));
    }
    let parties: BTreeSet<&str> = loaded.parties.values().map(AgencyCode::as_str).collect();
    let access = store::access_of(conn, &row.id)?;
    if access.iter().map(String::as_str).collect::<BTreeSet<_>>() != parties {
        return Ok(broken(format!(
            "the agencies that can see the instance ({}) are not its parties",
            access.join(", ")
        )));
    }
    Ok(verification)
}

/// Verifies stored events against what their instance row says; `identity` is the instance's
/// identity as its first event covers it.
pub fn verify_rows(rows: &[EventRow], head: Head<'_>, identity: &Value) -> Verification {
    // A data column that no longer parses is itself tampering: compare it as a string.
    let data: Vec<Value> = rows
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or_else(|_| Value::String(e.data.clone())))
        .collect();
    let events = rows.iter().zip(&data).map(|(e, data)| StoredEvent {
        body: EventBody {
            instance_id: &e.instance_id,
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor_sub: &e.actor_sub,
            actor_name: &e.actor_name,
            actor_agency: &e.actor_agency,
            actor_role: &e.actor_role,
            transition: &e.transition,
            from_state: e.from_state.as_deref(),
            to_state: &e.to_state,
            data,
            comment: e.comment.as_deref(),
            prev_hash: &e.prev_hash,
            instance: (e.seq == 1).then_some(identity),
        },
        hash: &e.hash,
    });
    history::verify(events, head)
}
