//! Use cases: each takes a connection and an actor, checks what the caller may do, asks the
//! engine, and records the outcome in one transaction. No HTTP here, no SQL either.

pub mod agencies;
pub mod audit;
pub mod calendar;
pub mod case_stats;
pub mod cases;
pub mod coercion_calendar;
pub mod deadlines;
pub mod documents;
pub mod feeds;
pub mod history;
pub mod idempotency;
pub mod inbox;
pub mod instances;
pub mod reports;
pub mod search;
pub mod users;
pub mod webhooks;
pub mod workflows;

/// How many rows a list returns unless asked otherwise, and at most.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Checks a page size asked for by a client.
pub fn page_limit(limit: Option<i64>) -> crate::error::ApiResult<i64> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(crate::error::ApiError::bad_request(format!(
            "limit {n} is out of range: ask for 1 to {MAX_LIMIT}"
        ))),
    }
}
