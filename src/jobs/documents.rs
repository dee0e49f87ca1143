//! Uploads that no step took within a day are removed, and their bytes with them when no
//! other upload holds the same bytes and nobody wrote them within the day: an upload writes
//! its bytes even when they are there already, so a copy just uploaded again is kept.

use chrono::Duration;

use super::JobError;
use crate::store::documents as store;
use crate::store::files::{Files, FilesError};
use crate::store::{write_transaction, Db};

/// How long an upload may wait for a step to take it, in microseconds.
pub const KEPT: i64 = 24 * 3600 * 1_000_000;
/// Uploads looked at in one turn at the writer.
const BATCH: i64 = 100;

impl From<FilesError> for JobError {
    fn from(e: FilesError) -> Self {
        JobError::Files(e.to_string())
    }
}

/// Removes the uploads no step took before `now` less a day; how many.
pub async fn forget_unused(db: &Db, files: &Files, now: i64) -> Result<usize, JobError> {
    let before = now - KEPT;
    let mut removed = 0;
    loop {
        let gone = db
            .write(move |conn| -> Result<Vec<String>, JobError> {
                let mut gone = Vec::new();
                for row in store::unused_before(conn, before, BATCH)? {
                    if write_transaction(conn, |conn| store::remove_unused(conn, &row.id))? {
                        gone.push(row.sha256);
                    }
                }
                Ok(gone)
            })
            .await?;
        removed += gone.len();
        for sha256 in &gone {
            let held = {
                let (reader, sha) = (db.clone(), sha256.clone());
                tokio::task::spawn_blocking(move || -> Result<bool, JobError> {
                    Ok(store::holds(&mut *reader.read()?, &sha)?)
                })
                .await??
            };
            let fresh = files.modified(sha256).await?.is_some_and(|at| {
                at.timestamp_micros() > before - Duration::minutes(1).num_microseconds().unwrap_or(0)
            });
            if !held && !fresh {
                files.delete(sha256).await?;
            }
        }
        if (gone.len() as i64) < BATCH {
            return Ok(removed);
        }
    }
}
