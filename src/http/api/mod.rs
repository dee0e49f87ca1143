//! The HTTP interface: every route is wired here; handlers live one resource a module.
//! Handlers parse, authorize through the `Actor` extractor, call one use case on a blocking
//! thread, and map the result. No SQL here.

pub mod agencies;
pub mod calendar;
pub mod cases;
pub mod deadlines;
pub mod documents;
pub mod health;
pub mod inbox;
pub mod instances;
pub mod metrics;
pub mod reports;
pub mod search;
pub mod webhooks;
pub mod workflows;

use std::sync::Arc;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{web, App, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::engine::calendar::Calendar;
use crate::engine::registry::Registry;
use crate::engine::Rules;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::idempotency::{Body, IdempotencyKey, Reply};
use crate::store::{Db, DbConn};
use arc_swap::ArcSwap;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub registry: Arc<Registry>,
    /// Replaced whole when an admin adds a year.
    pub calendar: Arc<ArcSwap<Calendar>>,
    /// The calendar file as shipped, under the years added through the API.
    pub file_calendar: Arc<Calendar>,
    /// This server's metrics.
    pub metrics: Arc<crate::http::metrics::Metrics>,
    /// Where documents' bytes are kept.
    pub files: crate::store::files::Files,
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
    /// Largest request body (other than a document) accepted, in bytes.
    pub max_body_bytes: usize,
    /// How the reports' completion rate counts terminated and entrusted cases.
    pub counting: crate::service::reports::Counting,
    /// The hex SHA-256 of the calendar file as loaded.
    pub calendar_fingerprint: String,
}

impl AppState {
    /// The rules as they stand now.
    pub fn rules(&self) -> Rules {
        Rules { registry: self.registry.clone(), calendar: self.calendar.load_full() }
    }

    /// Runs read-only database work on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn, &Rules) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.db.clone();
        let rules = self.rules();
        web::block(move || {
            let mut conn = db.read()?;
            f(&mut conn, &rules)
        })
        .await?
    }

    /// Runs CPU-bound work that needs no database on the blocking pool.
    pub async fn compute<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&Registry) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let registry = self.registry.clone();
        web::block(move || f(&registry)).await?
    }

    /// Runs database work that writes, through the store's one way to write (on SQLite the
    /// writer's next group); answers once it is durable.
    pub async fn write<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConn, &Rules) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let rules = self.rules();
        self.db.write(move |conn| f(conn, &rules)).await
    }
}

/// The optional `Idempotency-Key` header of a POST, and the request as a retry must repeat it.
pub struct Idempotency {
    pub key: Option<IdempotencyKey>,
    /// The method and the route with its parameters written one way (see [`canonical_path`]).
    route: String,
}

impl Idempotency {
    /// What a retry must repeat to be the same request: the method, the route and `body`.
    /// Only a request with a key is ever compared, so one without gets nothing computed.
    pub fn fingerprint<T: serde::Serialize>(&self, body: &T) -> String {
        match &self.key {
            Some(_) => crate::service::idempotency::fingerprint(
                &self.route,
                &serde_json::to_value(body).unwrap_or_default(),
            ),
            None => String::new(),
        }
    }
}

/// The path of a request as its route matched it, each parameter written one way: a UUID in
/// lower case with its hyphens, so that another spelling of the same id is the same request.
fn canonical_path(req: &HttpRequest) -> String {
    let Some(mut path) = req.match_pattern() else { return req.path().to_owned() };
    for (name, value) in req.match_info().iter() {
        let value = uuid::Uuid::parse_str(value).map_or_else(|_| value.to_owned(), |id| id.to_string());
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

impl FromRequest for Idempotency {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let key = match req.headers().get("Idempotency-Key") {
            None => Ok(None),
            Some(value) => match value.to_str() {
                Ok(raw) => IdempotencyKey::parse(raw).map(Some),
                Err(_) => Err(ApiError::bad_request("Idempotency-Key must be visible ASCII")),
            },
        };
        let route = format!("{} {}", req.method(), canonical_path(req));
        ready(key.map(|key| Self { key, route }))
    }
}

/// The version an `If-Match` header names (`"7"`, or `W/"7"`), which a write may give in place
/// of `expected_version`: a version that moved on is then refused with 412, not 409.
pub struct IfMatch(pub Option<i64>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let Some(value) = req.headers().get(header::IF_MATCH) else { return ready(Ok(Self(None))) };
        // `*`: any current version (RFC 9110, 13.1.1); the record exists or the write answers
        // 404, so it sets no version of its own.
        if value.to_str().is_ok_and(|v| v.trim() == "*") {
            return ready(Ok(Self(None)));
        }
        let version = value
            .to_str()
            .ok()
            .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| *v >= 1);
        ready(version.map(|v| Self(Some(v))).ok_or_else(|| {
            ApiError::bad_request(
                "If-Match must name one version this service gave as an ETag, such as \"3\"",
            )
        }))
    }
}

impl IfMatch {
    /// The version the write expects: the body's or the header's (which must then agree).
    pub fn expected(&self, body: Option<i64>) -> ApiResult<Option<i64>> {
        match (body, self.0) {
            (Some(b), Some(h)) if b != h => Err(ApiError::bad_request(format!(
                "expected_version {b} and If-Match \"{h}\" disagree; give one of them"
            ))),
            (b, h) => Ok(b.or(h)),
        }
    }

    /// A stale version, refused under `If-Match`, is a failed precondition (412).
    pub fn refused(&self, e: ApiError) -> ApiError {
        if self.0.is_some() && e.code == ErrorCode::VersionConflict {
            ApiError { code: ErrorCode::PreconditionFailed, ..e }
        } else {
            e
        }
    }
}

/// Answers a write: its status and body, marked when it is a replay of a stored answer.
pub fn reply<T: serde::Serialize>(r: Reply<T>) -> ApiResult<HttpResponse> {
    reply_with(r, |_| Vec::new())
}

/// The `Location` of a resource a 201 created: `prefix/` and the body's `field`.
pub fn located(body: &serde_json::Value, field: &str, prefix: &str) -> Vec<(header::HeaderName, String)> {
    body[field].as_str().map(|id| (header::LOCATION, format!("{prefix}/{id}"))).into_iter().collect()
}

/// The `ETag` of a versioned record: its version, as `"7"`.
pub fn versioned(body: &serde_json::Value) -> Vec<(header::HeaderName, String)> {
    body["version"].as_i64().map(|v| (header::ETAG, format!("\"{v}\""))).into_iter().collect()
}

/// [`reply`], with the headers `headers` finds in a successful answer's body (a `Location`, an
/// `ETag`), the same for a replay as for the first answer.
pub fn reply_with<T: serde::Serialize>(
    r: Reply<T>,
    headers: impl Fn(&serde_json::Value) -> Vec<(header::HeaderName, String)>,
) -> ApiResult<HttpResponse> {
    let status = actix_web::http::StatusCode::from_u16(r.status).unwrap_or(actix_web::http::StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.content_type(if status.is_client_error() {
        "application/problem+json"
    } else {
        "application/json"
    });
    let json = match r.body {
        Body::Fresh { stored: Some(json), .. } => json,
        Body::Fresh { value, stored: None } => serde_json::to_string(&value).map_err(ApiError::internal)?,
        Body::Replayed(json) => {
            response.insert_header(("Idempotent-Replayed", "true"));
            json
        }
    };
    if status.is_success() {
        let body: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        for header in headers(&body) {
            response.insert_header(header);
        }
    }
    Ok(response.body(json))
}

/// Parses an id from the path; an id that is not a UUID names nothing.
/// An absolute URL of this service for `path`, from the request's scheme and host (a reverse
/// proxy's `Forwarded` or `X-Forwarded-*` headers when it sends them).
pub fn absolute_url(req: &HttpRequest, path: &str) -> String {
    let info = req.connection_info();
    format!("{}://{}{path}", info.scheme(), info.host())
}

pub fn parse_id(raw: &str, what: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::not_found(format!("no {what} {raw:?}")))
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(ErrorCode::PayloadTooLarge, err.to_string())
        }
        JsonPayloadError::ContentType => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "send the body as application/json")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::new(ErrorCode::ValidationFailed, e.to_string())
        }
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(format!("malformed JSON: {e}")),
        other => ApiError::bad_request(other.to_string()),
    };
    api.into()
}

fn query_error(err: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(format!("bad query string: {err}")).into()
}

fn path_error(err: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::not_found(format!("no such resource: {err}")).into()
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::not_found(format!("no route for {} {}", req.method(), req.path())).error_response()
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
}

/// Wires every route of the API once, with the extractor limits and error handlers: actix serves
/// what is registered here, and the OpenAPI document lists the same handlers, collected from
/// their `#[utoipa::path]` as they are registered.
pub fn configure(max_body_bytes: usize) -> impl FnOnce(&mut ServiceConfig<'_>) {
    move |cfg| {
        cfg.app_data(web::JsonConfig::default().limit(max_body_bytes).error_handler(json_error))
            .app_data(web::PayloadConfig::default().limit(max_body_bytes))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .service(health::healthz)
            .service(health::livez)
            .service(health::readyz)
            .service(metrics::metrics)
            .route("/docs", web::get().to(docs_redirect))
            .service(
                scope("/api/v1")
                    .service(agencies::list)
                    .service(agencies::get)
                    .service(agencies::create)
                    .service(workflows::list)
                    .service(workflows::get)
                    .service(workflows::diagram)
                    .service(workflows::migrate)
                    .service(workflows::migration)
                    .service(workflows::resume_migration)
                    .service(instances::create)
                    .service(instances::list)
                    .service(instances::get)
                    .service(instances::transitions)
                    .service(instances::fire)
                    .service(instances::history)
                    .service(instances::verify)
                    .service(instances::handover)
                    .service(instances::diagram)
                    .service(deadlines::list)
                    .service(documents::upload)
                    .service(documents::download)
                    .service(search::find)
                    .service(inbox::list)
                    .service(inbox::read)
                    .service(webhooks::create)
                    .service(webhooks::list)
                    .service(webhooks::deliveries)
                    .service(webhooks::get)
                    .service(webhooks::remove)
                    .service(webhooks::rotate)
                    .service(webhooks::redeliver)
                    .service(calendar::years)
                    .service(calendar::put)
                    .service(calendar::create_feed)
                    .service(calendar::get_feed)
                    .service(calendar::revoke_feed)
                    .service(calendar::feed_content)
                    .service(reports::coercion_calendar)
                    .service(cases::create_many)
                    .service(cases::create)
                    .service(cases::list)
                    .service(cases::get)
                    .service(cases::pay)
                    .service(cases::set_status)
                    .service(cases::classify)
                    .service(cases::history)
                    .service(cases::verify)
                    .service(cases::personal_data_reads)
                    .service(reports::enforcement)
                    .service(reports::publish)
                    .service(reports::coordination)
                    .service(reports::set_target),
            )
            .default_service(web::to(not_found));
    }
}

/// The API on `app`: its routes, the OpenAPI document they make at `/openapi.json`, and the
/// documentation at `/docs/`.
pub fn serve<T>(app: App<T>, max_body_bytes: usize) -> App<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure(max_body_bytes))
        .openapi_service(|doc| SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc))
        .into_app()
}

/// The OpenAPI document the server serves at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) =
        App::new().into_utoipa_app().openapi(ApiDoc::openapi()).configure(configure(0)).split_for_parts();
    doc
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description = Some(
            "JWT with sub, name, agency, roles, exp, iat, iss and aud: HS256 with the local secret \
             (`lienganh token` issues one), or signed by the configured identity provider's key (RS256, EdDSA)."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// What the OpenAPI document says beyond its paths, which [`configure`] adds as it registers them.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lienganh",
        description = "Interagency workflows of Vietnamese civil judgment enforcement (thi hành án dân sự): \
            court transfers, evidence handovers, procuracy supervision, coercion plans. \
            Errors are application/problem+json with a stable `code`. Money is a decimal string in VND; \
            times are RFC 3339 at +07:00 (Asia/Ho_Chi_Minh)."
    ),
    // Relative, so that the document is right wherever the service runs: the paths are under
    // the address that serves it (http://127.0.0.1:8080 unless configured otherwise).
    servers((url = "/", description = "The service that serves this document (by default at http://127.0.0.1:8080)")),
    // The schemas that parameters and error responses name by reference; those of bodies come
    // with their handlers.
    components(schemas(
        crate::error::Problem,
        crate::error::ErrorCode,
        reports::Format,
        crate::service::workflows::DiagramFormat,
        crate::service::deadlines::StatusFilter,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "agencies", description = "Courts, police, procuracy, enforcement offices, steering committees"),
        (name = "workflows", description = "Workflow definitions and their law-dated versions"),
        (name = "instances", description = "Running workflows, their steps and their verified history"),
        (name = "deadlines", description = "Legal time limits, computed by the working-day calendar"),
        (name = "documents", description = "Files handed over with steps: uploaded first, named by id in a step's data, their SHA-256 in its event"),
        (name = "search", description = "Instances and cases by their numbers, and by names for those who may see them, with or without diacritics"),
        (name = "inbox", description = "What an agency and its roles must know and do"),
        (name = "webhooks", description = "Notifications posted to the agencies' own systems, signed"),
        (name = "calendar", description = "Holidays, swaps and make-up working days, year by year; the coercion calendar feed"),
        (name = "cases", description = "Cases (việc thi hành án), their money, payments and outcome"),
        (name = "reports", description = "The enforcement and coordination statistics, and the targets"),
        (name = "health", description = "Liveness and metrics"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    openapi().to_pretty_json().unwrap_or_default() + "\n"
}

/// Error responses, declared once for the OpenAPI document.
pub mod problems {
    use crate::error::Problem;
    use utoipa::IntoResponses;

    /// The request could not be read: malformed JSON, bad query, bad header.
    #[derive(IntoResponses)]
    #[response(status = 400, content_type = "application/problem+json")]
    pub struct BadRequest(pub Problem);

    /// No valid bearer token.
    #[derive(IntoResponses)]
    #[response(status = 401, content_type = "application/problem+json")]
    pub struct Unauthorized(pub Problem);

    /// The caller's role or agency may not do this.
    #[derive(IntoResponses)]
    #[response(status = 403, content_type = "application/problem+json")]
    pub struct Forbidden(pub Problem);

    /// Nothing the caller may see has this id.
    #[derive(IntoResponses)]
    #[response(status = 404, content_type = "application/problem+json")]
    pub struct NotFound(pub Problem);

    /// A stale `expected_version`, the record already exists, or a request with the same
    /// `Idempotency-Key` is still being answered (`request_in_progress`, with `Retry-After`).
    #[derive(IntoResponses)]
    #[response(status = 409, content_type = "application/problem+json")]
    pub struct Conflict(pub Problem);

    /// The version an `If-Match` header named is no longer the record's: read it again.
    #[derive(IntoResponses)]
    #[response(status = 412, content_type = "application/problem+json")]
    pub struct PreconditionFailed(pub Problem);

    /// The `Accept` header names no type the operation can answer with.
    #[derive(IntoResponses)]
    #[response(status = 406, content_type = "application/problem+json")]
    pub struct NotAcceptable(pub Problem);

    /// The body is larger than the service accepts.
    #[derive(IntoResponses)]
    #[response(status = 413, content_type = "application/problem+json")]
    pub struct TooLarge(pub Problem);

    /// The body is not JSON.
    #[derive(IntoResponses)]
    #[response(status = 415, content_type = "application/problem+json")]
    pub struct UnsupportedMediaType(pub Problem);

    /// Well-formed but not acceptable: invalid data, unknown workflow or transition, a step
    /// not allowed from the current state, or an `Idempotency-Key` reused for another request.
    #[derive(IntoResponses)]
    #[response(status = 422, content_type = "application/problem+json")]
    pub struct Unprocessable(pub Problem);

    /// The database is out of reach or busy: retry after the seconds `Retry-After` says.
    #[derive(IntoResponses)]
    #[response(
        status = 503,
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
    )]
    pub struct Unavailable(pub Problem);
}
