//! The server under test, in a child process, and the database it runs on.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::{Args, BackendArg};

/// The first argument that makes this binary the server.
pub const SERVE: &str = "serve";

/// The secret the child signs tokens with; the bench mints tokens with it too.
pub const SECRET: &str = "lienganh-bench-secret-0123456789abcdef0123456789";

/// Runs the service as `lienganh serve` does, from the `LIENGANH_*` environment.
pub fn serve_child() -> ExitCode {
    if let Err(e) = lienganh::http::telemetry::init_logging() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let outcome = lienganh::config::Settings::load(None)
        .and_then(|settings| actix_web::rt::System::new().block_on(lienganh::http::server::serve(settings)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A database for one bench run: a file in a temporary folder, or a PostgreSQL database of
/// its own, dropped at the end unless kept.
pub struct Database {
    pub url: String,
    pub dir: PathBuf,
    admin_url: Option<String>,
    pg_name: Option<String>,
    keep: bool,
    _tmp: Option<tempfile::TempDir>,
}

impl Database {
    pub fn create(args: &Args) -> Result<Self, String> {
        let tmp = tempfile::Builder::new().prefix("lienganh-bench-").tempdir().map_err(|e| e.to_string())?;
        let dir = tmp.path().to_path_buf();
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        let (url, admin_url, pg_name) = match args.backend {
            BackendArg::Sqlite => (format!("sqlite://{}", dir.join("bench.db").display()), None, None),
            BackendArg::Postgres => {
                let name = format!("lienganh_bench_{stamp}_{}", std::process::id());
                let mut conn = PgConnection::establish(&args.postgres_url).map_err(|e| {
                    format!("cannot reach PostgreSQL at {}: {e}", lienganh::store::redact(&args.postgres_url))
                })?;
                conn.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| e.to_string())?;
                (with_database(&args.postgres_url, &name), Some(args.postgres_url.clone()), Some(name))
            }
        };
        let keep = args.keep;
        let tmp = if keep {
            let _ = tmp.keep();
            None
        } else {
            Some(tmp)
        };
        Ok(Self { url, dir, admin_url, pg_name, keep, _tmp: tmp })
    }
}

/// The PostgreSQL URL with its database name replaced by `name`, its query string (such as
/// `?sslmode=disable`) kept.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority = head.find("://").map_or(0, |s| s + 3);
    let base = match head[authority..].find('/') {
        Some(slash) => &head[..authority + slash],
        None => head,
    };
    format!("{base}/{name}{query}")
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let (Some(admin), Some(name)) = (&self.admin_url, &self.pg_name) {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The server, running in a child process.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `serve` on a free port over `db` and waits until it answers.
    pub fn start(db: &Database) -> Result<Self, String> {
        Self::start_on(&db.url, &db.dir)
    }

    /// Starts `serve` over the database at `url`, its log in `dir`.
    pub fn start_on(url: &str, dir: &std::path::Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log = dir.join("server.log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let workflows = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("workflows");
        let child = Command::new(exe)
            .arg(SERVE)
            .env("LIENGANH_DATABASE_URL", url)
            .env("LIENGANH_BIND", format!("127.0.0.1:{port}"))
            .env("LIENGANH_JWT_SECRET", SECRET)
            .env("LIENGANH_WORKFLOWS", workflows)
            .env_remove("LIENGANH_CONFIG")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        Ok(Self { child, base: format!("http://127.0.0.1:{port}"), log })
    }

    /// Waits until the server answers its health check.
    pub async fn ready(&mut self, client: &reqwest::Client) -> Result<(), String> {
        let started = Instant::now();
        let url = format!("{}/healthz", self.base);
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("the server exited ({status}):\n{log}"));
            }
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the server did not answer within 120 s".into())
    }

    /// The most memory the server has held (resident, high-water mark), in bytes.
    pub fn peak_memory(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Stops the server.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "b"), "postgres://u@h:5432/b");
        assert_eq!(with_database("postgres://u@h:5432", "b"), "postgres://u@h:5432/b");
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "b"),
            "postgres://u@h/b?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h?sslmode=disable", "b"), "postgres://u@h/b?sslmode=disable");
    }
}
