//! Starting the service: settings to a running HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState};
use crate::auth::JwtKeys;
use crate::calendar::Calendar;
use crate::config::Settings;
use crate::db::Db;
use crate::workflow::registry::Registry;
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

/// Connects to the database and applies pending migrations.
pub fn open_database(settings: &Settings) -> Result<Db, String> {
    let db = Db::connect(&settings.database_url, settings.pool_size)?;
    let applied = db.migrate()?;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    Ok(db)
}

/// A server ready to run on `listener`.
pub fn build(settings: &Settings, listener: TcpListener) -> Result<actix_web::dev::Server, String> {
    let registry = Arc::new(load_registry(settings)?);
    let db = open_database(settings)?;
    let keys = web::Data::new(JwtKeys::from_settings(settings)?);
    let calendar = Arc::new(ArcSwap::from_pointee(load_calendar(settings)?));
    let state = web::Data::new(AppState { db, registry, calendar });
    let max_body = settings.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            .app_data(keys.clone())
            .configure(api::configure(max_body))
    })
    .listen(listener)
    .map_err(|e| format!("cannot listen: {e}"))?
    .run();
    Ok(server)
}

/// Runs `lienganh serve` until stopped.
pub async fn serve(settings: Settings) -> Result<(), String> {
    let listener =
        TcpListener::bind(&settings.bind).map_err(|e| format!("cannot bind {}: {e}", settings.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = build(&settings, listener)?;
    let base = format!("http://{addr}");
    println!("lienganh is listening on {base}");
    println!("  database:   {}", crate::db::redact(&settings.database_url));
    println!("  API docs:   {base}/docs/   (OpenAPI: {base}/openapi.json)");
    println!("  a token:    lienganh token --sub demo-admin --agency BTP --role admin");
    println!(
        "              (cargo run --release -- token ...; see README for the court/enforcement walk-through)"
    );
    server.await.map_err(|e| e.to_string())
}
