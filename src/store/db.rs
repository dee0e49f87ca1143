//! The database as the service uses it: reads from a pool, writes through one way.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::r2d2;
use diesel::PgConnection;
use diesel_migrations::MigrationHarness;

use super::pool::{Manager, READER_CACHE_KIB, WRITER_CACHE_KIB};
use super::{
    redact, writer, Backend, Conn, DatabaseUrl, DbConn, Pool, PoolError, POSTGRES_MIGRATIONS,
    SQLITE_MIGRATIONS,
};

/// The database as the service uses it: a pool of connections for reads, and one way to write,
/// [`Db::write`]. On SQLite that way is the [`writer`] thread, which owns the only connection
/// that writes; on PostgreSQL a connection of the pool.
#[derive(Clone)]
pub struct Db {
    pub backend: Backend,
    read: Pool,
    write: WritePath,
    /// Callers waiting for a connection of the pool now.
    waiting: Arc<AtomicI64>,
}

/// How the connections stand, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbFigures {
    /// Connections of the pool open, and of them in use.
    pub connections: u32,
    pub in_use: u32,
    /// Callers waiting for one.
    pub waiting: i64,
    /// SQLite's writer, when it is SQLite.
    pub writer: Option<writer::WriterFigures>,
}

/// A connection of `pool`, counted among the waiting while it is awaited.
fn checkout(pool: &Pool, waiting: &AtomicI64) -> Result<Conn, PoolError> {
    waiting.fetch_add(1, Ordering::Relaxed);
    let conn = pool.get();
    waiting.fetch_sub(1, Ordering::Relaxed);
    conn
}

#[derive(Clone)]
enum WritePath {
    Sqlite(writer::Writer),
    Postgres(Pool),
}

/// The PostgreSQL advisory lock migrations run under: "lienganh" in ASCII.
const MIGRATION_LOCK: i64 = 0x6c69_656e_6761_6e68;

/// How the database's migrations stand against those this binary embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// Every migration of this binary is applied, and none newer.
    Applied,
    /// Some of this binary's are not applied yet.
    Pending,
    /// A newer binary applied migrations this one does not know (a rolling upgrade under way).
    Ahead,
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
        Ok(Self { backend: url.backend, read, write, waiting: Arc::default() })
    }

    pub fn read(&self) -> Result<Conn, PoolError> {
        checkout(&self.read, &self.waiting)
    }

    /// How the connections stand now.
    pub fn figures(&self) -> DbFigures {
        let state = self.read.state();
        DbFigures {
            connections: state.connections,
            in_use: state.connections.saturating_sub(state.idle_connections),
            waiting: self.waiting.load(Ordering::Relaxed).max(0),
            writer: match &self.write {
                WritePath::Sqlite(writer) => Some(writer.stats.figures()),
                WritePath::Postgres(_) => None,
            },
        }
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
                let (pool, waiting) = (pool.clone(), self.waiting.clone());
                tokio::task::spawn_blocking(move || {
                    let mut conn = checkout(&pool, &waiting).map_err(|e| E::from(WriteError::from(e)))?;
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
                let mut conn = checkout(pool, &self.waiting).map_err(|e| E::from(WriteError::from(e)))?;
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
                let mut conn = checkout(pool, &self.waiting).map_err(|e| E::from(WriteError::from(e)))?;
                work(&mut conn)
            }
        }
    }

    /// Applies the embedded migrations of this backend; returns the versions that ran. On
    /// SQLite they run on the writer's connection, between its groups, in one transaction; on
    /// PostgreSQL under an advisory lock. Either way processes started at once on one database
    /// apply them one at a time, the later ones finding nothing left to do.
    pub fn migrate(&self) -> Result<Vec<String>, String> {
        let migrations = self.migrations();
        let run = move |conn: &mut DbConn| -> Result<Vec<String>, MigrationFailed> {
            let failed = |e: &dyn std::fmt::Display| MigrationFailed(format!("migration failed: {e}"));
            let names = |done: Vec<diesel::migration::MigrationVersion<'_>>| -> Vec<String> {
                done.iter().map(ToString::to_string).collect()
            };
            match conn {
                DbConn::Pg(_) => {
                    let lock = |conn: &mut DbConn, sql: &str| {
                        diesel::sql_query(sql)
                            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                            .execute(conn)
                            .map_err(|e| failed(&e))
                    };
                    lock(conn, "SELECT pg_advisory_lock($1)")?;
                    let done = conn.run_pending_migrations(migrations).map(names).map_err(|e| failed(&e));
                    // Also released when the session ends, should this fail.
                    lock(conn, "SELECT pg_advisory_unlock($1)")?;
                    done
                }
                // One transaction that takes the write lock first: another process migrating
                // the same file waits for it (the busy timeout), then finds nothing to do.
                DbConn::Sqlite(c) => c.immediate_transaction(|c| {
                    c.run_pending_migrations(migrations).map(names).map_err(|e| failed(&e))
                }),
            }
        };
        self.write_alone(run).map_err(|e| e.0)
    }

    fn migrations(&self) -> diesel_migrations::EmbeddedMigrations {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        }
    }

    /// How the database's migrations stand against this binary's, read without writing.
    pub fn migration_status(&self) -> Result<MigrationStatus, String> {
        use diesel::migration::MigrationSource;
        let ours = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&self.migrations())
            .map_err(|e| e.to_string())?
            .iter()
            .map(|m| m.name().version().to_string())
            .max()
            .unwrap_or_default();
        #[derive(QueryableByName)]
        struct Latest {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            version: Option<String>,
        }
        let mut conn = self.read().map_err(|e| e.to_string())?;
        let latest = diesel::sql_query("SELECT MAX(version) AS version FROM __diesel_schema_migrations")
            .get_result::<Latest>(&mut **conn)
            .map_err(|e| e.to_string())?
            .version
            .unwrap_or_default();
        Ok(match latest.cmp(&ours) {
            std::cmp::Ordering::Less => MigrationStatus::Pending,
            std::cmp::Ordering::Equal => MigrationStatus::Applied,
            std::cmp::Ordering::Greater => MigrationStatus::Ahead,
        })
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

impl From<diesel::result::Error> for MigrationFailed {
    fn from(e: diesel::result::Error) -> Self {
        Self(format!("migration failed: {e}"))
    }
}

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
