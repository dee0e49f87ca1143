use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::{located, reply_with, AppState, Idempotency};
use crate::domain::{AgencyCode, AgencyKind};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::agencies::{self, Agency, AgencyPage, CreateAgency};
use crate::service::page_limit;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgencyQuery {
    /// Only agencies of this kind.
    pub kind: Option<AgencyKind>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists agencies by code.
#[utoipa::path(
    get,
    operation_id = "listAgencies",
    tag = "agencies",
    params(AgencyQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AgencyPage), BadRequest, Unauthorized, Unavailable)
)]
#[get("/agencies")]
pub async fn list(
    state: web::Data<AppState>,
    _actor: Actor,
    q: web::Query<AgencyQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    if let Some(cursor) = &q.cursor {
        AgencyCode::parse(cursor)
            .map_err(|_| ApiError::bad_request("cursor is not one this service gave out"))?;
    }
    let page = state.read(move |conn, _| agencies::list(conn, q.kind, q.cursor.as_deref(), limit)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One agency by its code.
#[utoipa::path(
    get,
    operation_id = "getAgency",
    tag = "agencies",
    params(("code" = String, Path, description = "Agency code, such as THADS-HN")),
    security(("bearer" = [])),
    responses((status = 200, body = Agency), Unauthorized, NotFound, Unavailable)
)]
#[get("/agencies/{code}")]
pub async fn get(
    state: web::Data<AppState>,
    _actor: Actor,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = AgencyCode::parse(&code).map_err(|_| ApiError::not_found(format!("no agency {code:?}")))?;
    let agency = state.read(move |conn, _| agencies::get(conn, &code)).await?;
    Ok(HttpResponse::Ok().json(agency))
}

/// Creates an agency (admin only).
#[utoipa::path(
    post,
    operation_id = "createAgency",
    tag = "agencies",
    request_body = CreateAgency,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body replays the first answer", min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Agency, headers(("Location" = String, description = "The agency"))),
        BadRequest, Unauthorized, Forbidden, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/agencies")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    body: web::Json<CreateAgency>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let fingerprint = key.fingerprint(&body);
    let r = state
        .write(move |conn, _| agencies::create(conn, &actor, body, key.key.as_ref(), &fingerprint))
        .await?;
    reply_with(r, |body| located(body, "code", "/api/v1/agencies"))
}
