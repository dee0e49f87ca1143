//! Delivering a notification: into the agency's inbox, and into the outbox of every active
//! webhook of the agency, in the caller's transaction. The webhook pass sends them later.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::local_rfc3339;
use crate::error::ApiResult;
use crate::store::fixed::{Sink, Writes};
use crate::store::notifications::{self as store, NotificationRow};
use crate::store::webhooks::{self as webhook_store, DeliveryRow, WebhookRow};
use crate::store::DbConn;

/// What an agency's own system receives: the notification, and the id of the delivery so a
/// retry can be recognised.
pub fn webhook_body(delivery_id: &str, note: &NotificationRow) -> String {
    let payload: Value = serde_json::from_str(&note.payload).unwrap_or(Value::Null);
    json!({
        "delivery_id": delivery_id,
        "notification": {
            "id": note.id,
            "agency": note.agency_code,
            "kind": note.kind,
            "subject": note.subject,
            "instance_id": note.instance_id,
            "deadline_id": note.deadline_id,
            "payload": payload,
            "created_at": local_rfc3339(note.created_at),
        }
    })
    .to_string()
}

/// Delivers one notification.
pub fn send(conn: &mut DbConn, note: &NotificationRow) -> ApiResult<()> {
    send_all(conn, std::slice::from_ref(note))
}

/// Delivers notifications: the inbox rows in one statement, the webhooks of their agencies
/// looked up at once.
pub fn send_all(conn: &mut DbConn, notes: &[NotificationRow]) -> ApiResult<()> {
    let hooks = hooks_of(conn, notes.iter().map(|n| n.agency_code.as_str()))?;
    let mut writes = Writes::new(conn);
    write_all(&mut writes, notes, &hooks)?;
    Ok(writes.finish()?)
}

/// The active webhooks of these agencies, each named once or more.
pub fn hooks_of<'a>(
    conn: &mut DbConn,
    agencies: impl IntoIterator<Item = &'a str>,
) -> ApiResult<Vec<WebhookRow>> {
    let mut agencies: Vec<&str> = agencies.into_iter().collect();
    if agencies.is_empty() {
        return Ok(Vec::new());
    }
    agencies.sort_unstable();
    agencies.dedup();
    Ok(webhook_store::active_of_any(conn, &agencies)?)
}

/// Writes notifications, and a delivery of each to every one of `hooks` of its agency: one
/// statement for each.
pub fn write_all(to: &mut impl Sink, notes: &[NotificationRow], hooks: &[WebhookRow]) -> ApiResult<()> {
    if notes.is_empty() {
        return Ok(());
    }
    store::insert_all(to, notes)?;
    let mut deliveries = Vec::new();
    for note in notes {
        for hook in hooks.iter().filter(|h| h.agency_code == note.agency_code) {
            let id = Uuid::now_v7().to_string();
            deliveries.push(DeliveryRow {
                body: webhook_body(&id, note),
                id,
                webhook_id: hook.id.clone(),
                notification_id: note.id.clone(),
                status: webhook_store::PENDING.to_owned(),
                attempts: 0,
                next_attempt_at: note.created_at,
                last_error: None,
                lease_owner: None,
                lease_until: None,
                delivered_at: None,
                created_at: note.created_at,
            });
        }
    }
    Ok(webhook_store::insert_deliveries(to, &deliveries)?)
}
