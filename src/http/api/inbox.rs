use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::{parse_id, AppState};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::inbox::{self, InboxPage, Notification};
use crate::service::page_limit;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only notifications not yet read.
    pub unread: Option<bool>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's inbox: what their agency must know, newest first.
///
/// Any authenticated caller: the notifications of the caller's agency addressed to everyone
/// there or to one of the caller's roles: steps taken, reminders of a deadline before it is
/// due and when it is, and escalations of missed ones.
/// `unread=true` keeps those not yet read; pages of at most `limit` (50 when absent, 500 at
/// most), with `next_cursor` for the next. A limit or cursor out of range is 400.
#[utoipa::path(
    get,
    operation_id = "listInbox",
    tag = "inbox",
    params(InboxQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of notifications", body = InboxPage), BadRequest, Unauthorized, Unavailable)
)]
#[get("/inbox")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<InboxQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    let cursor = q
        .cursor
        .as_deref()
        .map(uuid::Uuid::parse_str)
        .transpose()
        .map_err(|_| ApiError::bad_request("cursor is not one this service gave out"))?;
    let unread = q.unread.unwrap_or(false);
    let page = state.read(move |conn, _| inbox::list(conn, &actor, unread, cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Marks a notification of the caller's inbox read.
///
/// For a notification of the caller's agency addressed to everyone there or to one of the
/// caller's roles; any other id is 404. Records who read it and when, and answers with the
/// notification as it now stands.
#[utoipa::path(
    post,
    operation_id = "markInboxRead",
    tag = "inbox",
    params(("id" = String, Path, description = "Notification id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The notification, read", body = Notification), Unauthorized, NotFound, Unavailable)
)]
#[post("/inbox/{id}/read")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "notification")?;
    let note = state.write(move |conn, _| inbox::mark_read(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(note))
}
