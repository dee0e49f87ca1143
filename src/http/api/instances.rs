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
///
/// For the party and roles the workflow's create rule names: a court transfer is started by a
/// `court_liaison` of the agency bound to its `court` slot. Anyone else gets 403. `parties`
/// binds each slot to an agency of the slot's kind; every unknown slot, unknown agency or
/// agency of the wrong kind is listed at once in a 422 `validation_failed`, as is `data` that
/// does not fit the create rule (field by field in `errors`). An unknown workflow is 422
/// `unknown_workflow`; a reference date no version governs is 422 `no_definition_in_force`. A
/// `case_id` must name a case the caller may see.
///
/// The answer is the new instance at version 1, with its `Location` and its `ETag`; the other
/// parties are notified, and the deadlines of the initial state start. With an
/// `Idempotency-Key`, a retry with the same body replays the first answer (refusals included,
/// marked `Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    operation_id = "createInstance",
    tag = "instances",
    request_body = CreateInstance,
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The instance started", body = Instance, headers(("Location" = String, description = "The instance"), ("ETag" = String, description = "Its version, for If-Match"))),
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
///
/// Any authenticated caller: the instances whose parties include the caller's agency (every
/// instance for auditors and admins). Filter by workflow, state, party agency, overdue
/// deadlines, or open/ended; pages of at most `limit` (50 when absent, 500 at most), with
/// `next_cursor` for the next. A malformed filter, limit or cursor is 400. Lists leave out
/// links and deadlines (read one instance for them), and data some parties may not see is
/// withheld from the others.
#[utoipa::path(
    get,
    operation_id = "listInstances",
    tag = "instances",
    params(InstanceQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of instances", body = InstancePage), BadRequest, Unauthorized, Unavailable)
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
///
/// For the agencies bound to its parties, auditors and admins; to anyone else it does not
/// exist (404, never 403, so that its existence does not leak). Besides what a list shows, it
/// carries its deadlines, open and closed, and the instances it is linked to (the state of a
/// linked instance only for those who may see it). The `ETag` is its version, to send back as
/// `If-Match` (or `expected_version`) with the next step.
#[utoipa::path(
    get,
    operation_id = "getInstance",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The instance", body = Instance, headers(("ETag" = String, description = "Its version, for If-Match"))),
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
///
/// For those who see the instance (404 otherwise). Lists only the steps open from the
/// current state to the caller's agency and roles, each with its target state and data
/// fields; for a joint step, the slots that must sign and those that have. Empty when the
/// caller may do nothing now, or the instance has ended.
#[utoipa::path(
    get,
    operation_id = "listAvailableTransitions",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The steps the caller may take now; empty if none", body = [AvailableTransition]), Unauthorized, NotFound, Unavailable)
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
///
/// For the party and roles the definition names for the step (see `GET
/// /instances/{id}/transitions`); a caller who sees the instance but may not fire it gets 403,
/// one who does not see it 404. Send the version read last as `expected_version` or as
/// `If-Match`: if the instance moved on meanwhile the step is refused with 409
/// `version_conflict` (412 `precondition_failed` under `If-Match`); read it again and decide
/// anew. An unknown transition is 422 `unknown_transition`; one not open from the current
/// state, or whose conditions do not hold, 422 `transition_not_allowed`; data that does not fit
/// the step 422 `validation_failed`, field by field. A document named in the data must have
/// been uploaded by the caller's agency and not taken by another step (422 `document_unknown`,
/// `document_foreign`, `document_type_not_accepted`, `document_too_large`; 409
/// `document_used`). A joint step signed twice by one side is 422 `already_signed`.
///
/// The answer is the instance after the step, with its new `ETag`. In the same transaction
/// its deadlines open and close, the parties the step names are notified, and the instances
/// the step starts are started. With an `Idempotency-Key`, a retry with the same body replays
/// the first answer; the same key with another body is 422 `idempotency_key_reused`.
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
        (status = 200, description = "The instance after the step", body = Instance, headers(("ETag" = String, description = "Its version after the step"))),
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
///
/// For those who see the instance (404 otherwise). Each event says who (subject, agency,
/// role), when, which transition, from and to which state, the data given and the comment,
/// with the hash chaining it to the one before. Data some parties may not see is withheld
/// from the others, as on the instance.
#[utoipa::path(
    get,
    operation_id = "getInstanceHistory",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "Its events, oldest first", body = History), Unauthorized, NotFound, Unavailable)
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
///
/// For those who see the instance (404 otherwise). Recomputes every event's hash, then
/// checks that the instance as stored (state, version, data, who may see it) is what its
/// history says. When anything was changed outside the service, `valid` is false and the
/// answer says why and, when it can, at which event; the answer is still 200.
#[utoipa::path(
    get,
    operation_id = "verifyInstanceHistory",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "Whether the chain holds, and if not where and why", body = Verification), Unauthorized, NotFound, Unavailable)
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

/// The handover record of a two-party handover (biên bản giao nhận).
///
/// For those who see the instance (404 otherwise, and 404 when its workflow is not a
/// handover). Both signatures, the items as sent and as received, and the signatures that
/// settled any discrepancy, from the latest manifest on, with whether the history behind it
/// verifies.
#[utoipa::path(
    get,
    operation_id = "getHandoverRecord",
    tag = "instances",
    params(("id" = String, Path, description = "Instance id (UUID)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The handover record", body = HandoverRecord), Unauthorized, NotFound, Unavailable)
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
///
/// For those who see the instance (404 otherwise). The definition version the instance runs
/// under, as SVG (the default) or Mermaid text (`format=mermaid`); an unknown format is 400.
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
