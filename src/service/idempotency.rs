//! `Idempotency-Key`: the first answer to a keyed request is stored in the same transaction as
//! its effects; a retry with the same key and body gets that answer back and changes nothing;
//! the same key with another body is refused. A refusal (4xx) is a first answer too and is
//! remembered; a server error (5xx) is not, since nothing was decided and a retry may succeed.
//! Keys belong to one user (agency and subject).

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::now;
use crate::engine::history::canonical_json;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::store::idempotency::{self as store, IdempotencyRow};
use crate::store::{is_unique_violation, write_transaction, DbConn};

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 200;

/// A validated `Idempotency-Key` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let ok = !raw.is_empty() && raw.len() <= MAX_KEY_LEN && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::bad_request(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a write answers: its status and body.
#[derive(Debug, Clone)]
pub struct Reply<T = Value> {
    pub status: u16,
    pub body: Body<T>,
}

/// The body of a write's answer. Written as JSON once: by the store when the request carried a
/// key, otherwise by the caller, outside the write transaction.
#[derive(Debug, Clone)]
pub enum Body<T> {
    /// Decided by this request; `stored` is it as kept with the request's key, if it had one.
    Fresh { value: T, stored: Option<String> },
    /// The answer kept for an earlier request with the same key, as it was sent then.
    Replayed(String),
}

impl<T> Reply<T> {
    /// The answer decided by this request, not a replay.
    pub fn fresh(&self) -> Option<&T> {
        match &self.body {
            Body::Fresh { value, .. } => Some(value),
            Body::Replayed(_) => None,
        }
    }
}

/// What identifies a request's content: its route (method and path, such as
/// `POST /api/v1/instances`) and canonical body.
pub fn fingerprint(route: &str, body: &Value) -> String {
    let mut text = format!("{route}\n");
    canonical_json(body, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

enum TxError {
    Api(ApiError),
    /// The request itself was refused: its answer is the first answer.
    Refused(ApiError),
    /// Another request with the same key committed while this one waited.
    Race,
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Api(e.into())
    }
}

fn replay<T>(row: IdempotencyRow, fingerprint: &str) -> Result<Reply<T>, TxError> {
    if row.status == 0 {
        return Err(TxError::Api(in_progress()));
    }
    if row.fingerprint != fingerprint {
        return Err(TxError::Api(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used for a different request; use a new key",
        )));
    }
    let status = u16::try_from(row.status).map_err(|e| TxError::Api(ApiError::internal(e)))?;
    Ok(Reply { status, body: Body::Replayed(row.body) })
}

/// Runs `work` in one write transaction, honouring `key` if the request carries one.
pub fn run<T, F>(
    conn: &mut DbConn,
    actor: &Actor,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
    work: F,
) -> ApiResult<Reply<T>>
where
    T: Serialize,
    F: FnOnce(&mut DbConn) -> ApiResult<(u16, T)>,
{
    let subject = format!("{}/{}", actor.agency, actor.sub);
    let mut work = Some(work);
    for _ in 0..2 {
        let outcome = write_transaction(conn, |conn| -> Result<Reply<T>, TxError> {
            if let Some(key) = key {
                if let Some(row) = store::find(conn, &subject, key.as_str())? {
                    return replay(row, fingerprint);
                }
                let claim = IdempotencyRow {
                    subject: subject.clone(),
                    key: key.as_str().to_owned(),
                    fingerprint: fingerprint.to_owned(),
                    status: 0,
                    body: String::new(),
                    created_at: now().timestamp_micros(),
                };
                match store::claim(conn, &claim) {
                    Err(e) if is_unique_violation(&e) => return Err(TxError::Race),
                    other => other?,
                }
            }
            let work = work.take().ok_or_else(|| TxError::Api(ApiError::internal("request ran twice")))?;
            let (status, value) = work(conn).map_err(TxError::Refused)?;
            let stored = match key {
                Some(key) => {
                    let json =
                        serde_json::to_string(&value).map_err(|e| TxError::Api(ApiError::internal(e)))?;
                    store::complete(conn, &subject, key.as_str(), i32::from(status), &json)?;
                    Some(json)
                }
                None => None,
            };
            Ok(Reply { status, body: Body::Fresh { value, stored } })
        });
        match outcome {
            Ok(reply) => return Ok(reply),
            Err(TxError::Api(e)) => return Err(e),
            Err(TxError::Refused(e)) => {
                if let Some(key) = key {
                    remember_refusal(conn, &subject, key, fingerprint, &e);
                }
                return Err(e);
            }
            Err(TxError::Race) => continue,
        }
    }
    Err(in_progress())
}

/// A request with the same key is claimed but not answered yet.
fn in_progress() -> ApiError {
    ApiError::new(
        ErrorCode::RequestInProgress,
        "a request with this Idempotency-Key is still in progress; retry once it has been answered",
    )
}

/// Stores a client error as the key's answer, after its transaction has rolled back.
fn remember_refusal(conn: &mut DbConn, subject: &str, key: &IdempotencyKey, fingerprint: &str, e: &ApiError) {
    let status = e.code.status_and_title().0;
    if !status.is_client_error() {
        return;
    }
    let row = IdempotencyRow {
        subject: subject.to_owned(),
        key: key.as_str().to_owned(),
        fingerprint: fingerprint.to_owned(),
        status: i32::from(status.as_u16()),
        body: serde_json::to_string(&e.problem()).unwrap_or_default(),
        created_at: now().timestamp_micros(),
    };
    match write_transaction(conn, |conn| store::claim(conn, &row)) {
        Ok(()) => {}
        // A concurrent retry of the same request answered first; its answer stands.
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => tracing::warn!(error = %e, "could not remember a refused request's answer"),
    }
}
