use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::{parse_id, AppState};
use crate::domain::today_local;
use crate::engine::step::Actor;
use crate::error::ApiResult;
use crate::service::instances::moves::{self, DryRun, MigrateInstances, MigrationRun, BATCH};
use crate::service::workflows::{self, Diagram, DiagramFormat, WorkflowSummary, WorkflowVersions};

/// Lists every loaded version of every workflow.
///
/// Any authenticated caller. Each version with its validity dates, its law, and whether it is
/// the one in force today; the definitions are the same for every agency.
#[utoipa::path(
    get,
    operation_id = "listWorkflows",
    tag = "workflows",
    security(("bearer" = [])),
    responses((status = 200, description = "Every loaded version", body = [WorkflowSummary]), Unauthorized)
)]
#[get("/workflows")]
pub async fn list(state: web::Data<AppState>, _actor: Actor) -> HttpResponse {
    HttpResponse::Ok().json(workflows::list(&state.registry, today_local()))
}

/// One workflow with all its versions.
///
/// Any authenticated caller. Each version with its parties, states, transitions (who may fire
/// them and the data they take) and deadlines with their legal basis. 404 for an unknown
/// workflow.
#[utoipa::path(
    get,
    operation_id = "getWorkflow",
    tag = "workflows",
    params(("id" = String, Path, description = "Workflow id, such as court_transfer")),
    security(("bearer" = [])),
    responses((status = 200, description = "The workflow and its versions", body = WorkflowVersions), Unauthorized, NotFound)
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
///
/// Any authenticated caller. The version in force today unless `version` names another; an
/// unknown workflow or version is 404, an unknown format 400.
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

/// Moves the running instances of one version of the workflow to another (admin).
///
/// Only an `admin` may (403 otherwise), and only as the new version's transitional rule allows:
/// a new version that lets no instance of the old one continue under it is 422
/// `migration_not_allowed`; an unknown version, or a state mapping that does not fit the
/// versions, 422 `validation_failed`; an unknown workflow 404. With `dry_run`, answers 200 with
/// what would happen to each instance (whether it would move, from which state to which, which
/// deadlines the new version states anew and how, or why it cannot move); nothing is written.
/// Otherwise records a run and moves the instances in batches, each with an event in its
/// history, and answers 201 with the run. A run of the same workflow still unfinished is 409
/// `already_exists`: resume it first.
#[utoipa::path(
    post,
    operation_id = "migrateInstances",
    tag = "workflows",
    params(("id" = String, Path, description = "Workflow id, such as court_transfer")),
    request_body = MigrateInstances,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The dry run: what the move would do", body = DryRun),
        (status = 201, description = "The run, with every instance gone through", body = MigrationRun,
            headers(("Location" = String, description = "The run"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/workflows/{id}/migrations")]
pub async fn migrate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
    body: web::Json<MigrateInstances>,
) -> ApiResult<HttpResponse> {
    let (id, req) = (id.into_inner(), body.into_inner());
    if req.dry_run {
        let dry = state.read(move |conn, rules| moves::dry_run(conn, rules, &actor, &id, &req)).await?;
        return Ok(HttpResponse::Ok().json(dry));
    }
    let size = req.batch_size.unwrap_or(BATCH);
    let workflow = id.clone();
    let run = state.write(move |conn, rules| moves::begin(conn, rules, &actor, &workflow, &req)).await?;
    let run = moves::carry_out(&state.db, &state.rules(), &run.id, size, None).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/workflows/{id}/migrations/{}", run.id)))
        .json(run))
}

/// A run that moves instances across versions, and how far it has gone (admins, auditors).
///
/// Only admins and auditors (403 otherwise); 404 for a run that is not one of this workflow's.
#[utoipa::path(
    get,
    operation_id = "getMigration",
    tag = "workflows",
    params(
        ("id" = String, Path, description = "Workflow id, such as court_transfer"),
        ("run" = String, Path, description = "The run's id"),
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "The run", body = MigrationRun), Unauthorized, Forbidden, NotFound)
)]
#[get("/workflows/{id}/migrations/{run}")]
pub async fn migration(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, run) = path.into_inner();
    let run = parse_id(&run, "run")?;
    let found = state.read(move |conn, rules| moves::get(conn, rules, &actor, &id, run)).await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResumeQuery {
    /// Instances each batch moves (1 to 1000; 200 when absent).
    pub batch_size: Option<u32>,
}

/// Goes on with a run that did not finish (admin).
///
/// Only an `admin` may (403 otherwise); 404 for a run that is not one of this workflow's. A run
/// cut short (the server stopped during it) goes on from the batch after the last one it
/// recorded, to the end; the answer is the run as it then stands.
#[utoipa::path(
    post,
    operation_id = "resumeMigration",
    tag = "workflows",
    params(
        ("id" = String, Path, description = "Workflow id, such as court_transfer"),
        ("run" = String, Path, description = "The run's id"),
        ResumeQuery,
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "The run as it stands after going on", body = MigrationRun), BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Unprocessable, Unavailable)
)]
#[post("/workflows/{id}/migrations/{run}/resume")]
pub async fn resume_migration(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    q: web::Query<ResumeQuery>,
) -> ApiResult<HttpResponse> {
    let (id, run) = path.into_inner();
    let run = parse_id(&run, "run")?;
    if !actor.has_role(crate::domain::Role::Admin) {
        return Err(crate::error::ApiError::forbidden("only an admin moves instances across versions"));
    }
    let found = state.read(move |conn, rules| moves::get(conn, rules, &actor, &id, run)).await?;
    let size = q.batch_size.unwrap_or(BATCH);
    let run = moves::carry_out(&state.db, &state.rules(), &found.id, size, None).await?;
    Ok(HttpResponse::Ok().json(run))
}
