//! `lienganh audit verify`: every history in the database checked, as an inspector would.
//!
//! Each instance's chain is recomputed and held against its row (state, version, data, who may
//! see it), exactly as `GET /instances/{id}/history/verify` does, but over all events, so an
//! event appended behind the service's back is caught too. Each case's chain is checked with
//! its personal data digest and its payments. Histories are read a page at a time. Every
//! stored document is read back and hashed again.

use serde::Serialize;

use super::cases;
use super::history::verify_loaded;
use super::instances::{definition, Loaded};
use crate::engine::registry::Registry;
use crate::error::ApiResult;
use crate::store::cases::{self as case_store, ListFilter as CaseFilter};
use crate::store::documents as document_store;
use crate::store::events as event_store;
use crate::store::files::{Files, FilesError};
use crate::store::instances::{self as instance_store, ListFilter};
use crate::store::{Db, DbConn};

const PAGE: i64 = 500;

/// A history that does not verify, and where it first breaks.
#[derive(Debug, Clone, Serialize)]
pub struct Broken {
    /// `instance`, `case` or `document` (whose id is then its SHA-256).
    pub kind: &'static str,
    pub id: String,
    /// The first event that does not verify; none when the chain holds but the row does not.
    pub seq: Option<i64>,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Audit {
    pub instances: u64,
    pub instance_events: u64,
    pub cases: u64,
    pub case_events: u64,
    pub broken: Vec<Broken>,
}

/// Checks every instance's and every case's history.
pub fn verify_all(conn: &mut DbConn, registry: &Registry) -> ApiResult<Audit> {
    let mut audit = Audit::default();
    let mut filter = ListFilter {
        visible_to: None,
        party: None,
        workflow: None,
        state: None,
        before: None,
        overdue_at: None,
        open: None,
        limit: PAGE,
    };
    loop {
        let rows = instance_store::list(conn, &filter)?;
        filter.before = rows.last().map(|r| r.id.clone());
        for row in &rows {
            let events = event_store::of_instance(conn, &row.id, i64::MAX)?;
            audit.instances += 1;
            audit.instance_events += events.len() as u64;
            let broken = |seq, reason| Broken { kind: "instance", id: row.id.clone(), seq, reason };
            let checked = Loaded::read(row.clone())
                .and_then(|loaded| Ok((definition(registry, &loaded.row)?, loaded)))
                .and_then(|(def, loaded)| verify_loaded(conn, registry, def, &loaded, &events));
            match checked {
                Ok(v) if v.valid => {}
                Ok(v) => audit.broken.push(broken(v.first_broken_seq, v.reason.unwrap_or_default())),
                Err(e) => audit.broken.push(broken(None, e.detail)),
            }
        }
        if rows.len() < PAGE as usize {
            break;
        }
    }
    let mut filter = CaseFilter { limit: PAGE, ..CaseFilter::default() };
    loop {
        let rows = case_store::list(conn, &filter)?;
        filter.after = rows.last().map(|r| r.id.clone());
        for row in &rows {
            let events = case_store::events(conn, &row.id)?;
            let payments = case_store::payments_of(conn, &row.id)?;
            audit.cases += 1;
            audit.case_events += events.len() as u64;
            let v = cases::verify_rows(row, &events, &payments);
            if !v.valid {
                let reason = v.reason.unwrap_or_default();
                audit.broken.push(Broken {
                    kind: "case",
                    id: row.id.clone(),
                    seq: v.first_broken_seq,
                    reason,
                });
            }
        }
        if rows.len() < PAGE as usize {
            break;
        }
    }
    Ok(audit)
}

/// What checking the documents store found.
#[derive(Debug, Default, Serialize)]
pub struct DocumentAudit {
    /// Distinct contents checked, and their bytes.
    pub documents: u64,
    pub bytes: u64,
    pub broken: Vec<Broken>,
}

/// Reads every stored document back and hashes it again: one whose bytes are missing, or no
/// longer hash to the SHA-256 the uploads (and the steps' events) recorded, is named.
pub async fn verify_documents(db: &Db, files: &Files) -> Result<DocumentAudit, String> {
    let mut audit = DocumentAudit::default();
    let mut after = String::new();
    loop {
        let (reader, from) = (db.clone(), after.clone());
        let page = tokio::task::spawn_blocking(move || -> Result<Vec<(String, i64)>, String> {
            let mut conn = reader.read().map_err(|e| e.to_string())?;
            document_store::contents_after(&mut conn, &from, PAGE).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        for (sha256, size) in &page {
            audit.documents += 1;
            let broken = |reason: String| Broken { kind: "document", id: sha256.clone(), seq: None, reason };
            match files.get(sha256).await {
                Ok(bytes) => {
                    audit.bytes += bytes.len() as u64;
                    let found = super::documents::sha256(&bytes);
                    if found != *sha256 {
                        audit.broken.push(broken(format!(
                            "altered: its bytes ({} of the {size} uploaded) hash to {found}",
                            bytes.len()
                        )));
                    }
                }
                Err(FilesError::Missing) => {
                    audit.broken.push(broken("missing from the documents store".into()))
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        match page.last() {
            Some((last, _)) if page.len() as i64 == PAGE => after = last.clone(),
            _ => return Ok(audit),
        }
    }
}
