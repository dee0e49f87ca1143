use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::AppState;
use crate::domain::{is_identifier, AgencyCode};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::deadlines::{self, DeadlinePage, Query, StatusFilter};
use crate::service::page_limit;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadlineQuery {
    /// `open`, `suspended`, `met`, `missed`, or `overdue` (open and past due).
    pub status: Option<StatusFilter>,
    /// Only deadlines this agency (a code) must meet.
    pub agency: Option<String>,
    /// Only deadlines of this workflow.
    pub workflow: Option<String>,
    /// Only those due before this time (RFC 3339).
    pub due_before: Option<DateTime<Utc>>,
    /// Only those due at or after this time (RFC 3339).
    pub due_after: Option<DateTime<Utc>>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The deadlines of the instances the caller may see, soonest due first.
///
/// Any authenticated caller: the deadlines of the instances whose parties include the
/// caller's agency (every instance's for auditors and admins). Each with its due time as the
/// working-day calendar computed it, the agency responsible, its legal basis and whether it
/// is open, suspended, met or missed. Filter by status (`overdue` is open and past due),
/// responsible agency, workflow and due time; pages of at most `limit` (50 when absent, 500 at
/// most), with `next_cursor` for the next. A malformed filter, limit or cursor is 400.
#[utoipa::path(
    get,
    operation_id = "listDeadlines",
    tag = "deadlines",
    params(DeadlineQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of deadlines", body = DeadlinePage), BadRequest, Unauthorized, Unavailable)
)]
#[get("/deadlines")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<DeadlineQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    if q.workflow.as_deref().is_some_and(|w| !is_identifier(w)) {
        return Err(ApiError::bad_request("workflow must be a name such as court_transfer"));
    }
    let query = Query {
        status: q.status,
        agency: q.agency.as_deref().map(AgencyCode::parse).transpose().map_err(ApiError::bad_request)?,
        workflow: q.workflow,
        due_before: q.due_before.map(|t| t.timestamp_micros()),
        due_after: q.due_after.map(|t| t.timestamp_micros()),
        cursor: q.cursor,
        limit: page_limit(q.limit)?,
    };
    let page = state.read(move |conn, _| deadlines::list(conn, &actor, query)).await?;
    Ok(HttpResponse::Ok().json(page))
}
