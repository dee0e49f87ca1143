//! Background work, after the steps that queued it committed: reminders of deadlines
//! ([`reminders`]), webhook deliveries ([`webhooks`]), the removal of ended console sessions
//! ([`sessions`]), of uploads no step took ([`documents`]) and of remembered answers past
//! their retention ([`idempotency`]), woken on a schedule
//! ([`schedule`]). Rows are the truth; the schedule only
//! wakes the work. Every write goes through the store's one way to write ([`Db::write`]), as a
//! request's does, so on SQLite the writer takes the jobs' turns between the requests'.

pub mod documents;
pub mod idempotency;
pub mod reminders;
pub mod schedule;
pub mod sessions;
pub mod webhooks;

use std::time::Duration;

use uuid::Uuid;

use crate::store::{Db, PoolError, WriteError};

pub use reminders::{sweep, BATCH, LEASE};
pub use webhooks::{
    http_client, new_secret, sign, ID_HEADER, MAX_ATTEMPTS, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

/// Why a job could not do its work (a reminder or a delivery that fails is counted in the
/// [`Report`] and retried later; this is for what stops a whole pass).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the database refused: {0}")]
    Store(#[from] diesel::result::Error),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("no database connection available: {0}")]
    Read(#[from] PoolError),
    #[error("a job's thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
    /// A row the job cannot make sense of (an agency code that no longer parses).
    #[error("{0}")]
    Corrupt(String),
    /// The documents store failed.
    #[error("{0}")]
    Files(String),
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub reminders_sent: usize,
    /// Reminders of deadlines met, closed or suspended meanwhile.
    pub reminders_cancelled: usize,
    /// Claims another node took over before this one finished.
    pub reminders_lost: usize,
    /// Reminders that could not be sent this time (logged; a later pass retries them).
    pub reminders_failed: usize,
    pub webhooks_delivered: usize,
    pub webhooks_retried: usize,
    pub webhooks_failed: usize,
}

/// A name for this node in leases: unique per process.
pub fn node_name() -> String {
    format!("{}-{}", std::process::id(), Uuid::now_v7().simple())
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// One full pass: reminders, then webhooks.
pub async fn pass(db: &Db, owner: &str, now: i64, client: &reqwest::Client) -> Result<Report, JobError> {
    let reminders = reminders::sweep(db, owner, now).await?;
    let hooks = webhooks::deliver(db, owner, now, client).await?;
    Ok(Report {
        webhooks_delivered: hooks.webhooks_delivered,
        webhooks_retried: hooks.webhooks_retried,
        webhooks_failed: hooks.webhooks_failed,
        ..reminders
    })
}
