use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::{parse_id, AppState};
use crate::domain::AgencyCode;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::page_limit;
use crate::service::webhooks::{self, CreateWebhook, Delivery, Webhook};

fn agency(raw: &str) -> ApiResult<AgencyCode> {
    AgencyCode::parse(raw).map_err(|_| ApiError::not_found(format!("no agency {raw:?}")))
}

/// Registers a webhook for an agency (admin only): notifications for the agency are posted
/// there, signed with the secret (`X-Lienganh-Signature: sha256=<hex HMAC-SHA256 of the body>`).
#[utoipa::path(
    post,
    operation_id = "createWebhook",
    tag = "webhooks",
    request_body = CreateWebhook,
    params(("code" = String, Path, description = "Agency code")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Webhook, headers(("Location" = String, description = "The webhook"))),
        BadRequest, Unauthorized, Forbidden, NotFound, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/agencies/{code}/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    code: web::Path<String>,
    body: web::Json<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    let code = agency(&code)?;
    let body = body.into_inner();
    let hook = state.write(move |conn, _| webhooks::create(conn, &actor, &code, body)).await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, format!("/api/v1/webhooks/{}", hook.id)))
        .json(hook))
}

/// An agency's webhooks (admin only; secrets are never shown).
#[utoipa::path(
    get,
    operation_id = "listWebhooks",
    tag = "webhooks",
    params(("code" = String, Path, description = "Agency code")),
    security(("bearer" = [])),
    responses((status = 200, body = [Webhook]), Unauthorized, Forbidden, NotFound, Unavailable)
)]
#[get("/agencies/{code}/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = agency(&code)?;
    let hooks = state.read(move |conn, _| webhooks::list(conn, &actor, &code)).await?;
    Ok(HttpResponse::Ok().json(hooks))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
}

/// A webhook's deliveries, newest first (admin only): failed ones are visible here.
#[utoipa::path(
    get,
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (UUID)"), DeliveryQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [Delivery]), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable)
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
    q: web::Query<DeliveryQuery>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ ("pending" | "delivered" | "failed")) => Some(s.to_owned()),
        Some(_) => return Err(ApiError::bad_request("status is pending, delivered or failed")),
    };
    let found =
        state.read(move |conn, _| webhooks::deliveries(conn, &actor, id, status.as_deref(), limit)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// One webhook (admin only).
#[utoipa::path(
    get,
    operation_id = "getWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = Webhook), Unauthorized, Forbidden, NotFound, Unavailable)
)]
#[get("/webhooks/{id}")]
pub async fn get(state: web::Data<AppState>, actor: Actor, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    let hook = state.read(move |conn, _| webhooks::get(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(hook))
}

/// Removes a webhook (admin only), for example to replace its secret: nothing more is sent to
/// it, and deliveries still pending are given up (shown as failed, with the reason).
#[utoipa::path(
    delete,
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = Webhook), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable)
)]
#[delete("/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "webhook")?;
    let hook = state.write(move |conn, _| webhooks::remove(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(hook))
}
