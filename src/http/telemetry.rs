//! Logs and request ids.
//!
//! Every request has an id: a sane `X-Request-Id` from the client (a proxy's, say), or a new
//! UUID. It is a field of the request's span, so every log line of the request carries it, and
//! it is answered in the `X-Request-Id` header, not in bodies: a replayed answer is the first
//! one, byte for byte. A line is written when a request ends, with its status and time. Request bodies, headers and client addresses are
//! never logged: they carry personal data and tokens.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId as GeneratedId, RootSpanBuilder};

use crate::error::ApiError;
use crate::http::api::AppState;

/// The header a request id comes in and goes out in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being handled.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An incoming id is kept when it is short and plain, so that it cannot forge log lines.
fn acceptable(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The request's root span: its id, method and route pattern (not the path, which may name
/// a case or a person's record).
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let incoming = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|raw| acceptable(raw))
            .map(str::to_owned);
        let id = incoming.unwrap_or_else(|| {
            let generated = request.extensions().get::<GeneratedId>().map(|g| g.to_string());
            generated.unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
        });
        request.extensions_mut().insert(RequestId(id.clone()));
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
        tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route)
    }

    fn on_request_end<B: MessageBody>(_: Span, _: &Result<ServiceResponse<B>, Error>) {}
}

/// Counts a request in flight for as long as it is handled, even if the client goes away.
struct InFlight(prometheus::IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Answers the request id, times the request for the metrics and logs its end. Runs inside
/// the request's span, under `TracingLogger`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().cloned();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let _in_flight = metrics.as_ref().map(|m| {
        m.in_flight.inc();
        InFlight(m.in_flight.clone())
    });
    let started = Instant::now();
    let outcome = next.call(req).await;
    let elapsed = started.elapsed();
    let (status, code) = match &outcome {
        Ok(res) => {
            let code = res.response().error().and_then(|e| e.as_error::<ApiError>()).map(|e| e.code.as_str());
            (res.status(), code)
        }
        Err(e) => (e.as_response_error().status_code(), e.as_error::<ApiError>().map(|e| e.code.as_str())),
    };
    if let Some(m) = &metrics {
        m.observe_request(&method, &route, status, elapsed);
    }
    // Milliseconds to the microsecond.
    let millis = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    match code {
        Some(code) => tracing::info!(status = status.as_u16(), millis, error = %code, "request done"),
        None => tracing::info!(status = status.as_u16(), millis, "request done"),
    }
    let mut res = outcome?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id.0).ok()) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

/// How log lines are written: `text` for people, `json` for a log collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("LIENGANH_LOG_FORMAT {other:?} is not a log format: use text or json")),
        }
    }
}

/// Sets up logging to standard error with the filter of `LIENGANH_LOG` (`info` by default) in
/// the format of `LIENGANH_LOG_FORMAT`.
pub fn init_logging() -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIENGANH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = LogFormat::parse(&std::env::var("LIENGANH_LOG_FORMAT").unwrap_or_default());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        Ok(LogFormat::Json) => builder.json().with_current_span(true).with_span_list(false).init(),
        _ => builder.init(),
    }
    format.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ids_are_taken() {
        assert!(acceptable("0192f3c4-7d2e-7b1a-9c1e-3f4a5b6c7d8e"));
        assert!(acceptable("lb.1:abc_DEF"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\"} forged"));
        assert!(!acceptable(&"a".repeat(65)));
    }

    #[test]
    fn log_formats() {
        assert_eq!(LogFormat::parse("JSON"), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(""), Ok(LogFormat::Text));
        assert!(LogFormat::parse("xml").is_err());
    }
}
