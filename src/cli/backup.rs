//! `lienganh backup PATH`: a consistent copy of the SQLite database, taken while `serve` runs.
//!
//! `VACUUM INTO` reads the database in one read transaction: under WAL that is a snapshot, so
//! writers go on meanwhile and the copy holds exactly the steps committed before it began. The
//! copy is written under a temporary name beside PATH, checked, synced, and only then given its
//! name, by a hard link that fails rather than replace a file that appeared meanwhile.
//! PostgreSQL has its own tool for this: pg_dump.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::store::{Backend, DatabaseUrl};

/// What a backup wrote.
#[derive(Debug)]
pub struct Done {
    pub path: PathBuf,
    pub bytes: u64,
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    quick_check: String,
}

/// Copies the database `database_url` names to `dest`, which must not exist.
pub fn backup(database_url: &str, dest: &Path) -> Result<Done, String> {
    let url = DatabaseUrl::parse(database_url)?;
    if url.backend == Backend::Postgres {
        return Err("lienganh backup copies SQLite databases; back PostgreSQL up with its own tool, \
             such as `pg_dump --format=custom --file=lienganh.dump \"$LIENGANH_DATABASE_URL\"`"
            .into());
    }
    let source = url
        .sqlite_path()
        .ok_or_else(|| format!("{database_url:?} is not a database file that can be copied"))?;
    if !source.is_file() {
        return Err(format!("there is no database at {}", source.display()));
    }
    if dest.symlink_metadata().is_ok() {
        return Err(format!("{} exists; a backup never overwrites a file", dest.display()));
    }
    let name = dest.file_name().ok_or_else(|| format!("{} is not a file name", dest.display()))?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let partial = dir.join(format!(".{}.{}.partial", name.to_string_lossy(), uuid::Uuid::now_v7().simple()));
    let outcome = copy(&url.target, &partial).and_then(|()| publish(&partial, dest, &dir));
    // Gone once published; after a failure, nothing half-written is left behind.
    let _ = std::fs::remove_file(&partial);
    outcome?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).map_err(|e| e.to_string())?;
    Ok(Done { path: dest.to_path_buf(), bytes })
}

/// Writes the snapshot to `partial` and checks it.
fn copy(source: &str, partial: &Path) -> Result<(), String> {
    let target = partial.to_str().ok_or_else(|| format!("{} is not UTF-8", partial.display()))?;
    let mut conn =
        SqliteConnection::establish(source).map_err(|e| format!("cannot open the database: {e}"))?;
    // The service's writer may hold the lock for a moment while a WAL checkpoint runs.
    conn.batch_execute("PRAGMA busy_timeout = 10000;").map_err(|e| e.to_string())?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(&mut conn)
        .map_err(|e| format!("cannot copy the database: {e}"))?;
    let mut copy =
        SqliteConnection::establish(target).map_err(|e| format!("cannot open the copy to check it: {e}"))?;
    let checks = diesel::sql_query("PRAGMA quick_check")
        .load::<Check>(&mut copy)
        .map_err(|e| format!("cannot check the copy: {e}"))?;
    match checks.first().map(|c| c.quick_check.as_str()) {
        Some("ok") => Ok(()),
        other => Err(format!("the copy does not check: {}", other.unwrap_or("no answer"))),
    }
}

/// Makes the checked copy durable, then gives it its name without replacing anything.
fn publish(partial: &Path, dest: &Path, dir: &Path) -> Result<(), String> {
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync the copy: {e}"))?;
    std::fs::hard_link(partial, dest).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{} appeared meanwhile; a backup never overwrites a file", dest.display())
        }
        _ => format!("cannot name the copy {}: {e}", dest.display()),
    })?;
    // The new name is durable once its folder is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
