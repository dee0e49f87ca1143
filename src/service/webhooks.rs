//! Webhooks: an admin registers an agency's receiver (URL and secret); notifications for the
//! agency are then also posted there, signed, and their deliveries can be inspected.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{check_text, local_rfc3339, now, AgencyCode, Role};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::webhooks::{self as store, DeliveryRow, WebhookRow};
use crate::store::{agencies as agency_store, write_transaction, DbConn};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to post: an http or https URL of the agency's own system.
    pub url: String,
    /// The HMAC-SHA256 key the agency checks each body's signature with; 16 to 200 characters.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub agency: String,
    pub url: String,
    pub active: bool,
    pub created_at: String,
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
}

fn admin(actor: &Actor) -> ApiResult<()> {
    if actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only an admin manages webhooks"))
    }
}

fn view(row: WebhookRow) -> Webhook {
    Webhook {
        created_at: local_rfc3339(row.created_at),
        id: row.id,
        agency: row.agency_code,
        url: row.url,
        active: row.active,
    }
}

fn delivery_view(row: DeliveryRow) -> Delivery {
    Delivery {
        next_attempt_at: (row.status == store::PENDING).then(|| local_rfc3339(row.next_attempt_at)),
        delivered_at: row.delivered_at.map(local_rfc3339),
        created_at: local_rfc3339(row.created_at),
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
    if !(16..=200).contains(&req.secret.len()) || check_text(&req.secret).is_err() {
        errors.push(FieldError::new("secret", "16 to 200 characters"));
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
        secret: req.secret,
        active: true,
        created_at: now().timestamp_micros(),
    };
    store::insert(conn, &row)?;
    Ok(view(row))
}

/// One webhook (admin only).
pub fn get(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Webhook> {
    admin(actor)?;
    let row =
        store::find(conn, &id.to_string())?.ok_or_else(|| ApiError::not_found(format!("no webhook {id}")))?;
    Ok(view(row))
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
