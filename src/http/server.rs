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
use crate::store::writer::Writer;
use crate::store::{Backend, Db};
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_cron_scheduler::{Job, JobScheduler};

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
/// that ended before instances kept whether they were closed.
pub fn finish_migrations(db: &Db, registry: &Registry) -> Result<(), String> {
    let mut conn = db.write().map_err(|e| e.to_string())?;
    let closed = crate::service::instances::close_ended(&mut conn, registry).map_err(|e| e.detail)?;
    if closed > 0 {
        tracing::info!(closed, "instances that had ended marked closed");
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
    let calendar = {
        let mut conn = db.read().map_err(|e| e.to_string())?;
        crate::service::calendar::effective(&mut conn, &file_calendar).map_err(|e| e.detail)?
    };
    let calendar = Arc::new(ArcSwap::from_pointee(calendar));
    let writer = match db.backend {
        Backend::Sqlite => Some(Writer::start(db.clone())?),
        Backend::Postgres => None,
    };
    let metrics = Arc::new(Metrics::new(settings.metrics_token.clone())?);
    let state = web::Data::new(AppState { db, registry, calendar, file_calendar, writer, metrics });
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
    // `serve` handles the signals itself: SIGINT too stops gracefully, and the sweeper with it.
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout)
    .listen(listener)
    .map_err(|e| format!("cannot listen: {e}"))?
    .run();
    Ok((server, shared))
}

/// The reminder sweeper, running on its schedule.
pub struct Sweeper {
    scheduler: JobScheduler,
    running: Arc<AtomicBool>,
}

impl Sweeper {
    /// Starts no new pass, and waits for the one under way, if any, to finish.
    pub async fn stop(mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::error!(error = %e, "cannot stop the reminder scheduler");
        }
        if self.running.load(Ordering::SeqCst) {
            tracing::info!("waiting for the reminder pass under way to finish");
        }
        while self.running.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// When old console sessions are removed: at minute 17 of every hour.
const FORGET_SESSIONS_CRON: &str = "0 17 * * * *";

/// Wakes the reminder sweeper on `cron`: each pass sends what is due and refreshes the
/// calendar from the database, so years an admin adds on another node apply here too.
pub async fn start_sweeper(settings: &Settings, state: web::Data<AppState>) -> Result<Sweeper, String> {
    let client = crate::jobs::http_client()?;
    let node = crate::jobs::node_name();
    let running = Arc::new(AtomicBool::new(false));
    let scheduler = JobScheduler::new().await.map_err(|e| format!("cannot start the scheduler: {e}"))?;
    let flag = running.clone();
    let sessions_state = state.clone();
    let job = Job::new_async(settings.reminder_cron.as_str(), move |_, _| {
        let (state, client, node, running) = (state.clone(), client.clone(), node.clone(), flag.clone());
        Box::pin(async move {
            // A pass still running when the next is due: let it finish, skip this one.
            if running.swap(true, Ordering::SeqCst) {
                return;
            }
            let now = crate::domain::now().timestamp_micros();
            match crate::jobs::pass(&state.db, &node, now, &client).await {
                Ok(report) => {
                    state.metrics.pass_done(&report);
                    if report != crate::jobs::Report::default() {
                        tracing::info!(?report, "reminder pass")
                    }
                }
                Err(e) => {
                    state.metrics.pass_failed();
                    tracing::error!(error = %e.detail, "reminder pass failed")
                }
            }
            if let Ok(mut conn) = state.db.read() {
                match crate::service::calendar::effective(&mut conn, &state.file_calendar) {
                    Ok(calendar) => state.calendar.store(Arc::new(calendar)),
                    Err(e) => tracing::error!(error = %e.detail, "calendar refresh failed"),
                }
            }
            running.store(false, Ordering::SeqCst);
        })
    })
    .map_err(|e| format!("LIENGANH_REMINDER_CRON {:?} is not a schedule: {e}", settings.reminder_cron))?;
    scheduler.add(job).await.map_err(|e| e.to_string())?;
    // Once an hour, apart from the reminder passes: the console sessions that ended a day ago.
    let sessions = Job::new_async(FORGET_SESSIONS_CRON, move |_, _| {
        let state = sessions_state.clone();
        Box::pin(async move {
            let now = crate::domain::now().timestamp_micros();
            if let Err(e) =
                state.write(move |conn, _| crate::service::users::forget_old_sessions(conn, now)).await
            {
                tracing::error!(error = %e.detail, "removing old console sessions failed");
            }
        })
    })
    .map_err(|e| format!("cannot schedule removing old sessions: {e}"))?;
    scheduler.add(sessions).await.map_err(|e| e.to_string())?;
    scheduler.start().await.map_err(|e| e.to_string())?;
    Ok(Sweeper { scheduler, running })
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
    let sweeper = start_sweeper(&settings, state).await?;
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
    let (_, ended) = tokio::join!(sweeper.stop(), async {
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
