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
///
/// Any authenticated caller, of any role or agency: agencies are not confidential. Pages of at
/// most `limit` (50 when absent, 500 at most), ordered by code; pass `next_cursor` back as
/// `cursor` for the next page, and filter by `kind` if needed. A limit out of range or a cursor
/// this service did not give is 400.
#[utoipa::path(
    get,
    operation_id = "listAgencies",
    tag = "agencies",
    params(AgencyQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of agencies", body = AgencyPage), BadRequest, Unauthorized, Unavailable)
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
///
/// Any authenticated caller. 404 when no agency has this code (or the code is not one an
/// agency could have).
#[utoipa::path(
    get,
    operation_id = "getAgency",
    tag = "agencies",
    params(("code" = String, Path, description = "Agency code, such as THADS-HN")),
    security(("bearer" = [])),
    responses((status = 200, description = "The agency", body = Agency), Unauthorized, NotFound, Unavailable)
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
///
/// Only an `admin` may create agencies; anyone else gets 403. The code is the agency's
/// permanent identifier; a code already taken is 409 `already_exists`. A `parent` (such as the
/// provincial office above a regional one) must already exist, or the request is 422
/// `validation_failed`. With an `Idempotency-Key`, a retry with the same body replays the first
/// answer (marked `Idempotent-Replayed: true`). The answer's `Location` names the new agency.
#[utoipa::path(
    post,
    operation_id = "createAgency",
    tag = "agencies",
    request_body(content = CreateAgency, example = json!({
        "code": "THADS-HN-KV1", "kind": "enforcement",
        "name": "Phòng Thi hành án dân sự khu vực 1 - Hà Nội", "parent": "THADS-HN"
    })),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body replays the first answer", min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The agency created", body = Agency, headers(("Location" = String, description = "The agency"))),
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
