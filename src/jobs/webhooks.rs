//! Webhook deliveries: the notices a step or a reminder queued for an agency's own systems,
//! posted signed as the Standard Webhooks specification signs them, retried over about a day,
//! given up after
//! [`MAX_ATTEMPTS`]. A delivery is claimed under a lease like a reminder, and posted only while
//! enough of the lease is left to finish before another node may take it over.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
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
/// When each retry is made after the attempt before it failed, as the Standard Webhooks
/// specification suggests spreading them: eight attempts over a little more than a day. An
/// operational choice; no text sets it.
const RETRIES: [Duration; 7] = [
    Duration::from_secs(30),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// Attempts before a delivery is given up and shown as failed.
pub const MAX_ATTEMPTS: i32 = RETRIES.len() as i32 + 1;
/// The headers of the Standard Webhooks specification: the message's id (the delivery's, the
/// same on every attempt), when it was signed (Unix seconds), and its signatures.
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// How long one request may take, connecting included.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// What a secret the service generates starts with, before its key in base64.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 32 random bytes in base64, as the specification writes them.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", BASE64.encode(rand::random::<[u8; 32]>()))
}

/// The HMAC key of a secret: the bytes a `whsec_` secret encodes; for a secret chosen by an
/// agency before the service generated them, its own bytes.
fn key_of(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|key| BASE64.decode(key).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` header of a message sent at `timestamp` (Unix seconds): for each
/// secret, `v1,` and the base64 HMAC-SHA256 of the id, the timestamp and the body joined by
/// dots; several separated by spaces. Signing the id and the time lets a receiver refuse a
/// body replayed.
pub fn sign(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| {
            // HMAC takes a key of any length: this never fails.
            let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            Some(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// When the attempt after `attempts` failed ones may be made.
fn retry_at(now: i64, attempts: i32) -> i64 {
    let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(RETRIES.len() - 1);
    now + micros(RETRIES[index])
}

async fn post(client: &reqwest::Client, delivery: &DeliveryRow, hook: &WebhookRow) -> Result<(), String> {
    let at = crate::domain::now();
    let signature =
        sign(&hook.signing_secrets(at.timestamp_micros()), &delivery.id, at.timestamp(), &delivery.body);
    let response = client
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header(ID_HEADER, &delivery.id)
        .header(TIMESTAMP_HEADER, at.timestamp().to_string())
        .header(SIGNATURE_HEADER, signature)
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
