//! The history of an instance: its events, their verification, and the handover record that
//! the events of a two-party handover make up.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::instances::{definition, find_visible, identity, seen_data, Loaded};
use crate::domain::{local_rfc3339, AgencyCode};
use crate::engine::data::{has_discrepancy, Item, ReceiptLine, ReceiptStatus};
use crate::engine::definition::Definition;
use crate::engine::history::{self, EventBody, Head, StoredEvent, Verification};
use crate::engine::migrate::MIGRATION;
use crate::engine::registry::Registry;
use crate::engine::step::{Actor, PROPOSAL};
use crate::error::{ApiError, ApiResult};
use crate::store::events::{self as event_store, EventRow};
use crate::store::instances as store;
use crate::store::DbConn;

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

/// Who signed a step of a handover, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedBy {
    pub seq: i64,
    pub transition: String,
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub role: String,
    pub at: String,
}

/// One item of a handover, as sent and as received.
#[derive(Debug, Serialize, ToSchema)]
// The fields of `Item` spelled out, not flattened: its schema refuses other properties, so a
// flattened one could never match.
pub struct HandoverItem {
    /// Its position in the manifest, counted from 1.
    pub item: u32,
    pub description: String,
    /// A positive decimal string, such as "2" or "1.5".
    #[schema(example = "2")]
    pub quantity: String,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    /// Declared value in VND, a decimal string.
    #[schema(example = "15000000")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_value: Option<String>,
    /// What the receiver recorded; absent until the receipt.
    pub status: Option<ReceiptStatus>,
    pub note: Option<String>,
}

/// The record of a two-party handover (biên bản giao nhận).
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverRecord {
    pub instance_id: String,
    pub workflow: String,
    pub workflow_version: u32,
    pub state: String,
    /// The sending party: its slot in the definition and its agency.
    pub sending_party: HandoverParty,
    /// The receiving party.
    pub receiving_party: HandoverParty,
    /// The sender's signature: who recorded the manifest.
    pub sender: Option<SignedBy>,
    /// The receiver's signature: who recorded the receipt.
    pub receiver: Option<SignedBy>,
    /// The items as sent and as received.
    pub items: Vec<HandoverItem>,
    /// Whether the receipt as it stands records an item missing or damaged.
    pub discrepancy: bool,
    /// Signatures on the joint steps that settled a discrepancy, in order.
    pub resolution: Vec<SignedBy>,
    /// The documents handed over with the instance's steps, as their events record them.
    pub documents: Vec<HandoverDocument>,
    /// The hash of the last event the record reads: the head of the instance's chain.
    pub head_hash: String,
    /// Whether the history behind this record verifies.
    pub verified: bool,
}

/// A party to a handover.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverParty {
    /// Its slot in the definition, such as `police`.
    pub slot: String,
    /// The agency bound to it, if bound.
    pub agency: Option<String>,
}

/// A document handed over with a step.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverDocument {
    pub id: String,
    /// The step's event that took it, and the field that named it.
    pub seq: Option<i64>,
    pub field: Option<String>,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
}

fn event_view(e: EventRow) -> ApiResult<Event> {
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
}

/// The events up to the version read: a step committed since then belongs to the next read,
/// so a history and its instance always agree.
fn events_of(conn: &mut DbConn, loaded: &Loaded) -> ApiResult<Vec<EventRow>> {
    Ok(event_store::of_instance(conn, &loaded.row.id, loaded.row.version)?)
}

/// The events of an instance, each with the data its step gave as `actor` may see it (see
/// [`seen_data`]).
pub fn history(conn: &mut DbConn, registry: &Registry, actor: &Actor, id: Uuid) -> ApiResult<History> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row).ok();
    let mut events: Vec<Event> =
        events_of(conn, &loaded)?.into_iter().map(event_view).collect::<ApiResult<_>>()?;
    for e in &mut events {
        if let Value::Object(data) = &e.data {
            e.data = Value::Object(seen_data(def, data, &loaded.parties, actor));
        }
    }
    Ok(History { instance_id: loaded.row.id, events })
}

/// Recomputes every hash of the instance's chain, then checks that the instance row says
/// what its history says: its state, version, data and who may see it.
pub fn verify(conn: &mut DbConn, registry: &Registry, actor: &Actor, id: Uuid) -> ApiResult<Verification> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row)?;
    let events = events_of(conn, &loaded)?;
    verify_loaded(conn, registry, def, &loaded, &events)
}

/// Replays the joint steps: each completing signature must record exactly what the round's
/// first signer proposed, and the signatures the instance holds as pending must be those of
/// the round still open, with its proposal. Returns why not, if not.
fn check_rounds(def: &Definition, loaded: &Loaded, events: &[EventRow]) -> Option<(Option<i64>, String)> {
    // (transition, proposal, signatures so far)
    let mut round: Option<(&str, Value, usize)> = None;
    for e in events {
        let Some(t) = def.transition(&e.transition).filter(|t| t.is_joint()) else {
            round = None;
            continue;
        };
        let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
        match &mut round {
            Some((name, _, count)) if *name == t.name => *count += 1,
            _ => {
                let proposal = data.get(PROPOSAL).cloned().unwrap_or(Value::Null);
                round = Some((&t.name, proposal, 1));
                continue;
            }
        }
        if let Some((_, proposal, count)) = &round {
            if *count == t.signed_by.len() {
                if &data != proposal {
                    return Some((
                        Some(e.seq),
                        "the last signature records other data than was proposed".into(),
                    ));
                }
                round = None;
            } else if data != Value::Object(Map::new()) {
                return Some((Some(e.seq), "a signature after the first carries data of its own".into()));
            }
        }
    }
    let expected: Vec<(String, Value, usize)> =
        round.map(|(name, proposal, count)| (name.to_owned(), proposal, count)).into_iter().collect();
    let held: Vec<(String, Value, usize)> = loaded
        .pending
        .iter()
        .map(|(name, p)| (name.clone(), Value::Object(p.proposal.clone()), p.signatures.len()))
        .collect();
    (expected != held)
        .then(|| (None, "the signatures pending on the instance are not those its events recorded".into()))
}

/// The version an instance started under, as its moves to other versions record it: each move
/// from the version the one before led to, the last to the version the instance is at.
fn started_version(events: &[EventRow], now: u32) -> Result<u32, (i64, String)> {
    let mut started = None;
    let mut at = None;
    for e in events.iter().filter(|e| e.transition == MIGRATION) {
        let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
        let version = |key: &str| data["_migration"][key].as_u64().and_then(|v| u32::try_from(v).ok());
        let (Some(from), Some(to)) = (version("from_version"), version("to_version")) else {
            return Err((e.seq, "a move to another version does not say from which to which".into()));
        };
        if at.is_some_and(|v| v != from) {
            return Err((
                e.seq,
                format!("a move from version {from} follows one to version {}", at.unwrap_or(0)),
            ));
        }
        started.get_or_insert(from);
        at = Some(to);
    }
    match at {
        Some(v) if v != now => {
            Err((i64::MAX, format!("the instance is at version {now}, but its last move was to version {v}")))
        }
        _ => Ok(started.unwrap_or(now)),
    }
}

pub(super) fn verify_loaded(
    conn: &mut DbConn,
    registry: &Registry,
    def: &Definition,
    loaded: &Loaded,
    events: &[EventRow],
) -> ApiResult<Verification> {
    let row = &loaded.row;
    let broken = |reason: String| Verification {
        valid: false,
        events: events.len(),
        first_broken_seq: None,
        reason: Some(reason),
        head_hash: None,
    };
    let now = u32::try_from(row.workflow_version).map_err(ApiError::internal)?;
    let started = match started_version(events, now) {
        Ok(started) => started,
        Err((seq, reason)) => {
            return Ok(Verification { first_broken_seq: (seq != i64::MAX).then_some(seq), ..broken(reason) })
        }
    };
    // Its identity as it started: the version, and the parties bound then: not those the
    // version it started under binds by a step, nor those a later version's step bound (its
    // event records the binding).
    let first = registry.get(&row.workflow_id, started).map_or(def, |d| &**d);
    let recorded: Vec<Value> =
        events.iter().skip(1).filter_map(|e| serde_json::from_str(&e.data).ok()).collect();
    let bound_by_event = |slot: &str| {
        def.bindings().any(|(field, s)| s == slot && recorded.iter().any(|d| d.get(field).is_some()))
    };
    let bound_later = |slot: &str| first.bound_by_step(slot) || (started != now && bound_by_event(slot));
    let head = Head { hash: &row.last_hash, state: &row.state, version: row.version };
    let verification = verify_rows(events, head, &identity(row, bound_later, started)?);
    if !verification.valid {
        return Ok(verification);
    }
    // The data is what the steps gave, in order; a proposal awaiting signatures is not data yet.
    let mut folded = Map::new();
    for e in events {
        if let Ok(Value::Object(data)) = serde_json::from_str::<Value>(&e.data) {
            folded.extend(data.into_iter().filter(|(k, _)| !k.starts_with('_')));
        }
    }
    if folded != loaded.data {
        return Ok(broken("the instance's data is not what its events recorded".into()));
    }
    for (field, slot) in def.bindings() {
        let recorded = folded.get(field).and_then(Value::as_str);
        if loaded.parties.get(slot).map(AgencyCode::as_str) != recorded {
            return Ok(broken(format!("the agency bound to {slot} is not the one its events recorded")));
        }
    }
    if let Some((seq, reason)) = check_rounds(def, loaded, events) {
        return Ok(Verification { first_broken_seq: seq, ..broken(reason) });
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

fn signed_by(e: &EventRow) -> SignedBy {
    SignedBy {
        seq: e.seq,
        transition: e.transition.clone(),
        sub: e.actor_sub.clone(),
        name: e.actor_name.clone(),
        agency: e.actor_agency.clone(),
        role: e.actor_role.clone(),
        at: local_rfc3339(e.occurred_at),
    }
}

/// The handover record of an instance whose workflow is a two-party handover.
pub fn handover(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<HandoverRecord> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row)?;
    let h = def.handover.as_ref().ok_or_else(|| {
        ApiError::not_found(format!("{} is not a handover; it has no handover record", def.id))
    })?;
    let events = events_of(conn, &loaded)?;
    let verified = verify_loaded(conn, registry, def, &loaded, &events)?.valid;

    // The record is that of the latest manifest: a new transfer after a return starts anew.
    let data: Vec<Map<String, Value>> =
        events.iter().map(|e| serde_json::from_str(&e.data).unwrap_or_default()).collect();
    let joint = |e: &EventRow| def.transition(&e.transition).is_some_and(|t| t.is_joint());
    let sent_at = events.iter().zip(&data).rposition(|(e, d)| d.contains_key(&h.manifest) && !joint(e));
    let after_sending = || events.iter().zip(&data).enumerate().skip(sent_at.map_or(events.len(), |i| i + 1));
    // The receiver signs the receipt in a step of its own; a settlement may restate it later.
    let received_at =
        after_sending().find(|(_, (e, d))| d.contains_key(&h.receipt) && !joint(e)).map(|(i, _)| i);
    let sender = sent_at.map(|i| signed_by(&events[i]));
    let receiver = received_at.map(|i| signed_by(&events[i]));
    // Settlement signatures count once their round is complete; a round that another step
    // interrupted was voided.
    let mut resolution = Vec::new();
    let mut round: Vec<&EventRow> = Vec::new();
    for e in events.iter().skip(received_at.map_or(events.len(), |r| r + 1)) {
        match def.transition(&e.transition).filter(|t| t.is_joint()) {
            Some(t) => {
                if round.first().is_some_and(|first| first.transition != e.transition) {
                    round.clear();
                }
                round.push(e);
                if round.len() == t.signed_by.len() {
                    resolution.extend(round.drain(..).map(signed_by));
                }
            }
            None => round.clear(),
        }
    }
    let receipt = after_sending().filter_map(|(_, (_, d))| d.get(&h.receipt)).next_back().cloned();

    let sent: Vec<Item> = match sent_at {
        Some(i) => serde_json::from_value(data[i][&h.manifest].clone()).map_err(ApiError::internal)?,
        None => Vec::new(),
    };
    let lines: Vec<ReceiptLine> = receipt
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(ApiError::internal)?
        .unwrap_or_default();
    let items = sent
        .into_iter()
        .enumerate()
        .map(|(i, sent)| {
            let item = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let line = lines.iter().find(|l| l.item == item);
            HandoverItem {
                item,
                description: sent.description,
                quantity: sent.quantity,
                unit: sent.unit,
                seal: sent.seal,
                declared_value: sent.declared_value,
                status: line.map(|l| l.status),
                note: line.and_then(|l| l.note.clone()),
            }
        })
        .collect();
    // The documents the steps read took; a step committed since belongs to the next read.
    let documents = crate::store::documents::of_instance(conn, &loaded.row.id)?
        .into_iter()
        .filter(|d| d.seq.is_some_and(|seq| seq <= loaded.row.version))
        .map(|d| HandoverDocument {
            id: d.id,
            seq: d.seq,
            field: d.field,
            name: d.name,
            media_type: d.media_type,
            size: d.size,
            sha256: d.sha256,
        })
        .collect();
    let party = |slot: &str| HandoverParty {
        slot: slot.to_owned(),
        agency: loaded.parties.get(slot).map(|a| a.to_string()),
    };
    Ok(HandoverRecord {
        instance_id: loaded.row.id.clone(),
        workflow: def.id.clone(),
        workflow_version: def.version,
        state: loaded.row.state.clone(),
        sending_party: party(&h.sender),
        receiving_party: party(&h.receiver),
        documents,
        head_hash: loaded.row.last_hash.clone(),
        sender,
        receiver,
        items,
        discrepancy: receipt.as_ref().is_some_and(has_discrepancy),
        resolution,
        verified,
    })
}
