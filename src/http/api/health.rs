use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use super::problems::Unavailable;
use super::AppState;
use crate::error::ApiResult;
use crate::store::MigrationStatus;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub database: String,
    pub workflows: usize,
}

/// Whether the service is up and its database answers.
///
/// Needs no token: for load balancers and monitors. Answers 200 with the database backend
/// and the number of workflow versions loaded once a query to the database succeeds, and 503
/// (with `Retry-After`) when it does not.
#[utoipa::path(
    get,
    operation_id = "getHealth",
    tag = "health",
    responses((status = 200, description = "Up, and the database answers", body = Health), Unavailable)
)]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.db.backend;
    let workflows = state
        .read(|conn, rules| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(rules.registry.len())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".into(),
        database: format!("{backend:?}").to_lowercase(),
        workflows,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Alive {
    /// Always `ok`: the process answers.
    pub status: String,
    /// This binary's version.
    pub version: String,
}

/// Whether the process is alive
///
/// Needs no token, reads nothing: for a liveness probe, which restarts a process that stops
/// answering. It does not depend on the database, so an outage of the database does not
/// restart every node; `/readyz` says whether a node should get traffic.
#[utoipa::path(
    get,
    operation_id = "getLiveness",
    tag = "health",
    responses((status = 200, description = "The process answers", body = Alive))
)]
#[get("/livez")]
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Alive { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// Whether the database answers a query.
    pub database_reachable: bool,
    /// How the database's migrations stand against this binary's; absent when unreachable.
    pub migrations: Option<MigrationStatus>,
    /// Workflow versions loaded.
    pub workflows: usize,
    /// The hex SHA-256 of the workflow definition files (names and texts): every node of one
    /// service should show the same.
    pub workflows_hash: String,
    /// The hex SHA-256 of the calendar file.
    pub calendar_hash: String,
    /// This binary's version.
    pub version: String,
    /// Why the node is not ready, when it is not.
    pub reasons: Vec<String>,
}

/// Whether this node should get traffic
///
/// Needs no token: for a readiness probe and a load balancer. Ready when the database answers,
/// every migration of this binary is applied (a database migrated further by a newer node
/// during a rolling upgrade still counts) and workflows are loaded. Shows the hashes of the
/// loaded definitions and calendar, so a node started with other files stands out. 503, with
/// the same body and `Retry-After`, when not ready.
#[utoipa::path(
    get,
    operation_id = "getReadiness",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (
            status = 503,
            description = "Not ready: the reasons are listed",
            body = Readiness,
            headers(("Retry-After" = String, description = "Seconds before asking again"))
        )
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    let checked = web::block(move || {
        let reachable = db.read().map_err(|e| e.to_string()).and_then(|mut conn| {
            diesel::sql_query("SELECT 1").execute(&mut **conn).map_err(|e| e.to_string())
        });
        reachable.and_then(|_| db.migration_status())
    })
    .await;
    let mut reasons = Vec::new();
    let migrations = match checked {
        Ok(Ok(status)) => Some(status),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the database is not reachable");
            reasons.push("the database does not answer".to_owned());
            None
        }
        Err(_) => {
            reasons.push("the check could not run".to_owned());
            None
        }
    };
    if migrations == Some(MigrationStatus::Pending) {
        reasons.push("migrations of this binary are not applied: run `lienganh migrate`".to_owned());
    }
    let registry = &state.registry;
    if registry.is_empty() {
        reasons.push("no workflow is loaded".to_owned());
    }
    let body = Readiness {
        status: if reasons.is_empty() { "ready" } else { "not_ready" }.to_owned(),
        database: format!("{:?}", state.db.backend).to_lowercase(),
        database_reachable: migrations.is_some(),
        migrations,
        workflows: registry.len(),
        workflows_hash: registry.fingerprint().to_owned(),
        calendar_hash: state.calendar_fingerprint.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        reasons,
    };
    if body.reasons.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "5")).json(body)
    }
}
