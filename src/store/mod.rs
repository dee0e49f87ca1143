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
pub mod deadlines;
pub mod events;
pub mod fixed;
pub mod idempotency;
pub mod instances;
pub mod lease;
pub mod notifications;
pub mod record;
pub mod reminders;
pub mod schema;
pub mod users;
pub mod webhooks;
pub mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, InstrumentationEvent, SimpleConnection, TransactionManager,
};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::result::Error as DieselError;
use diesel::{MultiConnection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

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

/// Opens connections of the backend named by the URL, set up the way this service needs them.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    /// The SQLite page cache of each connection, in KiB. A reader's is large, so the hot pages
    /// of a large database stay in memory instead of being read again from the OS at each
    /// request. The writer's is small: at every commit after a B-tree page split SQLite scans
    /// the whole hash table of its cache (a split moves pages to numbers past the end of the
    /// file for a moment), so with 64 MiB a tenth of the writer's time went to that scan.
    cache_kib: u32,
    /// A reader's connection refuses to write (`PRAGMA query_only`): on SQLite only the
    /// [`writer`] writes.
    read_only: bool,
}

/// See [`Manager::cache_kib`].
const READER_CACHE_KIB: u32 = 65_536;
const WRITER_CACHE_KIB: u32 = 4_096;

/// How long after going back to the pool a PostgreSQL connection is taken out again without a
/// ping first. A connection back from a request that just ran is almost always still alive,
/// and under load connections go round in milliseconds: a ping at every check-out was one
/// round trip in eleven of a step. An idle connection is pinged, so one the server closed
/// meanwhile (a restart) is replaced before a request sees it; one found lost by a query is
/// dropped when it comes back (see [`Pooled::lost`]). The same rule as HikariCP's
/// `aliveBypassWindowMs`, which is 500 ms too.
const ALIVE_WITHOUT_PING: Duration = Duration::from_millis(500);

/// A connection of the pool, with what the pool needs to know of it.
pub struct Pooled {
    conn: DbConn,
    /// When it last went back to the pool.
    returned: Instant,
    /// Set when a query found the server gone. diesel marks the connection broken for most
    /// such failures but not for all (a statement that could not be prepared), so the
    /// connection's instrumentation watches every query's outcome.
    lost: Arc<AtomicBool>,
}

impl std::ops::Deref for Pooled {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// Whether an error means the connection to the database server is gone.
pub fn is_connection_lost(e: &DieselError) -> bool {
    use diesel::result::DatabaseErrorKind::{ClosedConnection, UnableToSendCommand};
    matches!(e, DieselError::DatabaseError(ClosedConnection | UnableToSendCommand, _))
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let lost = Arc::new(AtomicBool::new(false));
        let conn = match self.url.backend {
            Backend::Sqlite => DbConn::Sqlite(self.open_sqlite()?),
            Backend::Postgres => {
                let mut conn =
                    PgConnection::establish(&self.url.target).map_err(r2d2::Error::ConnectionError)?;
                let seen = lost.clone();
                conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::FinishQuery { error: Some(e), .. } = event {
                        if is_connection_lost(e) {
                            seen.store(true, Ordering::Relaxed);
                        }
                    }
                });
                DbConn::Pg(conn)
            }
        };
        Ok(Pooled { conn, returned: Instant::now(), lost })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        match conn.conn {
            DbConn::Sqlite(_) => Ok(()),
            DbConn::Pg(_) if conn.returned.elapsed() < ALIVE_WITHOUT_PING => Ok(()),
            DbConn::Pg(_) => conn.conn.ping().map_err(r2d2::Error::QueryError),
        }
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.returned = Instant::now();
        std::thread::panicking()
            || conn.lost.load(Ordering::Relaxed)
            || DbConn::is_broken_transaction_manager(&mut conn.conn)
    }
}

impl Manager {
    fn open_sqlite(&self) -> Result<SqliteConnection, r2d2::Error> {
        let mut conn = SqliteConnection::establish(&self.url.target).map_err(r2d2::Error::ConnectionError)?;
        // WAL lets readers run beside the writer; FULL sync makes a commit durable before it
        // is acknowledged (the writer commits in groups, see [`writer`]); the busy timeout
        // covers other processes (a `migrate` or `remind` run beside `serve`). The page
        // cache: see [`Manager::cache_kib`].
        conn.batch_execute(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; PRAGMA query_only = {};",
            self.cache_kib,
            if self.read_only { "ON" } else { "OFF" }
        ))
        .map_err(r2d2::Error::QueryError)?;
        Ok(conn)
    }
}

/// The database as the service uses it: a pool of connections for reads, and one way to write,
/// [`Db::write`]. On SQLite that way is the [`writer`] thread, which owns the only connection
/// that writes; on PostgreSQL a connection of the pool.
#[derive(Clone)]
pub struct Db {
    pub backend: Backend,
    read: Pool,
    write: WritePath,
}

#[derive(Clone)]
enum WritePath {
    Sqlite(writer::Writer),
    Postgres(Pool),
}

/// Why a write could not run, or was not kept.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// No connection could be had: the pool is exhausted or the database out of reach.
    #[error("no database connection available: {0}")]
    Unavailable(String),
    /// The write ran but its group's commit failed, or the writer stopped.
    #[error("the write was not kept: {0}")]
    NotKept(String),
}

/// For the command line and the tests, whose errors are messages.
impl From<WriteError> for String {
    fn from(e: WriteError) -> Self {
        e.to_string()
    }
}

impl From<writer::GroupFailed> for WriteError {
    fn from(e: writer::GroupFailed) -> Self {
        Self::NotKept(e.0)
    }
}

impl From<PoolError> for WriteError {
    fn from(e: PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl Db {
    /// Connects to the database the URL names. `pool_size` bounds the read pool (and on
    /// PostgreSQL the connections that write too); SQLite has exactly one writer connection,
    /// held by the writer thread this starts.
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, String> {
        let url = DatabaseUrl::parse(url)?;
        if let Some(path) = url.sqlite_path() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        let manager = |cache_kib: u32, read_only: bool| Manager { url: url.clone(), cache_kib, read_only };
        let read = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // On PostgreSQL only a connection idle for a while is pinged: see
            // [`ALIVE_WITHOUT_PING`]. SQLite is in-process.
            .test_on_check_out(url.backend == Backend::Postgres)
            .build(manager(READER_CACHE_KIB, url.backend == Backend::Sqlite))
            .map_err(|e| format!("cannot open database {}: {e}", redact(&url.target)))?;
        let write = match url.backend {
            Backend::Sqlite => {
                let writer = manager(WRITER_CACHE_KIB, false);
                WritePath::Sqlite(writer::Writer::start(move || {
                    writer.open_sqlite().map_err(|e| e.to_string())
                })?)
            }
            Backend::Postgres => WritePath::Postgres(read.clone()),
        };
        Ok(Self { backend: url.backend, read, write })
    }

    pub fn read(&self) -> Result<Conn, PoolError> {
        self.read.get()
    }

    /// Runs `work`, which writes, and answers once what it wrote is durable: on SQLite in the
    /// writer's next group, on PostgreSQL on a connection of the pool, off the async threads.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<WriteError> + Send + 'static,
    {
        match &self.write {
            WritePath::Sqlite(writer) => {
                writer.run(move |conn| work(conn).map_err(Wrapped)).await.map_err(Wrapped::into_inner)
            }
            WritePath::Postgres(pool) => {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = pool.get().map_err(|e| E::from(WriteError::from(e)))?;
                    work(&mut conn)
                })
                .await
                .map_err(|e| E::from(WriteError::NotKept(format!("the write failed unexpectedly: {e}"))))?
            }
        }
    }

    /// [`Db::write`], for a caller that is not async (the command line): waits for it.
    pub fn write_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<WriteError> + Send + 'static,
    {
        match &self.write {
            WritePath::Sqlite(writer) => {
                writer.run_blocking(move |conn| work(conn).map_err(Wrapped)).map_err(Wrapped::into_inner)
            }
            WritePath::Postgres(pool) => {
                let mut conn = pool.get().map_err(|e| E::from(WriteError::from(e)))?;
                work(&mut conn)
            }
        }
    }

    /// Runs `work` on a connection that writes, outside any group of the writer's: it takes
    /// its own transactions, and holds the writer until it is done (a migration, a bulk load).
    pub fn write_alone<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<WriteError> + Send + 'static,
    {
        match &self.write {
            WritePath::Sqlite(writer) => {
                writer.run_alone(move |conn| work(conn).map_err(Wrapped)).map_err(Wrapped::into_inner)
            }
            WritePath::Postgres(pool) => {
                let mut conn = pool.get().map_err(|e| E::from(WriteError::from(e)))?;
                work(&mut conn)
            }
        }
    }

    /// Applies the embedded migrations of this backend; returns the versions that ran. On
    /// SQLite they run on the writer's connection, between its groups.
    pub fn migrate(&self) -> Result<Vec<String>, String> {
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let run = move |conn: &mut DbConn| -> Result<Vec<String>, MigrationFailed> {
            conn.run_pending_migrations(migrations)
                .map(|done| done.iter().map(ToString::to_string).collect())
                .map_err(|e| MigrationFailed(format!("migration failed: {e}")))
        };
        self.write_alone(run).map_err(|e| e.0)
    }
}

/// One connection outside the service's pools and writer, set up as the service's are (on
/// SQLite: WAL, foreign keys, the busy timeout). For tools and tests that act on the database
/// as its owner would, beside a running service; the service itself writes only through
/// [`Db::write`].
pub fn direct(url: &str) -> Result<DbConn, String> {
    let url = DatabaseUrl::parse(url)?;
    match url.backend {
        Backend::Sqlite => {
            let manager = Manager { url, cache_kib: WRITER_CACHE_KIB, read_only: false };
            manager.open_sqlite().map(DbConn::Sqlite).map_err(|e| e.to_string())
        }
        Backend::Postgres => PgConnection::establish(&url.target)
            .map(DbConn::Pg)
            .map_err(|e| format!("cannot open database {}: {e}", redact(&url.target))),
    }
}

/// A migration that did not run, and why.
struct MigrationFailed(String);

impl From<WriteError> for MigrationFailed {
    fn from(e: WriteError) -> Self {
        Self(e.to_string())
    }
}

/// The caller's error carried through the writer, which speaks of its own failures as
/// [`writer::GroupFailed`].
struct Wrapped<E>(E);

impl<E: From<WriteError>> From<writer::GroupFailed> for Wrapped<E> {
    fn from(e: writer::GroupFailed) -> Self {
        Wrapped(E::from(WriteError::from(e)))
    }
}

impl<E> Wrapped<E> {
    fn into_inner(self) -> E {
        self.0
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
