//! Remembered answers to requests with an `Idempotency-Key` are kept for the configured
//! retention (48 hours unless set), then removed: a client retries within hours, and the
//! answers hold what the requests returned, personal data included.

use super::JobError;
use crate::store::{idempotency as store, write_transaction, Db};

/// Removes the answers remembered longer than `kept` (microseconds) before `now`; how many.
pub async fn forget(db: &Db, now: i64, kept: i64) -> Result<usize, JobError> {
    db.write(move |conn| write_transaction(conn, |conn| Ok(store::forget_before(conn, now - kept)?))).await
}
