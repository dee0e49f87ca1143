//! When the jobs run: a pass of reminders and webhooks on the configured schedule (every
//! minute by default), the removal of old console sessions and unused uploads once an hour. A pass still running
//! when the next is due lets it go; stopping waits for the pass under way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};

use super::{documents, idempotency, node_name, pass, sessions, JobError, Report};
use crate::store::files::Files;
use crate::store::Db;

/// When old console sessions, uploads no step took and remembered answers past their retention
/// are removed: at minute 17 of every hour.
const FORGET_SESSIONS: &str = "0 17 * * * *";

/// The jobs, running on their schedule.
pub struct Schedule {
    scheduler: JobScheduler,
    running: Arc<AtomicBool>,
}

impl Schedule {
    /// Starts the passes on `cron`; `after_pass` hears how each one went. Remembered answers
    /// are kept `answers_kept` microseconds.
    pub async fn start(
        (cron, answers_kept): (&str, i64),
        db: Db,
        files: Files,
        after_pass: impl Fn(&Result<Report, JobError>) + Send + Sync + 'static,
    ) -> Result<Schedule, String> {
        let client = super::http_client()?;
        let node = node_name();
        let running = Arc::new(AtomicBool::new(false));
        let scheduler = JobScheduler::new().await.map_err(|e| format!("cannot start the scheduler: {e}"))?;
        let (flag, passes_db, after_pass) = (running.clone(), db.clone(), Arc::new(after_pass));
        let passes = Job::new_async(cron, move |_, _| {
            let (db, client, node, running, after_pass) =
                (passes_db.clone(), client.clone(), node.clone(), flag.clone(), after_pass.clone());
            Box::pin(async move {
                // A pass still running when the next is due: let it finish, skip this one.
                if running.swap(true, Ordering::SeqCst) {
                    return;
                }
                let now = crate::domain::now().timestamp_micros();
                after_pass(&pass(&db, &node, now, &client).await);
                running.store(false, Ordering::SeqCst);
            })
        })
        .map_err(|e| format!("LIENGANH_REMINDER_CRON {cron:?} is not a schedule: {e}"))?;
        scheduler.add(passes).await.map_err(|e| e.to_string())?;
        let forget = Job::new_async(FORGET_SESSIONS, move |_, _| {
            let (db, files) = (db.clone(), files.clone());
            Box::pin(async move {
                let now = crate::domain::now().timestamp_micros();
                if let Err(e) = sessions::forget(&db, now).await {
                    tracing::error!(error = %e, "removing old console sessions failed");
                }
                match documents::forget_unused(&db, &files, now).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "uploads no step took were removed"),
                    Err(e) => tracing::error!(error = %e, "removing uploads no step took failed"),
                }
                match idempotency::forget(&db, now, answers_kept).await {
                    Ok(0) => {}
                    Ok(removed) => {
                        tracing::info!(removed, "remembered answers past their retention were removed")
                    }
                    Err(e) => tracing::error!(error = %e, "removing remembered answers failed"),
                }
            })
        })
        .map_err(|e| format!("cannot schedule removing old sessions: {e}"))?;
        scheduler.add(forget).await.map_err(|e| e.to_string())?;
        scheduler.start().await.map_err(|e| e.to_string())?;
        Ok(Schedule { scheduler, running })
    }

    /// Starts no new pass, and waits for the one under way, if any, to finish.
    pub async fn stop(mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::error!(error = %e, "cannot stop the scheduler");
        }
        if self.running.load(Ordering::SeqCst) {
            tracing::info!("waiting for the reminder pass under way to finish");
        }
        while self.running.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
