use actix_web::{get, web, HttpResponse};

use super::problems::*;
use super::AppState;
use crate::domain::today_local;
use crate::error::ApiResult;
use crate::service::workflows::{self, WorkflowSummary, WorkflowVersions};
use crate::workflow::engine::Actor;

/// Lists every loaded version of every workflow.
#[utoipa::path(
    get,
    path = "/api/v1/workflows",
    tag = "workflows",
    security(("bearer" = [])),
    responses((status = 200, body = [WorkflowSummary]), Unauthorized)
)]
#[get("/workflows")]
pub async fn list(state: web::Data<AppState>, _actor: Actor) -> HttpResponse {
    HttpResponse::Ok().json(workflows::list(&state.registry, today_local()))
}

/// One workflow with all its versions, each with its parties, states, transitions and deadlines.
#[utoipa::path(
    get,
    path = "/api/v1/workflows/{id}",
    tag = "workflows",
    params(("id" = String, Path, description = "Workflow id, such as court_transfer")),
    security(("bearer" = [])),
    responses((status = 200, body = WorkflowVersions), Unauthorized, NotFound)
)]
#[get("/workflows/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(workflows::versions(&state.registry, &id)?))
}
