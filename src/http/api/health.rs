use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use super::problems::Unavailable;
use super::AppState;
use crate::error::ApiResult;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub database: String,
    pub workflows: usize,
}

/// Whether the service is up and its database answers.
#[utoipa::path(
    get,
    operation_id = "getHealth",
    tag = "health",
    responses((status = 200, body = Health), Unavailable)
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
