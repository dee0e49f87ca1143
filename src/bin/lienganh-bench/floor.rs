//! The floor: what the database alone can take. The rows the service wrote for finished
//! instances are read back, then written again under new ids, step by step, each step in its
//! own write transaction as the service does it (the instance inserted or moved on with its
//! version checked, the event, the deadlines opened and closed with their reminders, the
//! notifications, the writes after the version check together as the service sends them), from
//! as many threads as there were clients, without HTTP or the engine.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lienganh::store::deadlines::{self as deadline_store, DeadlineRow};
use lienganh::store::events::{self as event_store, EventRow};
use lienganh::store::fixed::{Sink, Writes};
use lienganh::store::instances::{self as instance_store, Advance, InstanceRow};
use lienganh::store::notifications::{self as notification_store, NotificationRow};
use lienganh::store::reminders::{self as reminder_store, ReminderRow};
use lienganh::store::WriteError;
use lienganh::store::{write_transaction, Db, DbConn};
use uuid::Uuid;

/// What the service wrote for one instance, to be written again.
struct Template {
    instance: InstanceRow,
    agencies: Vec<String>,
    events: Vec<EventRow>,
    deadlines: Vec<(DeadlineRow, Vec<ReminderRow>)>,
    notifications: Vec<NotificationRow>,
}

/// Why a floor write failed.
#[derive(Debug)]
struct Failed(String);

impl From<WriteError> for Failed {
    fn from(e: WriteError) -> Self {
        Self(e.to_string())
    }
}

impl From<diesel::result::Error> for Failed {
    fn from(e: diesel::result::Error) -> Self {
        Self(e.to_string())
    }
}

pub struct Floor {
    pub writes: u64,
    pub elapsed: Duration,
}

/// Writes the templates again from `tasks` concurrent tasks for `window`. On SQLite the
/// writes go through the store's one way to write (the group-commit writer), the best the one writer can do with
/// every commit on disk; on PostgreSQL each task takes a connection of the pool.
pub fn run(url: &str, finished: &[String], tasks: usize, window: Duration) -> Result<Floor, String> {
    // The pool the server had: its default, or LIENGANH_POOL_SIZE as the server saw it.
    let pool_size = lienganh::config::Settings::load(None)?.pool_size;
    let db = Db::connect(url, pool_size)?;
    let templates: Arc<Vec<Arc<Template>>> =
        Arc::new(load(&db, finished)?.into_iter().map(Arc::new).collect());
    if templates.is_empty() {
        return Err("no instance finished under load: nothing to measure the floor with".into());
    }
    let writes = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = crate::load::runtime()?;
    let started = Instant::now();
    let outcome: Result<(), String> = rt.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let (db, templates) = (db.clone(), templates.clone());
                let (writes, stop) = (writes.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = t;
                    while !stop.load(Ordering::Relaxed) {
                        let template = templates[n % templates.len()].clone();
                        n += tasks;
                        replay(&db, template, &writes, &stop).await?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        tokio::time::sleep(window).await;
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.await.map_err(|e| e.to_string())??;
        }
        Ok(())
    });
    let counted = writes.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    outcome?;
    Ok(Floor { writes: counted, elapsed })
}

fn load(db: &Db, finished: &[String]) -> Result<Vec<Template>, String> {
    let mut conn = db.read().map_err(|e| e.to_string())?;
    let mut templates = Vec::new();
    for id in finished.iter().take(256) {
        let Some(instance) = instance_store::find(&mut conn, id).map_err(|e| e.to_string())? else {
            continue;
        };
        let agencies = instance_store::access_of(&mut conn, id).map_err(|e| e.to_string())?;
        let events = event_store::of_instance(&mut conn, id, i64::MAX).map_err(|e| e.to_string())?;
        let mut deadlines = Vec::new();
        for d in deadline_store::of_instance(&mut conn, id).map_err(|e| e.to_string())? {
            let reminders = reminder_store::of_deadline(&mut conn, &d.id).map_err(|e| e.to_string())?;
            deadlines.push((d, reminders));
        }
        let notifications = notification_store::of_instance(&mut conn, id).map_err(|e| e.to_string())?;
        templates.push(Template { instance, agencies, events, deadlines, notifications });
    }
    Ok(templates)
}

/// Writes one template again under new ids, one transaction a step.
async fn replay(db: &Db, t: Arc<Template>, writes: &AtomicU64, stop: &AtomicBool) -> Result<(), String> {
    let id = Arc::new(Uuid::now_v7().to_string());
    let deadline_ids: Arc<Vec<String>> =
        Arc::new(t.deadlines.iter().map(|_| Uuid::now_v7().to_string()).collect());
    for i in 0..t.events.len() {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (t, id, deadline_ids) = (t.clone(), id.clone(), deadline_ids.clone());
        let work = move |conn: &mut DbConn| {
            write_transaction(conn, |conn| {
                step(conn, &t, &id, &deadline_ids, &t.events[i]).map_err(Failed::from)
            })
        };
        db.write(work).await.map_err(|e| e.0)?;
        writes.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn step(
    conn: &mut DbConn,
    t: &Template,
    id: &str,
    deadline_ids: &[String],
    event: &EventRow,
) -> diesel::QueryResult<()> {
    let seq = event.seq;
    let agencies: Vec<&str> = t.agencies.iter().map(String::as_str).collect();
    // The service closed it with its last step, if it ended.
    let closes = t.instance.closed_at.is_some() && usize::try_from(seq) == Ok(t.events.len());
    // The service's reads come first, then its writes all together, as the service sends them.
    if seq != 1 {
        let current = instance_store::find(conn, id)?.ok_or(diesel::result::Error::NotFound)?;
        let advance = Advance {
            id,
            expected_version: current.version,
            state: &event.to_state,
            data: &t.instance.data,
            updated_at: event.occurred_at,
            last_hash: &event.hash,
            pending: &current.pending,
            closes,
        };
        if !instance_store::advance(conn, &advance)? {
            return Err(diesel::result::Error::NotFound);
        }
    }
    let mut writes = Writes::new(conn);
    let conn = &mut writes;
    if seq == 1 {
        let row = InstanceRow {
            id: id.to_owned(),
            state: event.to_state.clone(),
            version: 1,
            last_hash: event.hash.clone(),
            closed_at: None,
            ..t.instance.clone()
        };
        instance_store::insert(conn, &row, &agencies)?;
    } else if closes {
        instance_store::close_access(conn, id, &agencies)?;
    }
    event_store::insert(conn, &EventRow { instance_id: id.to_owned(), ..event.clone() })?;
    for ((d, reminders), new_id) in t.deadlines.iter().zip(deadline_ids) {
        if d.opened_seq == seq {
            let row = DeadlineRow {
                id: new_id.clone(),
                instance_id: id.to_owned(),
                status: deadline_store::OPEN.to_owned(),
                closed_seq: None,
                closed_at: None,
                ..d.clone()
            };
            deadline_store::insert(conn, &row)?;
            let reminders: Vec<ReminderRow> = reminders
                .iter()
                .map(|r| ReminderRow {
                    id: Uuid::now_v7().to_string(),
                    deadline_id: new_id.clone(),
                    status: reminder_store::PENDING.to_owned(),
                    ..r.clone()
                })
                .collect();
            reminder_store::insert_all(conn, &reminders)?;
        }
        if d.closed_seq == Some(seq) {
            if d.opened_seq == seq {
                // Its reminders, queued above, must be there to be cancelled.
                conn.barrier()?;
            }
            deadline_store::close(conn, new_id, &d.status, seq, event.occurred_at)?;
            reminder_store::cancel_pending(conn, new_id)?;
        }
    }
    let notes: Vec<NotificationRow> = t
        .notifications
        .iter()
        .filter(|n| n.created_at == event.occurred_at)
        .map(|n| NotificationRow {
            id: Uuid::now_v7().to_string(),
            instance_id: Some(id.to_owned()),
            read_at: None,
            read_by: None,
            ..n.clone()
        })
        .collect();
    notification_store::insert_all(conn, &notes)?;
    writes.finish()
}
