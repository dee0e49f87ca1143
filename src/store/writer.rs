//! The one writer of SQLite: a thread that owns the only connection that writes, so that no
//! other can exist. It commits the writes that queued up meanwhile in one transaction, so one
//! `fsync` makes a whole group durable.
//!
//! Each request's work runs in turn on the writer connection inside the group's transaction;
//! its own transactions become savepoints, so a request that fails rolls back alone. Nobody is
//! answered before the group has committed: a reply always means the change is on disk, and if
//! the commit fails, everyone in the group is told so and nothing of the group is kept. Work
//! that must run outside any transaction (migrations) runs alone, between groups.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use diesel::connection::TransactionManager;
use diesel::SqliteConnection;

use super::DbConn;

/// The most requests one transaction carries.
const MAX_GROUP: usize = 256;

/// Why a write was not kept.
#[derive(Debug, Clone)]
pub struct GroupFailed(pub String);

/// Tells a request how its group ended, and answers it.
type Deliver = Box<dyn FnOnce(Result<(), GroupFailed>) + Send>;
/// A request's work, on the group's connection, or told why it cannot run.
type Grouped = Box<dyn FnOnce(Result<&mut DbConn, GroupFailed>) -> Deliver + Send>;
/// Work that runs on the connection alone, outside any transaction of the writer's.
type Alone = Box<dyn FnOnce(Result<&mut DbConn, GroupFailed>) + Send>;

enum Job {
    Grouped(Grouped),
    Alone(Alone),
}

/// Opens the writer's connection (again, after one broke).
type Open = Box<dyn Fn() -> Result<SqliteConnection, String> + Send>;

/// What the writer has done, for the metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Requests sent and not yet taken into a group.
    queued: AtomicI64,
    /// Groups committed (or failed), and the requests they carried.
    groups: AtomicU64,
    writes: AtomicU64,
}

/// A snapshot of [`WriterStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterFigures {
    pub queued: i64,
    pub groups: u64,
    pub writes: u64,
}

impl WriterStats {
    fn taken(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn figures(&self) -> WriterFigures {
        WriterFigures {
            queued: self.queued.load(Ordering::Relaxed).max(0),
            groups: self.groups.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
        }
    }
}

/// The queue to the writer thread.
#[derive(Clone)]
pub struct Writer {
    jobs: Sender<Job>,
    pub stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer thread; `open` gives it its connection, which nothing else holds.
    pub fn start(
        open: impl Fn() -> Result<SqliteConnection, String> + Send + 'static,
    ) -> Result<Self, String> {
        let (jobs, queue) = channel();
        let open: Open = Box::new(open);
        let stats = Arc::new(WriterStats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("lienganh-writer".into())
            .spawn(move || write_groups(&open, &queue, &counted))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Self { jobs, stats })
    }

    fn send(&self, job: Job) -> Result<(), GroupFailed> {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs.send(job).map_err(|_| {
            self.stats.taken();
            GroupFailed("the writer has stopped".into())
        })
    }

    /// Queues `work` for the next group; `answer` gets its outcome once the group has ended.
    fn submit<T, E, F>(&self, work: F, answer: impl FnOnce(Result<T, E>) + Send + 'static) -> Result<(), E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<GroupFailed> + Send + 'static,
    {
        let job: Grouped = Box::new(move |conn| {
            let outcome = conn.map(work);
            Box::new(move |group| {
                answer(match (outcome, group) {
                    // A refusal stands only if what it saw was kept.
                    (Ok(done), Ok(())) => done,
                    (Err(failed), _) | (_, Err(failed)) => Err(E::from(failed)),
                })
            })
        });
        self.send(Job::Grouped(job)).map_err(E::from)
    }

    /// Runs `work` in the next group; answers once the group has committed.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<GroupFailed> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        self.submit(work, move |outcome| {
            let _ = answer.send(outcome);
        })?;
        answered.await.map_err(|_| E::from(GroupFailed("the write was abandoned".into())))?
    }

    /// [`Writer::run`], for a caller that is not async (the command line): waits for it.
    pub fn run_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<GroupFailed> + Send + 'static,
    {
        let (answer, answered) = channel::<Result<T, E>>();
        self.submit(work, move |outcome| {
            let _ = answer.send(outcome);
        })?;
        answered.recv().map_err(|_| E::from(GroupFailed("the write was abandoned".into())))?
    }

    /// Runs `work` on the writer's connection outside any transaction of the writer's (a
    /// migration takes its own), between two groups; waits for it.
    pub fn run_alone<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<GroupFailed> + Send + 'static,
    {
        let (answer, answered) = channel::<Result<T, E>>();
        let job: Alone = Box::new(move |conn| {
            let _ = answer.send(conn.map_err(E::from).and_then(work));
        });
        self.send(Job::Alone(job)).map_err(E::from)?;
        answered.recv().map_err(|_| E::from(GroupFailed("the write was abandoned".into())))?
    }
}

fn write_groups(open: &Open, queue: &Receiver<Job>, stats: &WriterStats) {
    let mut conn: Option<DbConn> = None;
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => {
                    stats.taken();
                    job
                }
                Err(_) => return,
            },
        };
        // A connection that broke is opened again for the next work.
        if conn.as_mut().is_some_and(DbConn::is_broken_transaction_manager) {
            conn = None;
        }
        if conn.is_none() {
            conn = open()
                .map(DbConn::Sqlite)
                .map_err(|e| tracing::error!(error = %e, "cannot open the writer's connection"))
                .ok();
        }
        let group = match first {
            Job::Alone(work) => {
                let ran = catch_unwind(AssertUnwindSafe(|| match conn.as_mut() {
                    Some(c) => work(Ok(c)),
                    None => work(Err(GroupFailed("no database connection".into()))),
                }));
                if ran.is_err() {
                    conn = None;
                }
                continue;
            }
            Job::Grouped(job) => {
                let mut group = vec![job];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Job::Grouped(job)) => {
                            stats.taken();
                            group.push(job)
                        }
                        Ok(alone) => {
                            stats.taken();
                            carried = Some(alone);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                stats.groups.fetch_add(1, Ordering::Relaxed);
                stats.writes.fetch_add(group.len() as u64, Ordering::Relaxed);
                group
            }
        };
        match conn.as_mut() {
            Some(c) => commit_group(c, group),
            None => fail(group, &GroupFailed("no database connection".into())),
        }
    }
}

/// Tells every request of a group that it did not run, and why.
fn fail(group: Vec<Grouped>, failed: &GroupFailed) {
    for job in group {
        job(Err(failed.clone()))(Ok(()));
    }
}

/// Runs a group in one transaction and answers each request once it has committed.
fn commit_group(conn: &mut DbConn, group: Vec<Grouped>) {
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
