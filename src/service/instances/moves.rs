//! Moving the running instances of one version of a workflow to another (an admin's, when a
//! new law brings a new version in): a dry run that says what would happen to each, then a
//! run that moves them a batch at a time, each batch a short write of its own, each instance
//! an event of its history. A run interrupted goes on from the last batch it recorded.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Loaded;
use crate::domain::{local_rfc3339, now, AgencyCode, Role};
use crate::engine::definition::{Definition, Transitional};
use crate::engine::migrate::{self, DeadlineChange, Migration, Moved, Obstacle};
use crate::engine::step::{Actor, World};
use crate::engine::Rules;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::store::deadlines as deadline_store;
use crate::store::moves::{self as store, MoveRow};
use crate::store::record::{record, RecordError};
use crate::store::{instances as instance_store, Db, DbConn};

/// Instances a batch moves when the request does not say.
pub const BATCH: u32 = 200;
/// The most a batch may move: each batch holds the writer while it runs.
pub const MAX_BATCH: u32 = 1000;
/// Instances a dry run lists one by one when the request does not say; all are counted.
pub const LISTED: u32 = 500;

/// What to move: from which version to which, the state each instance continues in (a state
/// not named continues in the state of the same name, if the new version has one).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from_version": 1, "to_version": 2, "dry_run": true, "list": 50}))]
pub struct MigrateInstances {
    pub from_version: u32,
    pub to_version: u32,
    /// State of the old version to state of the new one.
    #[serde(default)]
    pub states: BTreeMap<String, String>,
    /// Say what would happen, and move nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Instances each batch moves (1 to 1000; 200 when absent).
    pub batch_size: Option<u32>,
    /// For a dry run: how many instances to list one by one (all are counted; 500 when absent).
    pub list: Option<u32>,
}

/// One instance, as a dry run finds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceMove {
    pub instance_id: String,
    pub from_state: String,
    /// The state it would continue in; absent when it has no mapping.
    pub to_state: Option<String>,
    /// True when it would move; otherwise `obstacles` say why not.
    pub moves: bool,
    /// What the move would do to its deadlines under the new version.
    pub deadlines: Vec<DeadlineChange>,
    pub obstacles: Vec<Obstacle>,
}

/// The instances of one state, counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateCount {
    pub from_state: String,
    pub to_state: Option<String>,
    pub moving: u64,
    pub refused: u64,
}

/// What a move would do, decided for every running instance of the old version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRun {
    pub workflow: String,
    pub from_version: u32,
    pub to_version: u32,
    /// The new version's transitional rule, which the move follows.
    pub rule: Transitional,
    pub moving: u64,
    pub refused: u64,
    pub by_state: Vec<StateCount>,
    /// The first instances (see `list`), each with what would happen to it.
    pub instances: Vec<InstanceMove>,
    /// True when more instances were counted than listed.
    pub truncated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationActor {
    pub sub: String,
    pub name: String,
    pub agency: String,
}

/// A run that moves instances, and how far it has gone.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationRun {
    pub id: String,
    pub workflow: String,
    pub from_version: u32,
    pub to_version: u32,
    pub states: BTreeMap<String, String>,
    pub started_by: MigrationActor,
    pub started_at: String,
    pub updated_at: String,
    /// Absent while instances are left to go through: the run may be resumed.
    pub finished_at: Option<String>,
    pub moved: i64,
    /// Instances left under the old version (a dry run says why).
    pub refused: i64,
    pub rule: Option<Transitional>,
}

/// The versions and mapping of a move, checked: both versions exist, the new version's
/// transitional rule admits the old one, every state named exists, no instance is mapped
/// into a terminal state.
fn checked<'r>(
    rules: &'r Rules,
    workflow: &str,
    from: u32,
    to: u32,
    states: &BTreeMap<String, String>,
) -> ApiResult<(&'r Arc<Definition>, &'r Arc<Definition>)> {
    let registry = &rules.registry;
    registry.versions(workflow).ok_or_else(|| ApiError::not_found(format!("no workflow {workflow:?}")))?;
    let version = |v: u32, field: &str| {
        registry.get(workflow, v).ok_or_else(|| {
            ApiError::validation(
                "no such version",
                vec![FieldError::new(field, format!("{workflow} has no version {v}"))],
            )
        })
    };
    let (old, new) = (version(from, "from_version")?, version(to, "to_version")?);
    let Some(rule) = new.transitional.as_ref().filter(|r| r.from_versions.contains(&from)) else {
        return Err(ApiError::new(
            ErrorCode::MigrationNotAllowed,
            format!("{workflow} v{to} states no transitional rule that lets instances of v{from} continue under it"),
        ));
    };
    let mut errors = Vec::new();
    for (a, b) in states {
        if old.state(a).is_none() {
            errors.push(FieldError::new(format!("states.{a}"), format!("not a state of v{from}")));
        }
        match new.state(b) {
            None => {
                errors.push(FieldError::new(format!("states.{a}"), format!("{b:?} is not a state of v{to}")))
            }
            Some(s) if s.terminal => errors.push(FieldError::new(
                format!("states.{a}"),
                format!("{b:?} ends an instance: a move carries running instances on, it does not end them"),
            )),
            Some(_) => {}
        }
        if rule.stay.contains(a) {
            errors.push(FieldError::new(
                format!("states.{a}"),
                format!("an instance in {a:?} continues under its version: {}", rule.legal_basis),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("the state mapping does not fit the versions", errors));
    }
    Ok((old, new))
}

fn admin_only(actor: &Actor) -> ApiResult<()> {
    if actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an admin moves instances across versions"))
    }
}

fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// One instance's move decided: the state it is in, and its move or why it cannot move.
struct Decided {
    state: String,
    outcome: Result<Moved, Vec<Obstacle>>,
}

/// Decides the move of one instance, as it stands now; none if there is no such instance, or
/// it is no longer a running instance of the version moved from (a step ended it, or another
/// batch moved it, since it was listed).
fn decide(
    conn: &mut DbConn,
    rules: &Rules,
    m: &Migration<'_>,
    id: &str,
    actor: &Actor,
) -> ApiResult<Option<Decided>> {
    let Some(row) = instance_store::find(conn, id)? else { return Ok(None) };
    if i64::from(row.workflow_version) != i64::from(m.from.version) || row.closed_at.is_some() {
        return Ok(None);
    }
    let loaded = Loaded::read(row)?;
    let at = now().timestamp_micros();
    // Every deadline's sent reminders: one stated anew must not send them again.
    let names: Vec<&str> = m.to.deadlines.iter().map(|d| d.name.as_str()).collect();
    let running = deadline_store::running(conn, id, at, &names)?;
    let agencies = BTreeMap::new();
    let documents = BTreeMap::new();
    let world = World {
        registry: &rules.registry,
        calendar: &rules.calendar,
        agencies: &agencies,
        documents: &documents,
        at,
        ids: &new_id,
    };
    let outcome = migrate::migrate(m, loaded.view(&running, None), actor, &world);
    Ok(Some(Decided { state: loaded.row.state.clone(), outcome }))
}

/// Says what moving the running instances of `req.from_version` to `req.to_version` would do.
pub fn dry_run(
    conn: &mut DbConn,
    rules: &Rules,
    actor: &Actor,
    workflow: &str,
    req: &MigrateInstances,
) -> ApiResult<DryRun> {
    admin_only(actor)?;
    let (old, new) = checked(rules, workflow, req.from_version, req.to_version, &req.states)?;
    let m = Migration { from: old, to: new, states: &req.states, run: "dry-run" };
    let list = req.list.unwrap_or(LISTED) as usize;
    let version = i32::try_from(old.version).map_err(ApiError::internal)?;
    let mut out = DryRun {
        workflow: workflow.to_owned(),
        from_version: old.version,
        to_version: new.version,
        rule: new.transitional.clone().ok_or_else(|| ApiError::internal("checked above"))?,
        moving: 0,
        refused: 0,
        by_state: Vec::new(),
        instances: Vec::new(),
        truncated: false,
    };
    let mut counts: BTreeMap<(String, Option<String>), (u64, u64)> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let ids = store::running_of_version(conn, workflow, version, after.as_deref(), i64::from(MAX_BATCH))?;
        for id in &ids {
            let Some(Decided { state: from_state, outcome }) = decide(conn, rules, &m, id, actor)? else {
                continue;
            };
            let to_state = m.target(&from_state).map(str::to_owned);
            let count = counts.entry((from_state.clone(), to_state.clone())).or_default();
            let (moves, deadlines, obstacles) = match outcome {
                Ok(moved) => (true, moved.deadlines, Vec::new()),
                Err(obstacles) => (false, Vec::new(), obstacles),
            };
            if moves {
                out.moving += 1;
                count.0 += 1;
            } else {
                out.refused += 1;
                count.1 += 1;
            }
            if out.instances.len() < list {
                out.instances.push(InstanceMove {
                    instance_id: id.clone(),
                    from_state,
                    to_state,
                    moves,
                    deadlines,
                    obstacles,
                });
            } else {
                out.truncated = true;
            }
        }
        if ids.len() < MAX_BATCH as usize {
            break;
        }
        after = ids.last().cloned();
    }
    out.by_state = counts
        .into_iter()
        .map(|((from_state, to_state), (moving, refused))| StateCount {
            from_state,
            to_state,
            moving,
            refused,
        })
        .collect();
    Ok(out)
}

fn run_of(row: MoveRow, rules: &Rules) -> ApiResult<MigrationRun> {
    let to_version = u32::try_from(row.to_version).map_err(ApiError::internal)?;
    let rule = rules.registry.get(&row.workflow_id, to_version).and_then(|d| d.transitional.clone());
    Ok(MigrationRun {
        states: serde_json::from_str(&row.states).map_err(ApiError::internal)?,
        from_version: u32::try_from(row.from_version).map_err(ApiError::internal)?,
        to_version,
        started_by: MigrationActor { sub: row.actor_sub, name: row.actor_name, agency: row.actor_agency },
        started_at: local_rfc3339(row.started_at),
        updated_at: local_rfc3339(row.updated_at),
        finished_at: row.finished_at.map(local_rfc3339),
        moved: row.moved,
        refused: row.refused,
        id: row.id,
        workflow: row.workflow_id,
        rule,
    })
}

/// Records a run that will move the instances: nothing moves yet ([`carry_out`] moves them).
/// Refused while another run of the workflow is unfinished: finish or resume that one first.
pub fn begin(
    conn: &mut DbConn,
    rules: &Rules,
    actor: &Actor,
    workflow: &str,
    req: &MigrateInstances,
) -> ApiResult<MigrationRun> {
    admin_only(actor)?;
    checked(rules, workflow, req.from_version, req.to_version, &req.states)?;
    if let Some(open) = store::unfinished(conn, workflow)?.first() {
        return Err(ApiError::new(
            ErrorCode::AlreadyExists,
            format!("run {} of {workflow} is not finished: resume it before starting another", open.id),
        ));
    }
    let at = now().timestamp_micros();
    let row = MoveRow {
        id: new_id(),
        workflow_id: workflow.to_owned(),
        from_version: i32::try_from(req.from_version).map_err(ApiError::internal)?,
        to_version: i32::try_from(req.to_version).map_err(ApiError::internal)?,
        states: serde_json::to_string(&req.states).map_err(ApiError::internal)?,
        actor_sub: actor.sub.clone(),
        actor_name: actor.name.clone(),
        actor_agency: actor.agency.to_string(),
        started_at: at,
        updated_at: at,
        finished_at: None,
        last_instance: None,
        moved: 0,
        refused: 0,
    };
    store::insert(conn, &row)?;
    run_of(row, rules)
}

/// A run, as an admin or auditor reads it.
pub fn get(
    conn: &mut DbConn,
    rules: &Rules,
    actor: &Actor,
    workflow: &str,
    id: Uuid,
) -> ApiResult<MigrationRun> {
    if !actor.reads_everything() {
        return Err(ApiError::forbidden("only admins and auditors read the runs that move instances"));
    }
    let missing = || ApiError::not_found(format!("no run {id} of {workflow}"));
    let row =
        store::find(conn, &id.to_string())?.filter(|r| r.workflow_id == workflow).ok_or_else(missing)?;
    run_of(row, rules)
}

/// Moves the next batch of a run, in one transaction: each instance that can move is moved
/// (an instance a step moved on meanwhile is decided again), the others stay; true when the
/// run has gone through every instance.
pub fn batch(conn: &mut DbConn, rules: &Rules, run: &str, size: u32) -> ApiResult<bool> {
    crate::store::write_transaction(conn, |conn| {
        let row = store::find(conn, run)?.ok_or_else(|| ApiError::not_found(format!("no run {run}")))?;
        if row.finished_at.is_some() {
            return Ok(true);
        }
        let states: BTreeMap<String, String> =
            serde_json::from_str(&row.states).map_err(ApiError::internal)?;
        let from = u32::try_from(row.from_version).map_err(ApiError::internal)?;
        let to = u32::try_from(row.to_version).map_err(ApiError::internal)?;
        let (old, new) = checked(rules, &row.workflow_id, from, to, &states)?;
        let m = Migration { from: old, to: new, states: &states, run };
        let actor = Actor {
            sub: row.actor_sub.clone(),
            name: row.actor_name.clone(),
            agency: AgencyCode::parse(&row.actor_agency).map_err(ApiError::internal)?,
            roles: vec![Role::Admin],
        };
        let size = size.clamp(1, MAX_BATCH);
        let ids = store::running_of_version(
            conn,
            &row.workflow_id,
            row.from_version,
            row.last_instance.as_deref(),
            i64::from(size),
        )?;
        let (mut moved, mut refused) = (0, 0);
        for id in &ids {
            // A step recorded between the read and the write: decide again on what it left.
            let mut attempts = 0;
            while let Some(Decided { outcome, .. }) = decide(conn, rules, &m, id, &actor)? {
                let Ok(moving) = outcome else {
                    refused += 1;
                    break;
                };
                match record(conn, &moving.plan) {
                    Ok(()) => {
                        moved += 1;
                        break;
                    }
                    Err(RecordError::Stale) if attempts < 3 => attempts += 1,
                    Err(RecordError::Stale) => {
                        return Err(ApiError::new(
                            ErrorCode::VersionConflict,
                            format!("instance {id} kept moving on while it was being moved; resume the run"),
                        ))
                    }
                    Err(RecordError::DocumentTaken(_)) => {
                        return Err(ApiError::internal("a move takes no document"))
                    }
                    Err(RecordError::Store(e)) => return Err(e.into()),
                }
            }
        }
        let done = ids.len() < size as usize;
        let at = now().timestamp_micros();
        store::progress(
            conn,
            run,
            ids.last().or(row.last_instance.as_ref()).map(String::as_str),
            (moved, refused),
            at,
            done,
        )?;
        Ok(done)
    })
}

/// Moves a run's instances batch after batch, each a write of its own so that other writes go
/// between them, until every instance is gone through, or `max_batches` have run; then the
/// run as it stands.
pub async fn carry_out(
    db: &Db,
    rules: &Rules,
    run: &str,
    size: u32,
    max_batches: Option<u32>,
) -> ApiResult<MigrationRun> {
    let mut batches = 0;
    loop {
        if max_batches.is_some_and(|most| batches >= most) {
            break;
        }
        let (rules_now, id) = (rules.clone(), run.to_owned());
        let done = db.write(move |conn| batch(conn, &rules_now, &id, size)).await?;
        batches += 1;
        if done {
            break;
        }
    }
    let mut conn = db.read()?;
    let row = store::find(&mut conn, run)?.ok_or_else(|| ApiError::not_found(format!("no run {run}")))?;
    run_of(row, rules)
}
