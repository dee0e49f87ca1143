//! Webhooks: an admin registers an agency's receiver; notifications for the agency are then
//! also posted there, signed as the Standard Webhooks specification signs them with a secret
//! the service generates and shows once, and their deliveries can be inspected and sent again.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{check_text, local_rfc3339, now, AgencyCode, Role};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::store::webhooks::{self as store, DeliveryRow, WebhookRow};
use crate::store::{agencies as agency_store, write_transaction, DbConn};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to post: an http or https URL of the agency's own system.
    pub url: String,
}

/// How long the secret a rotation replaces keeps signing beside the new one.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// Hours, 0 to 168; 24 when absent. During them every request carries both signatures,
    /// so the receiver can switch to the new secret at its own pace.
    #[schema(minimum = 0, maximum = 168, example = 24)]
    pub overlap_hours: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub agency: String,
    pub url: String,
    pub active: bool,
    pub created_at: String,
    /// The signing secret (`whsec_` and its key in base64): only in the answer that creates
    /// or rotates it, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Until when the secret a rotation replaced still signs beside the current one.
    pub previous_secret_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub notification_id: String,
    /// `pending`, `delivered` or `failed` (given up after the last attempt).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
    /// When an admin last sent it again, and who (`agency/sub`).
    pub redelivered_at: Option<String>,
    pub redelivered_by: Option<String>,
}

fn admin(actor: &Actor) -> ApiResult<()> {
    if actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an admin manages webhooks"))
    }
}

fn view(row: WebhookRow) -> Webhook {
    let at = now().timestamp_micros();
    Webhook {
        created_at: local_rfc3339(row.created_at),
        previous_secret_until: row.previous_secret_until.filter(|until| *until > at).map(local_rfc3339),
        secret: None,
        id: row.id,
        agency: row.agency_code,
        url: row.url,
        active: row.active,
    }
}

/// A webhook's view with its secret, shown this once.
fn view_with_secret(row: WebhookRow) -> Webhook {
    let secret = row.secret.clone();
    Webhook { secret: Some(secret), ..view(row) }
}

fn delivery_view(row: DeliveryRow) -> Delivery {
    Delivery {
        next_attempt_at: (row.status == store::PENDING).then(|| local_rfc3339(row.next_attempt_at)),
        delivered_at: row.delivered_at.map(local_rfc3339),
        created_at: local_rfc3339(row.created_at),
        redelivered_at: row.redelivered_at.map(local_rfc3339),
        redelivered_by: row.redelivered_by,
        id: row.id,
        notification_id: row.notification_id,
        status: row.status,
        attempts: row.attempts,
        last_error: row.last_error,
    }
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    agency: &AgencyCode,
    req: CreateWebhook,
) -> ApiResult<Webhook> {
    admin(actor)?;
    let mut errors = Vec::new();
    let url = req.url.trim();
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok || url.len() > 2000 || check_text(url).is_err() || url.contains(char::is_whitespace) {
        errors.push(FieldError::new("url", "an http:// or https:// URL of at most 2000 characters"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("the webhook cannot be registered", errors));
    }
    if agency_store::find(conn, agency.as_str())?.is_none() {
        return Err(ApiError::not_found(format!("no agency {agency}")));
    }
    let row = WebhookRow {
        id: Uuid::now_v7().to_string(),
        agency_code: agency.to_string(),
        url: url.to_owned(),
        secret: crate::jobs::new_secret(),
        active: true,
        created_at: now().timestamp_micros(),
        previous_secret: None,
        previous_secret_until: None,
    };
    store::insert(conn, &row)?;
    Ok(view_with_secret(row))
}

fn found(conn: &mut DbConn, id: &str) -> ApiResult<WebhookRow> {
    store::find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("no webhook {id}")))
}

/// Gives a webhook a new secret, shown this once (admin only); the one it replaces keeps
/// signing beside it for the overlap asked.
pub fn rotate(conn: &mut DbConn, actor: &Actor, id: Uuid, req: RotateSecret) -> ApiResult<Webhook> {
    admin(actor)?;
    let overlap = req.overlap_hours.unwrap_or(24);
    if !(0..=168).contains(&overlap) {
        let error = FieldError::new("overlap_hours", "0 to 168 hours");
        return Err(ApiError::validation("the secret cannot be rotated", vec![error]));
    }
    let id = id.to_string();
    let row = found(conn, &id)?;
    let secret = crate::jobs::new_secret();
    let until = now().timestamp_micros() + overlap * 3_600_000_000;
    if !write_transaction(conn, |conn| store::rotate(conn, &id, &secret, until))? {
        return Err(ApiError::new(ErrorCode::WebhookRemoved, format!("webhook {id} was removed")));
    }
    Ok(view_with_secret(WebhookRow {
        previous_secret: Some(row.secret.clone()),
        previous_secret_until: Some(until),
        secret,
        ..row
    }))
}

/// Sends a delivered or failed delivery again, with a fresh round of attempts (admin only).
pub fn redeliver(conn: &mut DbConn, actor: &Actor, id: Uuid, delivery: Uuid) -> ApiResult<Delivery> {
    admin(actor)?;
    let (id, delivery) = (id.to_string(), delivery.to_string());
    let hook = found(conn, &id)?;
    let Some(row) = store::delivery(conn, &id, &delivery)? else {
        return Err(ApiError::not_found(format!("no delivery {delivery} of webhook {id}")));
    };
    if !hook.active {
        return Err(ApiError::new(ErrorCode::WebhookRemoved, format!("webhook {id} was removed")));
    }
    let at = now().timestamp_micros();
    let by = format!("{}/{}", actor.agency, actor.sub);
    if !write_transaction(conn, |conn| store::redeliver(conn, &delivery, at, &by))? {
        return Err(ApiError::new(
            ErrorCode::DeliveryPending,
            format!("delivery {delivery} is still being attempted"),
        ));
    }
    tracing::info!(webhook = %id, delivery = %delivery, by = %by, "webhook delivery queued again");
    Ok(delivery_view(DeliveryRow {
        status: store::PENDING.to_owned(),
        attempts: 0,
        next_attempt_at: at,
        delivered_at: None,
        redelivered_at: Some(at),
        redelivered_by: Some(by),
        ..row
    }))
}

/// One webhook (admin only).
pub fn get(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Webhook> {
    admin(actor)?;
    Ok(view(found(conn, &id.to_string())?))
}

pub fn list(conn: &mut DbConn, actor: &Actor, agency: &AgencyCode) -> ApiResult<Vec<Webhook>> {
    admin(actor)?;
    Ok(store::of_agency(conn, agency.as_str())?.into_iter().map(view).collect())
}

pub fn deliveries(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    status: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<Delivery>> {
    admin(actor)?;
    let id = id.to_string();
    if store::find(conn, &id)?.is_none() {
        return Err(ApiError::not_found(format!("no webhook {id}")));
    }
    Ok(store::deliveries(conn, &id, status, limit)?.into_iter().map(delivery_view).collect())
}

/// Removes a webhook (admin only): it stays listed, inactive, with its deliveries; what was
/// still pending is given up.
pub fn remove(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Webhook> {
    admin(actor)?;
    let id = id.to_string();
    let Some(row) = store::find(conn, &id)? else {
        return Err(ApiError::not_found(format!("no webhook {id}")));
    };
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| store::deactivate(conn, &id, at))?;
    Ok(view(WebhookRow { active: false, ..row }))
}
