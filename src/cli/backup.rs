//! `lienganh backup PATH`: a consistent copy of the SQLite database, taken while `serve` runs.
//!
//! `VACUUM INTO` reads the database in one read transaction: under WAL that is a snapshot, so
//! writers go on meanwhile and the copy holds exactly the steps committed before it began. The
//! copy is written under a temporary name beside PATH, checked, synced, and only then given its
//! name, by a hard link that fails rather than replace a file that appeared meanwhile.
//! PostgreSQL has its own tool for this: pg_dump.
//!
//! The documents the copy names follow it into `PATH.documents`, the folder a database at PATH
//! keeps its documents in by default, so the copy serves as it is. Each is re-hashed on the way:
//! one missing or altered in the store is named, and the backup fails once it has copied the rest.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::store::files::{Files, FilesError};
use crate::store::{Backend, DatabaseUrl};

/// What a backup wrote.
#[derive(Debug)]
pub struct Done {
    pub path: PathBuf,
    pub bytes: u64,
}

/// The documents a backup copied.
#[derive(Debug, Default)]
pub struct Documents {
    pub folder: PathBuf,
    pub copied: u64,
    pub bytes: u64,
    /// The SHA-256 of each document the store no longer holds as uploaded, and why.
    pub broken: Vec<(String, String)>,
}

/// The folder a backup at `dest` copies its documents to: `dest` with `.documents` added, the
/// folder a database at `dest` keeps its documents in by default.
pub fn documents_folder(dest: &Path) -> PathBuf {
    Files::beside(dest)
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
    let folder = documents_folder(dest);
    if folder.symlink_metadata().is_ok() {
        return Err(format!("{} exists; a backup never overwrites a file", folder.display()));
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

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    sha256: String,
}

/// Copies the documents the backup at `dest` names from `files` to its documents folder.
pub async fn documents(dest: &Path, files: &Files) -> Result<Documents, String> {
    let copy = dest.to_str().ok_or_else(|| format!("{} is not UTF-8", dest.display()))?.to_owned();
    let named = tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
        let mut conn =
            SqliteConnection::establish(&copy).map_err(|e| format!("cannot open the copy: {e}"))?;
        diesel::sql_query("SELECT DISTINCT sha256 FROM documents ORDER BY sha256")
            .load::<Named>(&mut conn)
            .map(|rows| rows.into_iter().map(|r| r.sha256).collect())
            .map_err(|e| format!("cannot read the copy's documents: {e}"))
    })
    .await
    .map_err(|e| e.to_string())??;
    let folder = documents_folder(dest);
    let target = Files::open(&folder.display().to_string())?;
    let mut done = Documents { folder, ..Documents::default() };
    for sha256 in named {
        let bytes = match files.get(&sha256).await {
            Ok(bytes) => bytes,
            Err(FilesError::Missing) => {
                done.broken.push((sha256, format!("missing from {}", files.url())));
                continue;
            }
            Err(e) => return Err(e.to_string()),
        };
        let found = crate::service::documents::sha256(&bytes);
        if found != sha256 {
            done.broken.push((sha256, format!("altered in {}: its bytes hash to {found}", files.url())));
            continue;
        }
        done.bytes += bytes.len() as u64;
        target.put(&sha256, bytes).await.map_err(|e| format!("cannot copy document {sha256}: {e}"))?;
        done.copied += 1;
    }
    Ok(done)
}
