//! The pool's connections: opened the way the service needs them, checked when they come back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{InstrumentationEvent, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::result::Error as DieselError;
use diesel::{PgConnection, SqliteConnection};

use super::{Backend, DatabaseUrl, DbConn};

/// Opens connections of the backend named by the URL, set up the way this service needs them.
#[derive(Debug, Clone)]
pub struct Manager {
    pub(super) url: DatabaseUrl,
    /// The SQLite page cache of each connection, in KiB. A reader's is large, so the hot pages
    /// of a large database stay in memory instead of being read again from the OS at each
    /// request. The writer's is small: at every commit after a B-tree page split SQLite scans
    /// the whole hash table of its cache (a split moves pages to numbers past the end of the
    /// file for a moment), so with 64 MiB a tenth of the writer's time went to that scan.
    pub(super) cache_kib: u32,
    /// A reader's connection refuses to write (`PRAGMA query_only`): on SQLite only the
    /// [`writer`] writes.
    pub(super) read_only: bool,
}

/// See [`Manager::cache_kib`].
pub(super) const READER_CACHE_KIB: u32 = 65_536;
pub(super) const WRITER_CACHE_KIB: u32 = 4_096;

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
    pub(super) fn open_sqlite(&self) -> Result<SqliteConnection, r2d2::Error> {
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
