use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use prometheus::Encoder;
use sha2::{Digest, Sha256};

use super::problems::{Unauthorized, Unavailable};
use super::AppState;
use crate::error::{ApiError, ApiResult};

/// Whether the request shows the scrape token; compared in constant time.
fn shows_token(req: &HttpRequest, token: &str) -> bool {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(token.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Prometheus metrics in the text exposition format.
///
/// Request latency by route pattern and status class, requests in flight, steps fired by
/// workflow and transition, reminders and webhook deliveries by outcome, and the deadlines
/// running and overdue as the database has them now. Nothing in them names a person or a
/// case. Open to any caller unless the service is configured with a metrics token; then the
/// scraper shows it as a bearer token (401 otherwise). This is not a user's token.
#[utoipa::path(
    get,
    operation_id = "getMetrics",
    tag = "health",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String),
        Unauthorized, Unavailable
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let metrics = &state.metrics;
    if let Some(token) = &metrics.token {
        if !shows_token(&req, token) {
            return Err(ApiError::unauthorized("show the metrics token as a bearer token"));
        }
    }
    let at = crate::domain::now().timestamp_micros();
    let deadlines = state.read(move |conn, _| crate::service::deadlines::counts(conn, at)).await?;
    let text = metrics.render(deadlines, state.db.figures()).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(prometheus::TextEncoder::new().format_type()).body(text))
}
