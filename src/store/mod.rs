//! The store: one code path over SQLite and PostgreSQL through `diesel::MultiConnection`.
//!
//! The backend is chosen from the URL scheme, never by trying each. Backend differences
//! (transaction start, pragmas, migrations) stay in this module. SQLite writes go through a
//! single writer connection, so writers queue in-process instead of failing with SQLITE_BUSY;
//! reads use a pool of their own and WAL lets them run beside the writer.

/// Runs a query on the backend's own connection underneath a [`DbConn`]. Through
/// `MultiConnection` a query's SQL is rendered again at every execution, even when its prepared
/// statement is cached; the backend's own connection finds a query built with diesel's DSL by
/// its type, without rendering it. The query is written once and compiled for each backend.
/// For the queries of a step's path.
macro_rules! native {
    ($conn:expr, |$c:ident| $query:expr) => {
        match $conn {
            $crate::store::DbConn::Pg($c) => $query,
            $crate::store::DbConn::Sqlite($c) => $query,
        }
    };
}

pub mod agencies;
pub mod calendar_years;
pub mod case_stats;
pub mod cases;
mod db;
pub mod deadlines;
pub mod documents;
pub mod events;
pub mod feeds;
pub mod files;
pub mod fixed;
pub mod idempotency;
pub mod instances;
pub mod lease;
pub mod moves;
pub mod notifications;
mod pool;
pub mod published;
pub mod record;
pub mod reminders;
pub mod schema;
pub mod search;
pub mod users;
pub mod webhooks;
pub mod writer;

pub use db::{direct, Db, DbFigures, MigrationStatus, WriteError};
pub use pool::{is_connection_lost, Manager, Pooled};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2;
use diesel::result::Error as DieselError;
use diesel::{MultiConnection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend.
#[derive(MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PoolError = r2d2::PoolError;
pub type Conn = r2d2::PooledConnection<Manager>;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL split into its backend and what the driver takes.
#[derive(Debug, Clone)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// For SQLite a path or `file:` URI (the `sqlite://` scheme stripped); for PostgreSQL the URL.
    pub target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err("sqlite:// URL needs a path, such as sqlite://lienganh.db".into());
            }
            Ok(Self { backend: Backend::Sqlite, target: rest.to_owned() })
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            Ok(Self { backend: Backend::Sqlite, target: rest.to_owned() })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self { backend: Backend::Postgres, target: url.to_owned() })
        } else {
            Err(format!("unsupported database URL {:?}: use sqlite://PATH or postgres://...", redact(url)))
        }
    }

    /// The SQLite file path, when the target is a plain path (not a `file:` URI or memory).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        (self.backend == Backend::Sqlite && !self.target.starts_with("file:") && self.target != ":memory:")
            .then(|| std::path::PathBuf::from(&self.target))
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`,
/// taking the write lock first so that it never fails half-way on a lock upgrade; inside a
/// transaction already begun it is a savepoint, which rolls back alone.
pub fn write_transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    begin_write(conn)?;
    match f(conn) {
        Ok(value) => {
            DbConn::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            DbConn::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Begins a write transaction: on SQLite with `BEGIN IMMEDIATE`, or a savepoint when one is
/// open already (a request inside a group of the [`writer`]).
pub fn begin_write(conn: &mut DbConn) -> Result<(), DieselError> {
    if let DbConn::Sqlite(c) = conn {
        if AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?.is_none() {
            return AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE");
        }
    }
    DbConn::begin_transaction(conn)
}

/// Runs `f`, which only reads, on one snapshot of the database: a report made of several
/// queries then never counts a change that committed between two of them. PostgreSQL takes
/// a repeatable-read, read-only transaction; SQLite's read transaction (WAL) is a snapshot.
pub fn read_snapshot<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<DieselError>,
{
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED")?,
    }
    let outcome = f(conn);
    // Nothing was written: ending the transaction either way is the same.
    DbConn::rollback_transaction(conn)?;
    outcome
}

/// The row a lookup by key found, if any. Loaded rather than taken with `first()`: SQLite
/// prepares a statement with a bound `LIMIT` again each time the limit is bound.
pub fn at_most_one<T>(rows: QueryResult<Vec<T>>) -> QueryResult<Option<T>> {
    rows.map(|rows| rows.into_iter().next())
}

/// Whether an error is a unique-constraint violation (a concurrent writer got there first).
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_their_backend() {
        let u = DatabaseUrl::parse("sqlite://lienganh.db").unwrap();
        assert_eq!((u.backend, u.target.as_str()), (Backend::Sqlite, "lienganh.db"));
        let u = DatabaseUrl::parse("sqlite:///var/lib/x.db").unwrap();
        assert_eq!(u.target, "/var/lib/x.db");
        let u = DatabaseUrl::parse("postgres://u:p@localhost/db").unwrap();
        assert_eq!(u.backend, Backend::Postgres);
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    /// On SQLite only the writer writes: a reader's connection refuses to, and a write through
    /// `Db::write_blocking` lands.
    #[test]
    fn on_sqlite_only_the_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("w.db").display()), 2).unwrap();
        db.migrate().unwrap();
        let insert = "INSERT INTO pending_tasks (name) VALUES ('probe')";
        let refused = db.read().unwrap().batch_execute(insert);
        assert!(refused.is_err_and(|e| e.to_string().contains("readonly")), "a reader wrote");
        db.write_blocking(|conn| conn.batch_execute(insert).map_err(|e| e.to_string())).unwrap();
        let kept = schema::pending_tasks::table
            .filter(schema::pending_tasks::name.eq("probe"))
            .count()
            .get_result::<i64>(&mut **db.read().unwrap())
            .unwrap();
        assert_eq!(kept, 1);
    }
}
