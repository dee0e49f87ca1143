//! The inbox of an agency, as each of its people sees it: the notifications for everyone
//! there and those for the roles they hold.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{local_rfc3339, now};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::store::notifications::{self as store, NotificationRow};
use crate::store::DbConn;

#[derive(Debug, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    /// `step`, `reminder`, `due` or `escalation`.
    pub kind: String,
    pub subject: String,
    pub instance_id: Option<String>,
    pub deadline_id: Option<String>,
    pub payload: Value,
    pub created_at: String,
    pub read_at: Option<String>,
    pub read_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<Notification>,
    pub next_cursor: Option<String>,
}

fn view(row: NotificationRow) -> Notification {
    Notification {
        payload: serde_json::from_str(&row.payload).unwrap_or(Value::Null),
        created_at: local_rfc3339(row.created_at),
        read_at: row.read_at.map(local_rfc3339),
        id: row.id,
        kind: row.kind,
        subject: row.subject,
        instance_id: row.instance_id,
        deadline_id: row.deadline_id,
        read_by: row.read_by,
    }
}

fn roles(actor: &Actor) -> Vec<&'static str> {
    actor.roles.iter().map(|r| r.as_str()).collect()
}

pub fn list(
    conn: &mut DbConn,
    actor: &Actor,
    unread: bool,
    cursor: Option<Uuid>,
    limit: i64,
) -> ApiResult<InboxPage> {
    let before = cursor.map(|c| c.to_string());
    let mut rows =
        store::inbox(conn, actor.agency.as_str(), &roles(actor), unread, before.as_deref(), limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.id.clone()) } else { None };
    Ok(InboxPage { items: rows.into_iter().map(view).collect(), next_cursor })
}

/// Marks one notification of the caller's inbox read; 404 for anything not in it.
pub fn mark_read(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Notification> {
    let missing = || ApiError::not_found(format!("no notification {id} in your inbox"));
    let row = store::find(conn, &id.to_string())?.ok_or_else(missing)?;
    let for_me = row.roles.is_empty() || roles(actor).iter().any(|r| row.roles.contains(&format!(",{r},")));
    if row.agency_code != actor.agency.as_str() || !for_me {
        return Err(missing());
    }
    store::mark_read(conn, &row.id, &actor.sub, now().timestamp_micros())?;
    let row = store::find(conn, &row.id)?.ok_or_else(missing)?;
    Ok(view(row))
}
