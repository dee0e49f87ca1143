//! The error policy, in one place.
//!
//! Store functions return `QueryResult`; services and handlers return `ApiResult`. Each
//! `ErrorCode` maps to one HTTP status and title here, and every error leaves the service as
//! `application/problem+json` (RFC 9457) with a stable `code`. Database `NotFound` becomes 404,
//! an exhausted pool 503, and anything unexpected a generic 500 whose detail is only logged.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The stable, machine-readable reason of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    VersionConflict,
    AlreadyExists,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    UnknownWorkflow,
    NoDefinitionInForce,
    UnknownTransition,
    TransitionNotAllowed,
    AlreadySigned,
    IdempotencyKeyReused,
    /// The version an `If-Match` header named is no longer the record's.
    PreconditionFailed,
    /// A request with the same Idempotency-Key is still being answered.
    RequestInProgress,
    OverCollection,
    CaseClosed,
    NotAcceptable,
    /// A step names a document nobody uploaded.
    DocumentUnknown,
    /// A step names a document another agency uploaded.
    DocumentForeign,
    /// A step names a document another step has taken.
    DocumentUsed,
    /// A document is not of a type its field takes.
    DocumentTypeNotAccepted,
    /// A document is larger than its field takes.
    DocumentTooLarge,
    /// The bytes uploaded are not of the type they are said to be.
    DocumentTypeMismatch,
    /// The new version's transitional rule does not let the old version's instances move to it.
    MigrationNotAllowed,
    /// The webhook was removed: its secret is not rotated, its deliveries not sent again.
    WebhookRemoved,
    /// A delivery sent again while its attempts are still going on.
    DeliveryPending,
    ServiceUnavailable,
    InternalError,
}

impl ErrorCode {
    /// The one table of status and title per code.
    pub fn status_and_title(self) -> (StatusCode, &'static str) {
        use ErrorCode::*;
        match self {
            MalformedRequest => (StatusCode::BAD_REQUEST, "Malformed request"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "Authentication required"),
            Forbidden => (StatusCode::FORBIDDEN, "Not permitted"),
            NotFound => (StatusCode::NOT_FOUND, "Not found"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
            VersionConflict => (StatusCode::CONFLICT, "Stale version"),
            AlreadyExists => (StatusCode::CONFLICT, "Already exists"),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"),
            UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
            ValidationFailed => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid data"),
            UnknownWorkflow => (StatusCode::UNPROCESSABLE_ENTITY, "Unknown workflow"),
            NoDefinitionInForce => (StatusCode::UNPROCESSABLE_ENTITY, "No definition in force"),
            UnknownTransition => (StatusCode::UNPROCESSABLE_ENTITY, "Unknown transition"),
            TransitionNotAllowed => (StatusCode::UNPROCESSABLE_ENTITY, "Transition not allowed"),
            AlreadySigned => (StatusCode::UNPROCESSABLE_ENTITY, "Already signed"),
            IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency key reused"),
            RequestInProgress => (StatusCode::CONFLICT, "Request in progress"),
            PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "Precondition failed"),
            OverCollection => (StatusCode::UNPROCESSABLE_ENTITY, "More than is due"),
            CaseClosed => (StatusCode::UNPROCESSABLE_ENTITY, "Case closed"),
            NotAcceptable => (StatusCode::NOT_ACCEPTABLE, "Not acceptable"),
            DocumentUnknown => (StatusCode::UNPROCESSABLE_ENTITY, "Unknown document"),
            DocumentForeign => (StatusCode::UNPROCESSABLE_ENTITY, "Another agency's document"),
            DocumentUsed => (StatusCode::CONFLICT, "Document already handed over"),
            DocumentTypeNotAccepted => (StatusCode::UNPROCESSABLE_ENTITY, "Document type not accepted"),
            DocumentTooLarge => (StatusCode::UNPROCESSABLE_ENTITY, "Document too large"),
            DocumentTypeMismatch => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Document type mismatch"),
            MigrationNotAllowed => (StatusCode::UNPROCESSABLE_ENTITY, "Migration not allowed"),
            WebhookRemoved => (StatusCode::CONFLICT, "Webhook removed"),
            DeliveryPending => (StatusCode::CONFLICT, "Delivery pending"),
            ServiceUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
            InternalError => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }

    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Where the problem is, such as `data.documents[2].quantity`.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// A problem details body (RFC 9457) as the API returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:lienganh:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error answered to the client.
///
/// Its `detail` and the reasons of its `errors` may quote what the client sent (personal data
/// included), so they go to the client only: `Display` and `Debug`, which the request log
/// prints, show the code and the paths of the failing fields, nothing the client wrote.
#[derive(Clone, thiserror::Error)]
#[error("{}", self.code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A path names a field of a definition or of the API, such as `data.documents[2].unit`;
        // one made of anything else comes from a key the client chose, and is not shown.
        let shown = |p: &str| {
            p.split('.').all(|seg| {
                seg.starts_with(|c: char| c.is_ascii_lowercase())
                    && seg.chars().all(|c| c.is_ascii_alphanumeric() || "_[]".contains(c))
            })
        };
        let fields: Vec<&str> =
            self.errors.iter().map(|e| if shown(&e.field) { e.field.as_str() } else { "(other)" }).collect();
        f.debug_struct("ApiError").field("code", &self.code).field("fields", &fields).finish()
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into(), errors: Vec::new() }
    }

    pub fn validation(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Self { code: ErrorCode::ValidationFailed, detail: detail.into(), errors }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, what)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    /// The error a problem body describes, as the API wrote it (a kept answer); a body that
    /// is not one reads as a malformed request.
    pub fn from_problem(body: &serde_json::Value) -> Self {
        let code = serde_json::from_value(body["code"].clone()).unwrap_or(ErrorCode::MalformedRequest);
        let detail = body["detail"].as_str().unwrap_or_default().to_owned();
        let errors = serde_json::from_value(body["errors"].clone()).unwrap_or_default();
        Self { code, detail, errors }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::MalformedRequest, detail)
    }

    /// Logs the real cause and answers a generic 500 that reveals nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalError, "an unexpected error occurred; it has been logged")
    }

    pub fn problem(&self) -> Problem {
        let (status, title) = self.code.status_and_title();
        Problem {
            type_uri: format!("urn:lienganh:problem:{}", self.code.as_str()),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
        }
    }
}

/// What `Retry-After` says of a busy service, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status_and_title().0
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self.code {
            ErrorCode::Unauthorized => {
                response.insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"));
            }
            // A busy database or a lost connection passes in moments; an in-flight duplicate
            // is answered as soon as the first request is.
            ErrorCode::ServiceUnavailable | ErrorCode::RequestInProgress => {
                response
                    .insert_header((actix_web::http::header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
            }
            _ => {}
        }
        response.content_type("application/problem+json").json(self.problem())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => Self::not_found("no such record"),
            Error::DatabaseError(kind, info) => {
                let message = info.message();
                let busy = matches!(kind, DatabaseErrorKind::SerializationFailure)
                    || message.contains("database is locked")
                    || message.contains("deadlock detected");
                if busy {
                    tracing::warn!(error = %e, "database busy");
                    Self::new(ErrorCode::ServiceUnavailable, "the database is busy; retry shortly")
                } else if crate::store::is_connection_lost(&e) {
                    // The server closed the connection (a restart); the pool opens a new one for
                    // the retry. A retry carries the same version or Idempotency-Key, so a change
                    // that did commit before the connection went is not made twice.
                    tracing::warn!(error = %e, "database connection lost");
                    Self::new(
                        ErrorCode::ServiceUnavailable,
                        "the database connection was lost; retry shortly",
                    )
                } else if matches!(kind, DatabaseErrorKind::UniqueViolation) {
                    // Two requests creating the same record at once: the second learns of it.
                    Self::new(ErrorCode::AlreadyExists, "the record was created meanwhile; read it again")
                } else if message.contains("invalid byte sequence") {
                    // A last line of defence: inputs are checked for such characters before.
                    Self::bad_request("the request contains a character that cannot be stored")
                } else {
                    Self::internal(e)
                }
            }
            _ => Self::internal(e),
        }
    }
}

impl From<crate::store::PoolError> for ApiError {
    fn from(e: crate::store::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection available");
        Self::new(ErrorCode::ServiceUnavailable, "the database is busy; retry shortly")
    }
}

impl From<crate::store::WriteError> for ApiError {
    fn from(e: crate::store::WriteError) -> Self {
        match e {
            crate::store::WriteError::Unavailable(reason) => {
                tracing::warn!(%reason, "no database connection available");
                Self::new(ErrorCode::ServiceUnavailable, "the database is busy; retry shortly")
            }
            crate::store::WriteError::NotKept(reason) => {
                tracing::warn!(%reason, "a write was not kept");
                Self::new(ErrorCode::ServiceUnavailable, "the change was not saved; retry shortly")
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}
