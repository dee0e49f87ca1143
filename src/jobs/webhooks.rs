//! Webhook deliveries: the notices a step or a reminder queued for an agency's own systems,
//! posted signed with the agency's secret, retried with backoff, given up after
//! [`MAX_ATTEMPTS`]. A delivery is claimed under a lease like a reminder, and posted only while
//! enough of the lease is left to finish before another node may take it over.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{micros, JobError, Report, LEASE};
use crate::store::webhooks::{self as webhook_store, DeliveryRow, WebhookRow};
use crate::store::{write_transaction, Db};

/// Deliveries claimed at a time, and how many are in flight at once: at most 40 / 8 = 5
/// rounds of the 10-second timeout, within the lease.
const BATCH: i64 = 40;
const CONCURRENCY: usize = 8;
/// Attempts before a delivery is given up and shown as failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// The first retry waits this long; each later one twice as long, up to an hour.
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// The headers of a webhook request: the signature, the time it was signed (Unix seconds),
/// and the delivery's id (the same on every attempt).
pub const SIGNATURE_HEADER: &str = "X-Lienganh-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Lienganh-Timestamp";
pub const DELIVERY_HEADER: &str = "X-Lienganh-Delivery";
/// How long one request may take, connecting included.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

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
) -> Result<Option<&'static str>, JobError> {
    let (reader, holder, wanted) = (db.clone(), owner.to_owned(), id.to_owned());
    let held = tokio::task::spawn_blocking(move || -> Result<_, JobError> {
        Ok(webhook_store::held(&mut *reader.read()?, &wanted, &holder)?)
    })
    .await??;
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
    let (holder, wanted) = (owner.to_owned(), id.to_owned());
    let recorded = db
        .write(move |conn| -> Result<bool, JobError> {
            let attempt = webhook_store::Attempt {
                status,
                attempts,
                next_attempt_at: next,
                error: error.as_deref(),
                delivered_at,
            };
            Ok(webhook_store::record_attempt(conn, &wanted, &holder, &attempt)?)
        })
        .await?;
    Ok(recorded.then_some(status))
}

/// Sends the deliveries due at `now`, several at a time, so that one slow receiver does not
/// hold the others up. A claim is small enough to be sent well within its lease even when
/// every receiver times out.
pub async fn deliver(db: &Db, owner: &str, now: i64, client: &reqwest::Client) -> Result<Report, JobError> {
    let mut report = Report::default();
    loop {
        let claimer = owner.to_owned();
        let lease_until = now.max(crate::domain::now().timestamp_micros()) + micros(LEASE);
        let claimed = db
            .write(move |conn| {
                write_transaction(conn, |conn| -> Result<Vec<String>, JobError> {
                    Ok(webhook_store::claim_due(conn, &claimer, now, lease_until, BATCH)?)
                })
            })
            .await?;
        let outcomes: Vec<Result<Option<&str>, JobError>> = stream::iter(claimed.clone())
            .map(|id| async move { attempt(db, owner, &id, now, client).await })
            .buffer_unordered(CONCURRENCY)
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
        if (claimed.len() as i64) < BATCH {
            return Ok(report);
        }
    }
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
