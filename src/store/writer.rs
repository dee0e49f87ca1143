//! Group commit for SQLite: one thread does every write of the service and commits the writes
//! that queued up meanwhile in one transaction, so one `fsync` makes a whole group durable.
//!
//! Each request's work runs in turn on the writer connection inside the group's transaction;
//! its own transactions become savepoints, so a request that fails rolls back alone. Nobody is
//! answered before the group has committed: a reply always means the change is on disk, and if
//! the commit fails, everyone in the group is told so and nothing of the group is kept.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};

use diesel::connection::TransactionManager;

use super::{Db, DbConn};

/// The most requests one transaction carries.
const MAX_GROUP: usize = 256;

/// Why a group's writes were not kept.
#[derive(Debug, Clone)]
pub struct GroupFailed(pub String);

/// Tells a request how its group ended, and answers it.
type Deliver = Box<dyn FnOnce(Result<(), GroupFailed>) + Send>;
/// A request's work, on the group's connection, or told why it cannot run.
type Job = Box<dyn FnOnce(Result<&mut DbConn, GroupFailed>) -> Deliver + Send>;

/// The queue to the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Starts the writer thread over the database's write connection.
    pub fn start(db: Db) -> Result<Self, String> {
        let (jobs, queue) = channel();
        std::thread::Builder::new()
            .name("lienganh-writer".into())
            .spawn(move || write_groups(&db, &queue))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the next group; answers once the group has committed.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<GroupFailed> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn| {
            let outcome = conn.map(work);
            Box::new(move |group| {
                let reply = match (outcome, group) {
                    // A refusal stands only if what it saw was kept.
                    (Ok(done), Ok(())) => done,
                    (Err(failed), _) | (_, Err(failed)) => Err(E::from(failed)),
                };
                let _ = answer.send(reply);
            })
        });
        self.jobs.send(job).map_err(|_| E::from(GroupFailed("the writer has stopped".into())))?;
        answered.await.map_err(|_| E::from(GroupFailed("the write was abandoned".into())))?
    }
}

fn write_groups(db: &Db, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        match db.write() {
            Ok(mut conn) => commit_group(&mut conn, group),
            Err(e) => fail(group, &GroupFailed(format!("no database connection: {e}"))),
        }
    }
}

/// Tells every request of a group that it did not run, and why.
fn fail(group: Vec<Job>, failed: &GroupFailed) {
    for job in group {
        job(Err(failed.clone()))(Ok(()));
    }
}

/// Runs a group in one transaction and answers each request once it has committed.
fn commit_group(conn: &mut DbConn, group: Vec<Job>) {
    if let Err(e) = super::begin_write(conn) {
        return fail(group, &GroupFailed(format!("cannot start a transaction: {e}")));
    }
    let started = std::time::Instant::now();
    let size = group.len();
    let mut answers = Vec::with_capacity(group.len());
    let mut panicked = false;
    for job in group {
        if panicked {
            // Dropped unrun: its caller hears the write was abandoned.
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut *conn)))) {
            Ok(deliver) => answers.push(deliver),
            Err(_) => panicked = true,
        }
    }
    let ran = started.elapsed();
    let outcome = if panicked {
        let _ = DbConn::rollback_transaction(conn);
        Err(GroupFailed("a write failed unexpectedly; its group was rolled back".into()))
    } else {
        DbConn::commit_transaction(conn).map_err(|e| {
            let _ = DbConn::rollback_transaction(conn);
            GroupFailed(format!("the commit failed: {e}"))
        })
    };
    tracing::debug!(
        size,
        ran_us = ran.as_micros() as u64,
        commit_us = (started.elapsed() - ran).as_micros() as u64,
        "group"
    );
    if let Err(failed) = &outcome {
        tracing::error!(reason = %failed.0, requests = answers.len(), "a group of writes was not kept");
    }
    for deliver in answers {
        deliver(outcome.clone());
    }
}
