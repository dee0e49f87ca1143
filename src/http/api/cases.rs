use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::problems::*;
use super::{located, parse_id, reply_with, versioned, AppState, Idempotency, IfMatch};
use crate::domain::AgencyCode;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::cases::{
    self, Case, CaseHistory, CasePage, CaseStatus, CaseVerification, Classification, CreateCase, CreateCases,
    NewClassification, NewPayment, NewStatus, PersonalDataReadPage, Query, Shown,
};
use crate::service::page_limit;

const IDEMPOTENCY: &str = "Retry safely: the same key and body replays the first answer";

/// The routes that answer with a case's personal data, as the record of a read names them.
const ROUTE_GET: &str = "GET /api/v1/cases/{id}";
const ROUTE_LIST: &str = "GET /api/v1/cases";
const ROUTE_PAY: &str = "POST /api/v1/cases/{id}/payments";
const ROUTE_STATUS: &str = "POST /api/v1/cases/{id}/status";
const ROUTE_CLASSIFY: &str = "POST /api/v1/cases/{id}/classification";

/// Records the showings of personal data a read made, then gives its answer; if they cannot be
/// recorded, the answer is not given.
async fn shown<T: serde::Serialize>(state: &AppState, shown: Shown<T>) -> ApiResult<HttpResponse> {
    if !shown.reads.is_empty() {
        let reads = shown.reads;
        state.write(move |conn, _| cases::record_reads(conn, &reads)).await?;
    }
    Ok(HttpResponse::Ok().json(shown.value))
}

/// Opens a case (việc thi hành án) at an enforcement office.
///
/// For the `enforcement_officer`s and `enforcement_head`s of the office named in `agency`, or of
/// an office above it; anyone else gets 403. `agency` must be an enforcement office and
/// `court`, when given, a court known here (422 `validation_failed` otherwise, field by field,
/// as for empty or over-long texts and a `received_on` in the future). The number is unique in
/// the office: a second case with it is 409 `already_exists`. An office bringing in its cases
/// may give what already happened to one: its classification, its payments (refused as for
/// `POST /cases/{id}/payments`) and its outcome.
///
/// The answer is the case with its `Location` and `ETag`.
/// With an `Idempotency-Key`, a retry with the same body replays the first answer (refusals
/// included, marked `Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    operation_id = "createCase",
    tag = "cases",
    request_body = CreateCase,
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The case opened", body = Case, headers(("Location" = String, description = "The case"), ("ETag" = String, description = "Its version, for If-Match"))),
        BadRequest, Unauthorized, Forbidden, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/cases")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    body: web::Json<CreateCase>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let fp = key.fingerprint(&body);
    let r = state.write(move |conn, _| cases::create(conn, &actor, body, key.key.as_ref(), &fp)).await?;
    reply_with(r, |body| [located(body, "id", "/api/v1/cases"), versioned(body)].concat())
}

/// Opens up to 1,000 cases in one transaction: all of them or, if one is refused, none.
///
/// Who may, and what is refused, as for `POST /cases`, for every case of the batch; a refusal
/// names the case by its place (`cases[3].number`). An empty batch or one of more than 1,000
/// cases is 422 `validation_failed`. The answer gives how many were created and their ids, in
/// the order sent.
/// With an `Idempotency-Key`, a retry with the same body replays the first answer (refusals
/// included, marked `Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    operation_id = "createCases",
    tag = "cases",
    request_body = CreateCases,
    params(("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "How many were created, and their ids in order", body = serde_json::Value,
            headers(("Location" = String, description = "The list of cases, where they now stand"))),
        BadRequest, Unauthorized, Forbidden, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/cases/batch")]
pub async fn create_many(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    body: web::Json<CreateCases>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let fp = key.fingerprint(&body);
    let r = state.write(move |conn, _| cases::create_many(conn, &actor, body, key.key.as_ref(), &fp)).await?;
    reply_with(r, |_| vec![(header::LOCATION, "/api/v1/cases".to_owned())])
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Only the cases of this office and those under it.
    pub agency: Option<String>,
    pub status: Option<CaseStatus>,
    pub classification: Option<Classification>,
    /// Only those received on or after this day.
    pub received_from: Option<NaiveDate>,
    /// Only those received on or before this day.
    pub received_to: Option<NaiveDate>,
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Lists the cases of the caller's office and the offices under it, oldest first.
///
/// Any authenticated caller sees the cases of their own office and the offices under it;
/// auditors and admins see every office's (admins without the obligor and obligee). `agency`
/// narrows the list to one office and those under it; an office outside the caller's is 404.
/// Pages of at most `limit` (50 when absent, 500 at most), with `next_cursor` for the next; a
/// malformed filter, limit or cursor is 400. Each case whose personal data is shown to an
/// auditor or an office above the case's is recorded as read before the answer is given.
#[utoipa::path(
    get,
    operation_id = "listCases",
    tag = "cases",
    params(CaseQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of cases", body = CasePage), BadRequest, Unauthorized, NotFound, Unavailable)
)]
#[get("/cases")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<CaseQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let query = Query {
        agency: q.agency.as_deref().map(AgencyCode::parse).transpose().map_err(ApiError::bad_request)?,
        status: q.status,
        classification: q.classification,
        received_from: q.received_from,
        received_to: q.received_to,
        cursor: q.cursor,
        limit: page_limit(q.limit)?,
    };
    let page = state.read(move |conn, _| cases::list(conn, &actor, query, ROUTE_LIST)).await?;
    shown(&state, page).await
}

/// One case, with its money, classification, status and version.
///
/// For the office that holds it and those above it, the court that gave the judgment,
/// auditors, admins, and the agencies taking part in one of its instances; anyone else gets
/// 404. The obligor and obligee are shown only to the case's office (and those above it), its
/// court and auditors; a showing to an auditor or an office above the case's is recorded (see
/// `/cases/{id}/reads`). The `ETag` is the version, for `If-Match` on the next change.
#[utoipa::path(
    get,
    operation_id = "getCase",
    tag = "cases",
    params(("id" = String, Path, description = "The case's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = Case, headers(("ETag" = String, description = "Its version, for If-Match"))),
        Unauthorized, NotFound, Unavailable
    )
)]
#[get("/cases/{id}")]
pub async fn get(state: web::Data<AppState>, actor: Actor, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let case = state.read(move |conn, _| cases::get(conn, &actor, id, ROUTE_GET)).await?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", case.value.version)).map_err(ApiError::internal)?;
    let mut answer = shown(&state, case).await?;
    answer.headers_mut().insert(header::ETAG, etag);
    Ok(answer)
}

/// Records money received for a case, or reverses an earlier entry.
///
/// For the `enforcement_officer`s and `enforcement_head`s of the case's office or an office
/// above it (403 for others who see the case, 404 for those who do not). Entries are never
/// changed: a correction is a new entry naming the one it `reverses`, with the same amount.
/// More than the amount outstanding is 422 `over_collection`; a payment to a closed case 422
/// `case_closed`; a zero amount, a day in the future or before the case was received, or a
/// reversal that does not match its entry, 422 `validation_failed`.
/// Collecting the whole amount completes the case; reversing a payment of a completed case
/// opens it again. A case changed by another request meanwhile is 409 `version_conflict`.
///
/// The answer is the payment and the case after it; `Location` names the case's history.
/// With an `Idempotency-Key`, a retry with the same body replays the first answer (refusals
/// included, marked `Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    operation_id = "recordPayment",
    tag = "cases",
    request_body = NewPayment,
    params(
        ("id" = String, Path, description = "The case's id"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$")
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The payment and the case after it", body = serde_json::Value,
            headers(("Location" = String, description = "The case's history, which lists the payment"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable,
        Unavailable
    )
)]
#[post("/cases/{id}/payments")]
pub async fn pay(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    id: web::Path<String>,
    body: web::Json<NewPayment>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let body = body.into_inner();
    let fp = key.fingerprint(&body);
    let r = state
        .write(move |conn, _| cases::pay(conn, &actor, id, body, (key.key.as_ref(), &fp, ROUTE_PAY)))
        .await?;
    reply_with(r, |_| vec![(header::LOCATION, format!("/api/v1/cases/{id}/history"))])
}

/// Records an outcome (completed, terminated, entrusted), a suspension or a resumption.
///
/// For the `enforcement_officer`s and `enforcement_head`s of the case's office or an office
/// above it (403 for others who see the case, 404 for those who do not). Give the version read
/// last as `expected_version` or `If-Match`: a case that moved on is 409 `version_conflict`
/// (412 `precondition_failed` under `If-Match`). A closed case changes only by reversing a
/// payment (422 `case_closed`); the status it already has, or a day in the future, before the
/// case was received or (for an outcome) before its last payment, is 422 `validation_failed`.
/// Completing a case classifies it enforceable.
///
/// The answer is the case after the change, with its new `ETag`.
/// With an `Idempotency-Key`, a retry with the same body replays the first answer (refusals
/// included, marked `Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    operation_id = "setCaseStatus",
    tag = "cases",
    request_body = NewStatus,
    params(
        ("id" = String, Path, description = "The case's id"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$"),
        ("If-Match" = Option<String>, Header, description = super::instances::IF_MATCH)
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case after the change", body = Case, headers(("ETag" = String, description = "Its version after the change"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, TooLarge, UnsupportedMediaType,
        Unprocessable, Unavailable
    )
)]
#[post("/cases/{id}/status")]
pub async fn set_status(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    if_match: IfMatch,
    id: web::Path<String>,
    body: web::Json<NewStatus>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let mut body = body.into_inner();
    body.expected_version = if_match.expected(body.expected_version)?;
    let fp = key.fingerprint(&body);
    let r = state
        .write(move |conn, _| {
            cases::set_status(conn, &actor, id, body, (key.key.as_ref(), &fp, ROUTE_STATUS))
        })
        .await
        .map_err(|e| if_match.refused(e))?;
    reply_with(r, versioned)
}

/// Classifies a case as enforceable or not yet enforceable.
///
/// For the `enforcement_officer`s and `enforcement_head`s of the case's office or an office
/// above it (403 for others who see the case, 404 for those who do not). Give the version read
/// last as `expected_version` or `If-Match`: a case that moved on is 409 `version_conflict`
/// (412 `precondition_failed` under `If-Match`). The classification it already has, or a day
/// in the future or before the case was received, is 422 `validation_failed`; a closed case is
/// 422 `case_closed`.
///
/// The answer is the case after the change, with its new `ETag`.
/// With an `Idempotency-Key`, a retry with the same body replays the first answer (refusals
/// included, marked `Idempotent-Replayed: true`); the same key with another body is 422
/// `idempotency_key_reused`.
#[utoipa::path(
    post,
    operation_id = "classifyCase",
    tag = "cases",
    request_body = NewClassification,
    params(
        ("id" = String, Path, description = "The case's id"),
        ("Idempotency-Key" = Option<String>, Header, description = IDEMPOTENCY, min_length = 1, max_length = 200, pattern = "^[!-~]+$"),
        ("If-Match" = Option<String>, Header, description = super::instances::IF_MATCH)
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case after the change", body = Case, headers(("ETag" = String, description = "Its version after the change"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, TooLarge, UnsupportedMediaType,
        Unprocessable, Unavailable
    )
)]
#[post("/cases/{id}/classification")]
pub async fn classify(
    state: web::Data<AppState>,
    actor: Actor,
    key: Idempotency,
    if_match: IfMatch,
    id: web::Path<String>,
    body: web::Json<NewClassification>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let mut body = body.into_inner();
    body.expected_version = if_match.expected(body.expected_version)?;
    let fp = key.fingerprint(&body);
    let r = state
        .write(move |conn, _| {
            cases::classify(conn, &actor, id, body, (key.key.as_ref(), &fp, ROUTE_CLASSIFY))
        })
        .await
        .map_err(|e| if_match.refused(e))?;
    reply_with(r, versioned)
}

/// The case's hash-chained history and its payments.
///
/// For those who see the case (404 otherwise). Every change, oldest first, with who made it
/// and the hash chaining it to the one before, and every payment and reversal. The history
/// holds no personal data, only its digest, so it is shown whole to all who see the case.
#[utoipa::path(
    get,
    operation_id = "getCaseHistory",
    tag = "cases",
    params(("id" = String, Path, description = "The case's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Its events and payments", body = CaseHistory), Unauthorized, NotFound, Unavailable)
)]
#[get("/cases/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let h = state.read(move |conn, _| cases::history(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(h))
}

/// Checks the case's history.
///
/// For those who see the case (404 otherwise). Recomputes its chain and checks its head, the
/// recorded digest of the personal data, and that the payments add up to what is collected.
/// A history changed outside the service answers 200 with `valid` false and why.
#[utoipa::path(
    get,
    operation_id = "verifyCaseHistory",
    tag = "cases",
    params(("id" = String, Path, description = "The case's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Whether the history holds, and if not why", body = CaseVerification), Unauthorized, NotFound, Unavailable)
)]
#[get("/cases/{id}/history/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let v = state.read(move |conn, _| cases::verify(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReadsQuery {
    /// 1 to 500; 50 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Who was shown the case's personal data beyond its own office and court.
///
/// For the `enforcement_head`s of the case's office (and of the offices above it), admins and
/// auditors; others who see the case get 403, those who do not 404. The showings to auditors
/// and offices above the case's: who, when and through which route, oldest first, in pages of
/// at most `limit` (50 when absent, 500 at most). The records are written in the request that
/// showed the data and can be neither changed nor removed.
#[utoipa::path(
    get,
    operation_id = "listPersonalDataReads",
    tag = "cases",
    params(("id" = String, Path, description = "The case's id"), ReadsQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of recorded showings", body = PersonalDataReadPage), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable)
)]
#[get("/cases/{id}/reads")]
pub async fn personal_data_reads(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
    q: web::Query<ReadsQuery>,
) -> ApiResult<HttpResponse> {
    let id = parse_id(&id, "case")?;
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    let cursor = q
        .cursor
        .as_deref()
        .map(uuid::Uuid::parse_str)
        .transpose()
        .map_err(|_| ApiError::bad_request("cursor is not one this service gave out"))?;
    let page = state.read(move |conn, _| cases::personal_data_reads(conn, &actor, id, cursor, limit)).await?;
    Ok(HttpResponse::Ok().json(page))
}
