/// mimalloc rather than the system allocator: the one writer thread of SQLite spends a
/// tenth of its time in glibc's malloc and free (see BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use chrono::Datelike;
use lienganh::config::Settings;
use lienganh::domain::{AgencyCode, Role};
use lienganh::engine::calendar::Calendar;
use lienganh::engine::registry::Registry;
use lienganh::http::auth::{parse_ttl, JwtKeys};
use lienganh::service::workflows::DiagramFormat;

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute every instance's and case's hash chain and hold it against its record; print
    /// each history that does not verify with its first broken link; exit 1 if any.
    Verify,
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user of the web console. The password is asked for on the terminal (twice), or
    /// read from one line of standard input with --password-stdin.
    Add {
        username: String,
        /// Full name, as histories will show it.
        #[arg(long)]
        name: String,
        #[arg(long)]
        agency: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: their sessions end and they cannot sign in.
    Disable { username: String },
    /// Enable a disabled user again.
    Enable { username: String },
    /// Give a user a new password (asked for as with `add`): lifts a lock, ends their sessions.
    Reset {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// lienganh: interagency workflows of civil judgment enforcement.
#[derive(Parser)]
#[command(name = "lienganh", version)]
struct Cli {
    /// A TOML configuration file; `lienganh.toml` in the working directory is read if present.
    /// LIENGANH_* environment variables override it.
    #[arg(long, global = true, env = "LIENGANH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (migrates the database and loads the workflows first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate every workflow definition in DIR (the configured folder by default).
    Check { dir: Option<PathBuf> },
    /// Print a signed token for the configured key.
    Token {
        #[arg(long)]
        sub: String,
        #[arg(long)]
        agency: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Display name; the subject when absent.
        #[arg(long)]
        name: Option<String>,
        /// Lifetime, such as 8h, 30m or 2d.
        #[arg(long, default_value = "8h")]
        ttl: String,
    },
    /// Print the OpenAPI document the server serves.
    Openapi,
    /// Print a workflow's diagram (the version in force today unless --version is given).
    Diagram {
        workflow: String,
        #[arg(long)]
        version: Option<u32>,
        /// svg or mermaid.
        #[arg(long, default_value = "svg")]
        format: String,
        /// A state to highlight, as an instance in it would be.
        #[arg(long)]
        state: Option<String>,
    },
    /// Run one reminder pass: send the reminders and webhooks due, then exit.
    Remind {
        /// One pass and exit (`serve` runs passes on its schedule).
        #[arg(long)]
        once: bool,
        /// The time of the pass (RFC 3339), for operators and tests; now when absent.
        #[arg(long)]
        now: Option<String>,
    },
    /// Check the records: `audit verify` checks every history in the database.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Copy the SQLite database to PATH, consistently, while `serve` runs and writes, and the
    /// documents it names to PATH.documents; neither may exist. (PostgreSQL: use pg_dump, and
    /// copy the bucket with its own tools.)
    Backup { path: PathBuf },
    /// Load the agencies of the seed provinces, cases and instances to see the reports with,
    /// and print tokens to try them.
    Demo,
    /// Move the running instances of one version of a workflow to another, as its transitional
    /// rule allows: --dry-run says what would happen to each; otherwise they move in batches,
    /// each with an event in its history. A run cut short goes on with --resume RUN.
    MigrateInstances(lienganh::cli::moves::Request),
    /// Manage the people who sign in to the web console.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

/// A new password: one line of standard input, or asked for twice on the terminal.
fn read_password(from_stdin: bool) -> Result<String, String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Mật khẩu / Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Nhập lại / Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        first
    };
    lienganh::service::users::check_password(&password).map_err(|r| format!("the password must have {r}"))?;
    Ok(password)
}

/// What a refusal of a use case says on the command line: its detail and each field's reason.
fn refusal(e: lienganh::error::ApiError) -> String {
    let mut text = e.detail;
    for f in e.errors {
        text.push_str(&format!("\n  {}: {}", f.field, f.reason));
    }
    text
}

fn main() -> ExitCode {
    if let Err(message) = lienganh::http::telemetry::init_logging() {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Writes to standard output; a reader that stops early (`| head`) is not an error.
fn out(text: &str) -> Result<(), String> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let settings = || Settings::load(cli.config.as_deref());
    // A command that does one thing at a time takes one connection, not a server's pool of
    // them: on a busy PostgreSQL every connection counts against its limit.
    let one_connection = || settings().map(|s| Settings { pool_size: 1, ..s });
    match cli.command {
        Command::Serve => {
            let settings = settings()?;
            actix_web::rt::System::new().block_on(lienganh::http::server::serve(settings))?;
        }
        Command::Migrate => {
            let settings = one_connection()?;
            let (db, applied) = lienganh::http::server::open_database(&settings)?;
            match lienganh::http::server::load_registry(&settings) {
                Ok(registry) => {
                    lienganh::http::server::finish_migrations(&db, &std::sync::Arc::new(registry))?
                }
                Err(e) => eprintln!(
                    "{e}\nthe definitions are needed to finish the migrations: `lienganh serve` will"
                ),
            }
            println!("applied {applied} migration(s) to {}", lienganh::store::redact(&settings.database_url));
        }
        Command::Check { dir } => {
            let dir = match dir {
                Some(dir) => dir,
                None => settings()?.workflows,
            };
            let mut failed = false;
            match Registry::load_dir(&dir) {
                Ok(registry) => {
                    for def in registry.all() {
                        println!("ok  {} v{}  {}", def.id, def.version, def.source.display());
                    }
                    println!("{} definition(s) valid in {}", registry.len(), dir.display());
                }
                Err(errors) => {
                    for e in &errors {
                        println!("{e}");
                    }
                    println!("{} problem(s) found", errors.len());
                    failed = true;
                }
            }
            let calendar_file = dir.join("calendar").join("holidays.toml");
            match Calendar::load(&calendar_file) {
                Ok(calendar) => {
                    let years: Vec<String> = calendar
                        .years()
                        .iter()
                        .map(
                            |(y, data)| {
                                if data.provisional {
                                    format!("{y} (provisional)")
                                } else {
                                    y.to_string()
                                }
                            },
                        )
                        .collect();
                    println!("ok  calendar  {}: {}", calendar_file.display(), years.join(", "));
                    let next_year = lienganh::domain::today_local().year() + 1;
                    if !calendar.covers(next_year) {
                        println!("warning: the calendar has no holidays for {next_year}; add the year before it starts");
                    }
                }
                Err(e) => {
                    println!("{e}");
                    failed = true;
                }
            }
            if failed {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Token { sub, agency, roles, name, ttl } => {
            let settings = settings()?;
            let agency = AgencyCode::parse(&agency)?;
            let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>()?;
            let keys = JwtKeys::from_settings(&settings)?;
            let name = name.unwrap_or_else(|| sub.clone());
            println!("{}", keys.issue(&sub, &name, &agency, &roles, parse_ttl(&ttl)?)?);
        }
        Command::Openapi => out(&lienganh::http::api::openapi_json())?,
        Command::Diagram { workflow, version, format, state } => {
            let registry = Registry::load_dir(&settings()?.workflows)
                .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
            let format = match format.as_str() {
                "svg" => DiagramFormat::Svg,
                "mermaid" => DiagramFormat::Mermaid,
                other => return Err(format!("unknown format {other:?}: use svg or mermaid")),
            };
            let drawn = lienganh::service::workflows::workflow_diagram(
                &registry,
                &workflow,
                version,
                state.as_deref(),
                format,
            )
            .map_err(|e| e.detail)?;
            out(&drawn.body)?;
        }
        Command::Remind { once, now } => {
            if !once {
                return Err(
                    "use `lienganh remind --once`; `lienganh serve` sends reminders on its schedule".into()
                );
            }
            let settings = settings()?;
            let at = match now {
                Some(raw) => chrono::DateTime::parse_from_rfc3339(&raw)
                    .map_err(|e| format!("--now {raw:?} is not an RFC 3339 time: {e}"))?
                    .timestamp_micros(),
                None => lienganh::domain::now().timestamp_micros(),
            };
            let (db, _) = lienganh::http::server::open_database(&settings)?;
            let client = lienganh::jobs::http_client()?;
            let node = lienganh::jobs::node_name();
            let runtime = actix_web::rt::System::new();
            let report =
                runtime.block_on(lienganh::jobs::pass(&db, &node, at, &client)).map_err(|e| e.to_string())?;
            out(&format!(
                "reminders sent {}, cancelled {}, taken over {}, not sent {}; webhooks delivered {}, to retry {}, failed {}\n",
                report.reminders_sent,
                report.reminders_cancelled,
                report.reminders_lost,
                report.reminders_failed,
                report.webhooks_delivered,
                report.webhooks_retried,
                report.webhooks_failed
            ))?;
            // The pass is done whatever comes of this: a failure here is told, not fatal.
            let forgotten = runtime.block_on(lienganh::jobs::sessions::forget(&db, at));
            match forgotten {
                Ok(0) => {}
                Ok(n) => out(&format!("console sessions removed {n}\n"))?,
                Err(e) => eprintln!("old console sessions were not removed: {e}"),
            }
            let files = lienganh::store::files::Files::open(&settings.documents_url())?;
            match runtime.block_on(lienganh::jobs::documents::forget_unused(&db, &files, at)) {
                Ok(0) => {}
                Ok(n) => out(&format!("uploads no step took removed {n}\n"))?,
                Err(e) => eprintln!("uploads no step took were not removed: {e}"),
            }
            let kept = settings.idempotency_retention_micros();
            match runtime.block_on(lienganh::jobs::idempotency::forget(&db, at, kept)) {
                Ok(0) => {}
                Ok(n) => out(&format!("remembered answers past their retention removed {n}\n"))?,
                Err(e) => eprintln!("remembered answers were not removed: {e}"),
            }
            if report.reminders_failed > 0 {
                eprintln!(
                    "some reminders could not be sent; the log says why, and a later pass retries them"
                );
                return Ok(ExitCode::from(1));
            }
        }
        Command::User { action } => {
            use lienganh::service::users;
            let settings = one_connection()?;
            let (db, _) = lienganh::http::server::open_database(&settings)?;
            // Who did it, as the user events keep it.
            let by = match std::env::var("USER") {
                Ok(user) if !user.is_empty() => format!("command line ({user})"),
                _ => "command line".to_owned(),
            };
            // Asked for before the write, which runs on the database's one writer.
            let done = match action {
                UserAction::Add { username, name, agency, roles, password_stdin } => {
                    let agency = AgencyCode::parse(&agency)?;
                    let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>()?;
                    let password = read_password(password_stdin)?;
                    let user = users::NewUser { username, name, agency, roles, password };
                    let row = users::prepare(&user).map_err(refusal)?;
                    let said = format!("added {} ({}, {})\n", row.username, row.agency_code, row.roles);
                    db.write_blocking(move |conn| users::add(conn, &row, &by)).map(|()| said)
                }
                UserAction::Disable { username } => {
                    let said = format!("disabled {username}; their sessions have ended\n");
                    db.write_blocking(move |conn| users::set_disabled(conn, &username, true, &by))
                        .map(|_| said)
                }
                UserAction::Enable { username } => {
                    let said = format!("enabled {username}\n");
                    db.write_blocking(move |conn| users::set_disabled(conn, &username, false, &by))
                        .map(|_| said)
                }
                UserAction::Reset { username, password_stdin } => {
                    let hash = users::hash_password(&read_password(password_stdin)?).map_err(refusal)?;
                    let said = format!("new password set for {username}; their sessions have ended\n");
                    db.write_blocking(move |conn| users::reset_password(conn, &username, &hash, &by))
                        .map(|_| said)
                }
            };
            out(&done.map_err(refusal)?)?;
        }
        Command::MigrateInstances(req) => out(&lienganh::cli::moves::run(&one_connection()?, req)?)?,
        Command::Audit { action: AuditAction::Verify } => {
            let settings = one_connection()?;
            let (db, _) = lienganh::http::server::open_database(&settings)?;
            let registry = lienganh::http::server::load_registry(&settings)?;
            let mut conn = db.read().map_err(|e| e.to_string())?;
            let audit = lienganh::service::audit::verify_all(&mut conn, &registry).map_err(|e| e.detail)?;
            drop(conn);
            let files = lienganh::store::files::Files::open(&settings.documents_url())?;
            let stored = actix_web::rt::System::new()
                .block_on(lienganh::service::audit::verify_documents(&db, &files))?;
            let mut text = String::new();
            for b in audit.broken.iter().chain(&stored.broken) {
                let at = b.seq.map(|s| format!("event {s}: ")).unwrap_or_default();
                text.push_str(&format!("BROKEN {} {}: {at}{}\n", b.kind, b.id, b.reason));
            }
            text.push_str(&format!(
                "verified {} instance histories ({} events) and {} case histories ({} events): {} broken\n",
                audit.instances,
                audit.instance_events,
                audit.cases,
                audit.case_events,
                audit.broken.len()
            ));
            text.push_str(&format!(
                "verified {} stored documents ({} bytes) against their SHA-256: {} broken\n",
                stored.documents,
                stored.bytes,
                stored.broken.len()
            ));
            out(&text)?;
            if !audit.broken.is_empty() || !stored.broken.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Backup { path } => {
            let settings = settings()?;
            let done = lienganh::cli::backup::backup(&settings.database_url, &path)?;
            let files = lienganh::store::files::Files::open(&settings.documents_url())?;
            out(&format!("backed up the database to {} ({} bytes)\n", done.path.display(), done.bytes))?;
            let papers =
                actix_web::rt::System::new().block_on(lienganh::cli::backup::documents(&path, &files))?;
            out(&format!(
                "copied {} documents ({} bytes) to {}\n",
                papers.copied,
                papers.bytes,
                papers.folder.display()
            ))?;
            if !papers.broken.is_empty() {
                let mut text = String::new();
                for (sha256, reason) in &papers.broken {
                    text.push_str(&format!("document {sha256}: {reason}\n"));
                }
                out(&text)?;
                return Ok(ExitCode::from(1));
            }
        }
        Command::Demo => {
            out(&lienganh::cli::demo::load(&settings()?)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
