//! The reminder sweeper and the webhook pass.
//!
//! Rows are the truth; the scheduler only wakes the sweeper. A pass claims the reminders that
//! are due, under a lease, and delivers each in a transaction of its own that marks it sent
//! only if the lease is still held: on PostgreSQL two nodes never send one reminder twice
//! (claims skip locked rows; a node that lost its lease rolls back), and a node that dies
//! mid-pass leaves its claims to another once the lease runs out. The webhook pass then sends
//! the deliveries that are due, signed with each agency's secret, retrying with backoff.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::local_rfc3339;
use crate::domain::AgencyCode;
use crate::engine::plan::Notice;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::store::deadlines::{self as deadline_store, DeadlineRow};
use crate::store::reminders::{self as reminder_store, ReminderRow};
use crate::store::webhooks::{self as webhook_store, DeliveryRow, WebhookRow};
use crate::store::{write_transaction, Db, DbConn};

/// How long a claim holds before another node may take it over.
pub const LEASE: Duration = Duration::from_secs(60);
/// Reminder claims taken at a time, and how many are sent with one turn at the writer.
pub const BATCH: i64 = 200;
const WRITER_TURN: usize = 25;
/// Webhook deliveries claimed at a time, and how many are in flight at once: at most
/// 40 / 8 = 5 rounds of the 10-second timeout, within the lease.
const WEBHOOK_BATCH: i64 = 40;
const WEBHOOK_CONCURRENCY: usize = 8;
/// Attempts before a webhook delivery is given up and shown as failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// The first retry waits this long; each later one twice as long, up to an hour.
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// The headers of a webhook request: the signature, the time it was signed (Unix seconds),
/// and the delivery's id (the same on every attempt).
pub const SIGNATURE_HEADER: &str = "X-Lienganh-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Lienganh-Timestamp";
pub const DELIVERY_HEADER: &str = "X-Lienganh-Delivery";
/// How long one webhook request may take, connecting included.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

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

enum Outcome {
    Sent,
    Cancelled,
    Lost,
}

/// What a reminder says, and to whom.
fn notice(r: &ReminderRow, d: &DeadlineRow, now: i64) -> Option<Notice> {
    let responsible = d.responsible_agency.as_str();
    let (agency, roles, subject) = match r.kind.as_str() {
        "before" => (
            responsible,
            &d.responsible_roles,
            format!(
                "Còn {} ngày làm việc (hạn {}): {}",
                r.working_days_before.unwrap_or_default(),
                d.due_date,
                d.title
            ),
        ),
        "due" => {
            let subject = if now < d.due_at {
                format!("Hôm nay là ngày cuối của thời hạn ({}): {}", d.due_date, d.title)
            } else {
                format!("Đã hết thời hạn ({}): {}", d.due_date, d.title)
            };
            (responsible, &d.responsible_roles, subject)
        }
        "escalation" => (
            d.escalate_agency.as_deref()?,
            &d.escalate_roles,
            format!("Quá hạn ({}), {} chưa thực hiện: {}", d.due_date, responsible, d.title),
        ),
        _ => return None,
    };
    Some(Notice {
        id: Uuid::now_v7().to_string(),
        agency: AgencyCode::parse(agency).ok()?,
        roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        kind: if r.kind == "before" { "reminder".into() } else { r.kind.clone() },
        instance_id: Some(d.instance_id.clone()),
        deadline_id: Some(d.id.clone()),
        reminder_id: Some(r.id.clone()),
        subject,
        payload: json!({
            "instance_id": d.instance_id,
            "workflow": d.workflow_id,
            "deadline": d.name,
            "responsible": responsible,
            "due_date": d.due_date,
            "due_at": local_rfc3339(d.due_at),
            "legal_basis": d.legal_basis,
            "working_days_before": r.working_days_before,
        }),
        created_at: r.fire_at,
    })
}

/// Delivers one claimed reminder, or finds it is no longer ours or no longer needed.
fn deliver(conn: &mut DbConn, id: &str, owner: &str, now: i64) -> ApiResult<Outcome> {
    let outcome = write_transaction(conn, |conn| -> ApiResult<Outcome> {
        let Some(r) = reminder_store::held(conn, id, owner)? else { return Ok(Outcome::Lost) };
        let deadline = deadline_store::find(conn, &r.deadline_id)?;
        let Some(d) = deadline.filter(|d| d.status == deadline_store::OPEN) else {
            return if reminder_store::finish(conn, id, owner, reminder_store::CANCELLED, now)? {
                Ok(Outcome::Cancelled)
            } else {
                Err(ApiError::new(ErrorCode::VersionConflict, "another node took the reminder over"))
            };
        };
        if let Some(note) = notice(&r, &d, now) {
            crate::store::record::notify(conn, std::slice::from_ref(&note)).map_err(|e| match e {
                crate::store::record::RecordError::Store(e) => ApiError::from(e),
                stale => ApiError::internal(stale),
            })?;
        }
        // Only the holder of the lease may mark it sent; otherwise everything rolls back.
        if reminder_store::finish(conn, id, owner, reminder_store::SENT, now)? {
            Ok(Outcome::Sent)
        } else {
            Err(ApiError::new(ErrorCode::VersionConflict, "another node took the reminder over"))
        }
    });
    match outcome {
        // Another node holds it now, or has just sent it (its notice is there already).
        Err(e) if matches!(e.code, ErrorCode::VersionConflict | ErrorCode::AlreadyExists) => {
            Ok(Outcome::Lost)
        }
        other => other,
    }
}

/// Sends every reminder due at `now` that no other node holds. The writer is taken for a few
/// reminders at a time, so that steps are not kept waiting behind a long pass (on SQLite there
/// is one writer). A reminder that cannot be sent is logged and left to a later pass, when its
/// lease has run out; it does not stop the others.
pub fn sweep(db: &Db, owner: &str, now: i64) -> ApiResult<Report> {
    let mut report = Report::default();
    loop {
        let claimed = {
            let mut conn = db.write()?;
            let lease_until = now.max(crate::domain::now().timestamp_micros()) + micros(LEASE);
            write_transaction(&mut conn, |conn| -> ApiResult<Vec<String>> {
                Ok(reminder_store::claim_due(conn, owner, now, lease_until, BATCH)?)
            })?
        };
        for chunk in claimed.chunks(WRITER_TURN) {
            let mut conn = db.write()?;
            for id in chunk {
                match deliver(&mut conn, id, owner, now) {
                    Ok(Outcome::Sent) => report.reminders_sent += 1,
                    Ok(Outcome::Cancelled) => report.reminders_cancelled += 1,
                    Ok(Outcome::Lost) => report.reminders_lost += 1,
                    Err(e) => {
                        report.reminders_failed += 1;
                        tracing::error!(reminder = %id, error = %e.detail, "reminder not sent; a later pass retries it");
                    }
                }
            }
            drop(conn);
            if db.backend == crate::store::Backend::Sqlite {
                // Give a step waiting for the one writer its turn.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if (claimed.len() as i64) < BATCH {
            return Ok(report);
        }
    }
}

/// The signature of a webhook body sent at `timestamp` (Unix seconds, also sent in
/// [`TIMESTAMP_HEADER`]): `sha256=` and the hex HMAC-SHA256, under the agency's secret, of the
/// timestamp, a dot and the body. Signing the time lets a receiver refuse an old body replayed.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(format!("{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC takes a key of any length.
        Err(_) => String::new(),
    }
}

/// When the attempt after `attempts` failed ones may be made.
fn retry_at(now: i64, attempts: i32) -> i64 {
    let factor = 2u32.saturating_pow(u32::try_from(attempts.saturating_sub(1)).unwrap_or(0));
    let wait = FIRST_RETRY.saturating_mul(factor).min(Duration::from_secs(3600));
    now + micros(wait)
}

async fn post(client: &reqwest::Client, delivery: &DeliveryRow, hook: &WebhookRow) -> Result<(), String> {
    let timestamp = crate::domain::now().timestamp();
    let response = client
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, sign(&hook.secret, timestamp, &delivery.body))
        .header(DELIVERY_HEADER, &delivery.id)
        .body(delivery.body.clone())
        .send()
        .await
        // Without the URL: it may carry credentials, and it is shown to admins and logged.
        .map_err(|e| format!("not delivered: {}", e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", response.status()))
    }
}

/// Makes one attempt at a claimed delivery; returns the status it was left in, or `None` when
/// it was no longer this node's to send.
async fn attempt(
    db: &Db,
    owner: &str,
    id: &str,
    now: i64,
    client: &reqwest::Client,
) -> ApiResult<Option<&'static str>> {
    let (db2, owner2, id2) = (db.clone(), owner.to_owned(), id.to_owned());
    let held = blocking(move || Ok(webhook_store::held(&mut *db2.write()?, &id2, &owner2)?)).await?;
    let Some((delivery, hook)) = held else { return Ok(None) };
    // Too little of the lease left to finish the request before another node may take the
    // delivery over: leave it, rather than risk posting it twice.
    let clock = now.max(crate::domain::now().timestamp_micros());
    if delivery.lease_until.unwrap_or(0) < clock + micros(POST_TIMEOUT) + micros(Duration::from_secs(5)) {
        return Ok(None);
    }
    let (status, attempts, next, error, delivered_at) = if hook.active {
        let attempts = delivery.attempts + 1;
        match post(client, &delivery, &hook).await {
            Ok(()) => (webhook_store::DELIVERED, attempts, now, None, Some(now)),
            Err(e) if attempts >= MAX_ATTEMPTS => (webhook_store::FAILED, attempts, now, Some(e), None),
            Err(e) => (webhook_store::PENDING, attempts, retry_at(now, attempts), Some(e), None),
        }
    } else {
        // Removed after this delivery was queued: given up, not sent.
        (webhook_store::FAILED, delivery.attempts, now, Some(webhook_store::REMOVED.to_owned()), None)
    };
    if let Some(e) = &error {
        tracing::warn!(delivery = %delivery.id, webhook = %hook.id, attempts, error = %e, "webhook delivery failed");
    }
    let (db2, owner2, id2) = (db.clone(), owner.to_owned(), id.to_owned());
    let recorded = blocking(move || {
        let attempt = webhook_store::Attempt {
            status,
            attempts,
            next_attempt_at: next,
            error: error.as_deref(),
            delivered_at,
        };
        Ok(webhook_store::record_attempt(&mut *db2.write()?, &id2, &owner2, &attempt)?)
    })
    .await?;
    Ok(recorded.then_some(status))
}

/// Sends the webhook deliveries due at `now`, several at a time, so that one slow receiver
/// does not hold the others up. A claim is small enough to be sent well within its lease even
/// when every receiver times out.
pub async fn deliver_webhooks(db: &Db, owner: &str, now: i64, client: &reqwest::Client) -> ApiResult<Report> {
    let mut report = Report::default();
    loop {
        let (db2, owner2) = (db.clone(), owner.to_owned());
        let claimed = blocking(move || {
            let mut conn = db2.write()?;
            let lease_until = now.max(crate::domain::now().timestamp_micros()) + micros(LEASE);
            write_transaction(&mut conn, |conn| -> ApiResult<Vec<String>> {
                Ok(webhook_store::claim_due(conn, &owner2, now, lease_until, WEBHOOK_BATCH)?)
            })
        })
        .await?;
        let outcomes: Vec<ApiResult<Option<&str>>> = stream::iter(claimed.clone())
            .map(|id| async move { attempt(db, owner, &id, now, client).await })
            .buffer_unordered(WEBHOOK_CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                Some(webhook_store::DELIVERED) => report.webhooks_delivered += 1,
                Some(webhook_store::FAILED) => report.webhooks_failed += 1,
                Some(_) => report.webhooks_retried += 1,
                None => {}
            }
        }
        if (claimed.len() as i64) < WEBHOOK_BATCH {
            return Ok(report);
        }
    }
}

async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)?
}

/// One full pass: reminders, then webhooks.
pub async fn pass(db: &Db, owner: &str, now: i64, client: &reqwest::Client) -> ApiResult<Report> {
    let (db2, owner2) = (db.clone(), owner.to_owned());
    let reminders = blocking(move || sweep(&db2, &owner2, now)).await?;
    let hooks = deliver_webhooks(db, owner, now, client).await?;
    Ok(Report {
        webhooks_delivered: hooks.webhooks_delivered,
        webhooks_retried: hooks.webhooks_retried,
        webhooks_failed: hooks.webhooks_failed,
        ..reminders
    })
}

/// An HTTP client for webhooks: short timeouts, so one slow receiver does not hold a pass.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        // A receiver answers where it was registered; it does not send us elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}
