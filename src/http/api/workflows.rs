use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::AppState;
use crate::domain::today_local;
use crate::engine::step::Actor;
use crate::error::ApiResult;
use crate::service::workflows::{self, Diagram, DiagramFormat, WorkflowSummary, WorkflowVersions};

/// Lists every loaded version of every workflow.
#[utoipa::path(
    get,
    operation_id = "listWorkflows",
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
    operation_id = "getWorkflow",
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiagramQuery {
    /// `svg` (the default) or `mermaid`.
    pub format: Option<DiagramFormat>,
    /// The version to draw; the one in force today when absent.
    pub version: Option<u32>,
}

/// Sends a diagram with its content type.
pub fn diagram_response(d: Diagram) -> HttpResponse {
    HttpResponse::Ok().content_type(d.content_type).body(d.body)
}

/// The workflow drawn as a state diagram: SVG drawn by the service, or Mermaid text.
#[utoipa::path(
    get,
    operation_id = "getWorkflowDiagram",
    tag = "workflows",
    params(("id" = String, Path, description = "Workflow id, such as court_transfer"), DiagramQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The diagram", content((String = "image/svg+xml"), (String = "text/vnd.mermaid"))),
        BadRequest, Unauthorized, NotFound
    )
)]
#[get("/workflows/{id}/diagram")]
pub async fn diagram(
    state: web::Data<AppState>,
    _actor: Actor,
    id: web::Path<String>,
    q: web::Query<DiagramQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let id = id.into_inner();
    let drawn = state
        .compute(move |registry| {
            workflows::workflow_diagram(registry, &id, q.version, None, q.format.unwrap_or_default())
        })
        .await?;
    Ok(diagram_response(drawn))
}
