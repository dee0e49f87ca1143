//! `lienganh migrate-instances`: an operator moves the running instances of one version of a
//! workflow to another from the server's command line, as an admin does through the API, with
//! a dry run first, in batches, resumable.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Settings;
use crate::domain::{AgencyCode, Role};
use crate::engine::step::Actor;
use crate::engine::Rules;
use crate::http::server::{load_calendar, load_registry, open_database};
use crate::service::instances::moves::{self, DryRun, MigrateInstances, MigrationRun};

/// What the operator asked for.
#[derive(Debug, clap::Args)]
pub struct Request {
    #[arg(long)]
    pub workflow: String,
    /// The version the instances are under; not needed to resume.
    #[arg(long)]
    pub from: Option<u32>,
    /// The version they move to.
    #[arg(long)]
    pub to: Option<u32>,
    /// old_state=new_state; repeat for several. A state not named continues in the state of
    /// the same name.
    #[arg(long)]
    pub map: Vec<String>,
    /// Say what would happen to each instance, and move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Instances each batch moves, each batch a short write of its own.
    #[arg(long, default_value_t = moves::BATCH)]
    pub batch_size: u32,
    /// Stop after so many batches; the run is resumed later.
    #[arg(long)]
    pub batches: Option<u32>,
    /// Go on with a run that did not finish.
    #[arg(long)]
    pub resume: Option<String>,
    /// Your name, as the instances' histories will record who moved them.
    #[arg(long)]
    pub name: String,
    /// Your agency's code.
    #[arg(long)]
    pub agency: String,
}

fn mapping(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((from, to)) if !from.is_empty() && !to.is_empty() => Ok((from.to_owned(), to.to_owned())),
            _ => Err(format!("--map {pair:?}: write old_state=new_state")),
        })
        .collect()
}

fn refused(e: crate::error::ApiError) -> String {
    let mut text = e.detail;
    for f in e.errors {
        text.push_str(&format!("\n  {}: {}", f.field, f.reason));
    }
    text
}

/// A dry run as text: each state's count, then each instance listed with why it cannot move.
fn dry_text(d: &DryRun) -> String {
    let mut out = format!(
        "{} v{} -> v{}: {} would move, {} would stay\nrule: {}{}\n",
        d.workflow,
        d.from_version,
        d.to_version,
        d.moving,
        d.refused,
        d.rule.legal_basis,
        if d.rule.operational { " (operational choice)" } else { "" }
    );
    for s in &d.by_state {
        let to = s.to_state.as_deref().unwrap_or("(no mapping)");
        out.push_str(&format!("  {} -> {to}: {} move, {} stay\n", s.from_state, s.moving, s.refused));
    }
    for i in &d.instances {
        if i.moves {
            let changes: Vec<String> = i
                .deadlines
                .iter()
                .map(|c| format!("{} {:?} due {}", c.name, c.change, c.due_after.as_deref().unwrap_or("-")))
                .collect();
            out.push_str(&format!("MOVE  {} {}: {}\n", i.instance_id, i.from_state, changes.join("; ")));
        } else {
            for o in &i.obstacles {
                out.push_str(&format!("STAY  {} {}: {}\n", i.instance_id, i.from_state, o.detail));
            }
        }
    }
    if d.truncated {
        out.push_str("(more instances than listed)\n");
    }
    out
}

fn run_text(r: &MigrationRun) -> String {
    let state = match &r.finished_at {
        Some(at) => format!("finished {at}"),
        None => format!("not finished: resume with --resume {}", r.id),
    };
    format!(
        "run {} of {} v{} -> v{}: {} moved, {} stayed; {state}\n",
        r.id, r.workflow, r.from_version, r.to_version, r.moved, r.refused
    )
}

/// The operator, as the instances' histories record who moved them.
fn actor_of(req: &Request) -> Result<Actor, String> {
    let user = std::env::var("USER").unwrap_or_default();
    Ok(Actor {
        sub: format!("command line ({user})"),
        name: req.name.clone(),
        agency: AgencyCode::parse(&req.agency)?,
        roles: vec![Role::Admin],
    })
}

/// Does what the operator asked; the text to print.
pub fn run(settings: &Settings, req: Request) -> Result<String, String> {
    let (db, _) = open_database(settings)?;
    let registry = Arc::new(load_registry(settings)?);
    let file_calendar = load_calendar(settings)?;
    let calendar = {
        let mut conn = db.read().map_err(|e| e.to_string())?;
        crate::service::calendar::effective(&mut conn, &file_calendar).map_err(|e| e.detail)?
    };
    let rules = Rules { registry, calendar: Arc::new(calendar) };
    let actor = actor_of(&req)?;
    let runtime = actix_web::rt::System::new();
    let run_id = match &req.resume {
        Some(id) => id.clone(),
        None => {
            let (from_version, to_version) =
                req.from.zip(req.to).ok_or("give --from and --to, or --resume RUN")?;
            let body = MigrateInstances {
                from_version,
                to_version,
                states: mapping(&req.map)?,
                dry_run: req.dry_run,
                batch_size: Some(req.batch_size),
                list: None,
            };
            if req.dry_run {
                let mut conn = db.read().map_err(|e| e.to_string())?;
                let dry = moves::dry_run(&mut conn, &rules, &actor, &req.workflow, &body).map_err(refused)?;
                return Ok(dry_text(&dry));
            }
            let (rules_now, workflow) = (rules.clone(), req.workflow.clone());
            let begun = db
                .write_blocking(move |conn| moves::begin(conn, &rules_now, &actor, &workflow, &body))
                .map_err(refused)?;
            begun.id
        }
    };
    let run = uuid::Uuid::parse_str(&run_id).map_err(|_| format!("{run_id:?} is not a run's id"))?;
    let mut conn = db.read().map_err(|e| e.to_string())?;
    moves::get(&mut conn, &rules, &actor_of(&req)?, &req.workflow, run).map_err(refused)?;
    drop(conn);
    let done = runtime
        .block_on(moves::carry_out(&db, &rules, &run_id, req.batch_size, req.batches))
        .map_err(refused)?;
    Ok(run_text(&done))
}
