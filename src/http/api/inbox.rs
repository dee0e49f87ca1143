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

/// The caller's inbox: what their agency must know, for everyone there or for their roles,
/// newest first.
#[utoipa::path(
    get,
    operation_id = "listInbox",
    tag = "inbox",
    params(InboxQuery),
    security(("bearer" = [])),
    responses((status = 200, body = InboxPage), BadRequest, Unauthorized, Unavailable)
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
#[utoipa::path(
    post,
    operation_id = "markInboxRead",
    tag = "inbox",
    params(("id" = String, Path, description = "Notification id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = Notification), Unauthorized, NotFound, Unavailable)
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
