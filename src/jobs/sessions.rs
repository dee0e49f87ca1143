//! Console sessions that ended a day ago are removed: nobody signs back in with them, and the
//! account events keep who signed in when.

use super::JobError;
use crate::store::{users as store, write_transaction, Db};

/// How long after its end a session is kept, in microseconds.
const KEPT: i64 = 24 * 3600 * 1_000_000;

/// Removes the sessions that ended a day before `now`; how many.
pub async fn forget(db: &Db, now: i64) -> Result<usize, JobError> {
    db.write(move |conn| write_transaction(conn, |conn| Ok(store::forget_sessions(conn, now - KEPT)?))).await
}
