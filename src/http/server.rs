//! Starting the service: settings to a running HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::engine::calendar::Calendar;
use crate::engine::registry::Registry;
use crate::http::api::{self, AppState};
use crate::http::auth::JwtKeys;
use crate::http::metrics::Metrics;
use crate::http::telemetry::{self, RequestSpan};
use crate::jobs::schedule::Schedule;
use crate::store::Db;
use arc_swap::ArcSwap;

/// Loads the workflows; a bad definition stops the start with every problem listed.
pub fn load_registry(settings: &Settings) -> Result<Registry, String> {
    Registry::load_dir(&settings.workflows).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("the workflow definitions are not valid:\n{}", lines.join("\n"))
    })
}

/// Loads the legal calendar kept beside the workflows.
pub fn load_calendar(settings: &Settings) -> Result<Calendar, String> {
    Calendar::load(&settings.calendar_file()).map_err(|e| format!("the calendar is not valid: {e}"))
}

/// Connects to the database and applies pending migrations; how many ran.
pub fn open_database(settings: &Settings) -> Result<(Db, usize), String> {
    let db = Db::connect(&settings.database_url, settings.pool_size)?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(applied = applied.len(), "applied database migrations");
    }
    Ok((db, applied.len()))
}

/// Does what migrations left to the service, which knows the definitions: closes the instances
/// that ended before instances kept whether they were closed, indexes for search the
/// instances and cases there before search was, and titles the deadlines opened before
/// deadlines had titles.
pub fn finish_migrations(db: &Db, registry: &Arc<Registry>) -> Result<(), String> {
    let terminal = crate::service::instances::terminal_states(registry).map_err(|e| e.detail)?;
    let closed = db
        .write_blocking(move |conn| crate::service::instances::close_ended(conn, &terminal))
        .map_err(|e| e.detail)?;
    if closed > 0 {
        tracing::info!(closed, "instances that had ended marked closed");
    }
    let rules = Arc::clone(registry);
    let indexed = db
        .write_blocking(move |conn| crate::service::search::index_existing(conn, &rules))
        .map_err(|e| e.detail)?;
    if indexed > 0 {
        tracing::info!(indexed, "instances and cases indexed for search");
    }
    let rules = Arc::clone(registry);
    let retitled = db
        .write_blocking(move |conn| crate::service::deadlines::retitle_opened_before(conn, &rules))
        .map_err(|e| e.detail)?;
    if retitled > 0 {
        tracing::info!(retitled, "deadlines titled by their definitions");
    }
    Ok(())
}

/// A server ready to run on `listener`.
pub fn build(settings: &Settings, listener: TcpListener) -> Result<actix_web::dev::Server, String> {
    build_with_state(settings, listener).map(|(server, _)| server)
}

/// A server ready to run on `listener`, and the state its handlers share.
pub fn build_with_state(
    settings: &Settings,
    listener: TcpListener,
) -> Result<(actix_web::dev::Server, web::Data<AppState>), String> {
    let registry = Arc::new(load_registry(settings)?);
    let (db, _) = open_database(settings)?;
    finish_migrations(&db, &registry)?;
    let keys = web::Data::new(JwtKeys::from_settings(settings)?);
    let console_keys = web::Data::new(crate::http::console::session::ConsoleKeys::from_settings(settings)?);
    let file_calendar = Arc::new(load_calendar(settings)?);
    let calendar_fingerprint = std::fs::read(settings.calendar_file())
        .map(|bytes| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
        .map_err(|e| format!("cannot read the calendar: {e}"))?;
    let calendar = {
        let mut conn = db.read().map_err(|e| e.to_string())?;
        crate::service::calendar::effective(&mut conn, &file_calendar).map_err(|e| e.detail)?
    };
    let calendar = Arc::new(ArcSwap::from_pointee(calendar));
    let metrics = Arc::new(Metrics::new(settings.metrics_token.clone())?);
    metrics.loaded(registry.fingerprint(), &calendar_fingerprint);
    let files = crate::store::files::Files::open(&settings.documents_url())?;
    let max_document_bytes = settings.max_document_bytes;
    let state = web::Data::new(AppState {
        db,
        registry,
        calendar,
        file_calendar,
        metrics,
        files,
        max_document_bytes,
        max_body_bytes: settings.max_body_bytes,
        counting: crate::service::reports::Counting {
            terminated: settings.statistics_terminated,
            entrusted: settings.statistics_entrusted,
        },
        calendar_fingerprint,
    });
    let max_body = settings.max_body_bytes;
    let shared = state.clone();
    let server = HttpServer::new(move || {
        let app = App::new()
            .wrap(from_fn(telemetry::observe))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(state.clone())
            .app_data(keys.clone())
            .app_data(console_keys.clone())
            .configure(crate::http::console::configure(max_body));
        api::serve(app, max_body)
    })
    // `serve` handles the signals itself: SIGINT too stops gracefully, and the jobs with it.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout)
    .listen(listener)
    .map_err(|e| format!("cannot listen: {e}"))?
    .run();
    Ok((server, shared))
}

/// Starts the jobs on their schedule: after each pass the metrics count it and the calendar
/// is read again from the database, so years an admin adds on another node apply here too.
pub async fn start_jobs(settings: &Settings, state: web::Data<AppState>) -> Result<Schedule, String> {
    let (db, files) = (state.db.clone(), state.files.clone());
    let answers_kept = settings.idempotency_retention_micros();
    Schedule::start((&settings.reminder_cron, answers_kept), db, files, move |outcome| {
        match outcome {
            Ok(report) => {
                state.metrics.pass_done(report);
                if *report != crate::jobs::Report::default() {
                    tracing::info!(?report, "reminder pass")
                }
            }
            Err(e) => {
                state.metrics.pass_failed();
                tracing::error!(error = %e, "reminder pass failed")
            }
        }
        if let Ok(mut conn) = state.db.read() {
            match crate::service::calendar::effective(&mut conn, &state.file_calendar) {
                Ok(calendar) => state.calendar.store(Arc::new(calendar)),
                Err(e) => tracing::error!(error = %e.detail, "calendar refresh failed"),
            }
        }
    })
    .await
}

/// Resolves when the process is told to stop: SIGTERM, or SIGINT (Ctrl-C).
async fn stop_signal() -> Result<&'static str, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot watch SIGINT: {e}"))?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(|e| format!("cannot watch Ctrl-C: {e}"))?;
        Ok("Ctrl-C")
    }
}

/// Runs `lienganh serve` until stopped. On SIGTERM or SIGINT it stops accepting connections,
/// lets the requests in flight finish (within the shutdown timeout) and the reminder pass
/// under way too, starts no new one, and returns.
pub async fn serve(settings: Settings) -> Result<(), String> {
    let listener =
        TcpListener::bind(&settings.bind).map_err(|e| format!("cannot bind {}: {e}", settings.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (server, state) = build_with_state(&settings, listener)?;
    let handle = server.handle();
    let mut server = actix_web::rt::spawn(server);
    let jobs = start_jobs(&settings, state).await?;
    let base = format!("http://{addr}");
    println!("lienganh is listening on {base}");
    println!("  database:   {}", crate::store::redact(&settings.database_url));
    println!("  API docs:   {base}/docs/   (OpenAPI: {base}/openapi.json)");
    println!("  metrics:    {base}/metrics");
    println!("  a token:    lienganh token --sub demo-admin --agency BTP --role admin");
    println!(
        "              (cargo run --release -- token ...; see README for the court/enforcement walk-through)"
    );
    let stopped = tokio::select! {
        ended = &mut server => Some(ended),
        signal = stop_signal() => {
            tracing::info!(signal = signal?, "stopping: no new connections; finishing the requests in flight and the reminder pass");
            None
        }
    };
    let (_, ended) = tokio::join!(jobs.stop(), async {
        match stopped {
            Some(ended) => ended,
            None => {
                handle.stop(true).await;
                server.await
            }
        }
    });
    ended.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}
