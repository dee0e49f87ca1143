use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::workflows::diagram_response;
use super::{located, parse_id, reply_with, versioned, AppState, Idempotency, IfMatch};
use crate::domain::{is_identifier, AgencyCode};
use crate::engine::history::Verification;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::history::{self as history_service, HandoverRecord, History};
use crate::service::instances::{
    self, AvailableTransition, CreateInstance, FireTransition, Instance, InstancePage, ListQuery,
};
use crate::service::page_limit;
use crate::service::workflows::{self, DiagramFormat};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstanceQuery {
    /// Only instances of this workflow.
    pub workflow: Option<String>,
    /// Only instances in this state.
    pub state: Option<String>,
    /// Only instances this agency (a code) is a party to.
    pub party: Option<String>,
    /// Only instances with an open deadline past due.
    pub overdue: Option<bool>,
    /// Only running instances (true), or only those that reached a terminal state (false).
    pub open: Option<bool>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A workflow or state name to filter by: a name as definitions write them.
fn name_filter(what: &str, value: String) -> ApiResult<String> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request(format!("{what} must be a name such as court_transfer")))
    }
}

const IDEMPOTENCY: &str = "Retry safely: the same key and body replays the first answer";

/// What an `If-Match` header means on a write.
pub const IF_MATCH: &str =
    "The version (an ETag, such as \"3\") the write was decided on, in place of expected_version; 412 if it moved on";

/// Starts an instance of a workflow, under the version in force on its reference date.
#[utoipa::path(
    post,
    operation_id = "createInstance",
    tag = "instances",
    request_body = CreateInstance,
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Instance, headers(("Location" = String, description = "The instance"), ("ETag" = String, description = "Its version, for If-Match"))),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/instances")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    body: web::Json<CreateInstance>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let fingerprint = key.fingerprint(&body);
    let r = state
        .write(move |conn, rules| {
            instances::create(conn, rules, &actor, body, key.key.as_ref(), &fingerprint)
        })
        .await?;
    reply_with(r, |body| [located(body, "id", "/api/v1/instances"), versioned(body)].concat())
}

/// Lists the instances the caller may see, newest first.
#[utoipa::path(
    get,
    operation_id = "listInstances",
    tag = "instances",
    params(InstanceQuery),
    security(("bearer" = [])),
    responses((status = 200, body = InstancePage), BadRequest, Unauthorized, Unavailable)
)]
#[get("/instances")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<InstanceQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let query = ListQuery {
        overdue: q.overdue.unwrap_or(false),
        open: q.open,
        limit: page_limit(q.limit)?,
        party: q.party.as_deref().map(AgencyCode::parse).transpose().map_err(ApiError::bad_request)?,
        cursor: q
            .cursor
            .as_deref()
            .map(uuid::Uuid::parse_str)
            .transpose()
            .map_err(|_| ApiError::bad_request("cursor is not one this service gave out"))?,
        workflow: q.workflow.map(|w| name_filter("workflow", w)).transpose()?,
        state: q.state.map(|s| name_filter("state", s)).transpose()?,
    };
    let page = state.read(move |conn, rules| instances::list(conn, &rules.registry, &actor, query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One instance: its state, version, parties and data.
#[utoipa::path(
    get,
    operation_id = "getInstance",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Instance, headers(("ETag" = String, description = "Its version, for If-Match"))),
        Unauthorized, NotFound, Unavailable
    )
)]
#[get("/instances/{id}")]
pub async fn get(state: web::Data<AppState>, actor: Actor, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let instance = state.read(move |conn, rules| instances::get(conn, &rules.registry, &actor, id)).await?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, format!("\"{}\"", instance.version))).json(instance))
}

/// The transitions the caller may fire now, with the data each requires.
#[utoipa::path(
    get,
    operation_id = "listAvailableTransitions",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = [AvailableTransition]), Unauthorized, NotFound, Unavailable)
)]
#[get("/instances/{id}/transitions")]
pub async fn transitions(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let available =
        state.read(move |conn, rules| instances::available(conn, &rules.registry, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(available))
}

/// Fires a transition: atomically moves the instance on and appends the event to its history.
#[utoipa::path(
    post,
    operation_id = "fireTransition",
    tag = "instances",
    request_body = FireTransition,
    params(
        ("id" = String, Path, description = "Instance id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$"),
        ("If-Match" = Option<String>, Header, description = IF_MATCH),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Instance, headers(("ETag" = String, description = "Its version after the step"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, TooLarge, UnsupportedMediaType,
        Unprocessable, Unavailable
    )
)]
#[post("/instances/{id}/transitions")]
pub async fn fire(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    if_match: IfMatch,
    id: web::Path<String>,
    body: web::Json<FireTransition>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let mut body = body.into_inner();
    // The version is part of the request a retry repeats, whichever way it came.
    body.expected_version = if_match.expected(body.expected_version)?;
    let transition = body.transition.clone();
    let fingerprint = key.fingerprint(&body);
    let r = state
        .write(move |conn, rules| {
            instances::fire(conn, rules, &actor, id, body, key.key.as_ref(), &fingerprint)
        })
        .await
        .map_err(|e| if_match.refused(e))?;
    // A step taken now, not the replay of one taken before.
    if let (200, Some(instance)) = (r.status, r.fresh()) {
        state.metrics.transition_fired(&instance.workflow, &transition);
    }
    reply_with(r, versioned)
}

/// The instance's history: every event, oldest first, with its hashes.
#[utoipa::path(
    get,
    operation_id = "getInstanceHistory",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = History), Unauthorized, NotFound, Unavailable)
)]
#[get("/instances/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let history =
        state.read(move |conn, rules| history_service::history(conn, &rules.registry, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(history))
}

/// Recomputes the hash chain of the instance's history and reports the first broken link.
#[utoipa::path(
    get,
    operation_id = "verifyInstanceHistory",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = Verification), Unauthorized, NotFound, Unavailable)
)]
#[get("/instances/{id}/history/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let verification =
        state.read(move |conn, rules| history_service::verify(conn, &rules.registry, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(verification))
}

/// The handover record of a two-party handover (biên bản giao nhận): both signatures, the
/// items as sent and as received, and the signatures that settled any discrepancy.
#[utoipa::path(
    get,
    operation_id = "getHandoverRecord",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, body = HandoverRecord), Unauthorized, NotFound, Unavailable)
)]
#[get("/instances/{id}/handover")]
pub async fn handover(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let record =
        state.read(move |conn, rules| history_service::handover(conn, &rules.registry, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(record))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstanceDiagramQuery {
    /// `svg` (the default) or `mermaid`.
    pub format: Option<DiagramFormat>,
}

/// The instance's workflow drawn as a state diagram with its current state highlighted.
#[utoipa::path(
    get,
    operation_id = "getInstanceDiagram",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)"), InstanceDiagramQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The diagram", content((String = "image/svg+xml"), (String = "text/vnd.mermaid"))),
        BadRequest, Unauthorized, NotFound, Unavailable
    )
)]
#[get("/instances/{id}/diagram")]
pub async fn diagram(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
    q: web::Query<InstanceDiagramQuery>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "instance")?;
    let format = q.into_inner().format.unwrap_or_default();
    let drawn = state
        .read(move |conn, rules| workflows::instance_diagram(conn, &rules.registry, &actor, id, format))
        .await?;
    Ok(diagram_response(drawn))
}
