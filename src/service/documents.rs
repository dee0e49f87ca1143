//! Documents: uploaded by an agency, handed over by naming them in a step's data, downloaded
//! by anyone who can see an instance that names them. The service keeps their bytes and what
//! they are; it never renders one.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::instances::find_visible;
use crate::domain::{check_text, local_rfc3339, now, Role};
use crate::engine::definition::MEDIA_TYPES;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::store::cases::PersonalDataReadRow;
use crate::store::documents::{self as store, DocumentRow};
use crate::store::DbConn;

/// The route a download is recorded under, among the reads of personal data.
pub const ROUTE_DOWNLOAD: &str = "GET /api/v1/documents/{id}";

/// The longest name kept for a file, in characters.
const MAX_NAME: usize = 200;

/// An uploaded document, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Document {
    pub id: String,
    /// The SHA-256 of its bytes, in hex: what a step's event records.
    pub sha256: String,
    pub size: u64,
    /// As read from its bytes.
    pub media_type: String,
    pub name: String,
    pub uploaded_at: String,
    /// Whether a step has taken it.
    pub used: bool,
}

impl Document {
    pub fn of(row: &DocumentRow) -> Document {
        Document {
            id: row.id.clone(),
            sha256: row.sha256.clone(),
            size: u64::try_from(row.size).unwrap_or_default(),
            media_type: row.media_type.clone(),
            name: row.name.clone(),
            uploaded_at: local_rfc3339(row.uploaded_at),
            used: row.instance_id.is_some(),
        }
    }
}

/// Who may upload: anyone who acts for an agency, not one who only reads or administers, for
/// only a party's step can name a document.
pub fn check_uploader(actor: &Actor) -> ApiResult<()> {
    if actor.roles.iter().any(|r| !matches!(r, Role::Auditor | Role::Admin)) {
        Ok(())
    } else {
        Err(ApiError::forbidden("auditors and admins act for no party, so they upload nothing"))
    }
}

/// The type of `bytes`, as read from them: the type they are said to be (`declared`) must
/// agree. Text is taken as such only when it is said to be text and is UTF-8.
pub fn identify(declared: Option<&str>, bytes: &[u8]) -> ApiResult<String> {
    let declared = declared.map(|d| d.split(';').next().unwrap_or(d).trim().to_ascii_lowercase());
    let declared = declared.filter(|d| !d.is_empty() && d != "application/octet-stream");
    let read = match infer::get(bytes).map(|t| t.mime_type().to_owned()) {
        Some(read) => read,
        None if std::str::from_utf8(bytes).is_ok()
            && declared.as_deref().is_none_or(|d| d == "text/plain") =>
        {
            "text/plain".to_owned()
        }
        None => {
            return Err(ApiError::new(
                ErrorCode::DocumentTypeMismatch,
                format!(
                    "the type of these bytes cannot be read{}; the service takes {}",
                    declared.map(|d| format!(" (they are said to be {d})")).unwrap_or_default(),
                    MEDIA_TYPES.join(", ")
                ),
            ))
        }
    };
    if let Some(d) = declared.filter(|d| *d != read) {
        return Err(ApiError::new(
            ErrorCode::DocumentTypeMismatch,
            format!("the bytes are {read}, not {d} as the request says"),
        ));
    }
    if !MEDIA_TYPES.contains(&read.as_str()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("{read} is not a type the service keeps; it takes {}", MEDIA_TYPES.join(", ")),
        ));
    }
    Ok(read)
}

/// A file's name as kept: its last path component, at most 200 characters.
pub fn file_name(given: Option<&str>) -> ApiResult<String> {
    let name = given.map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim()).filter(|n| !n.is_empty());
    let name = name.unwrap_or("document");
    check_text(name)
        .map_err(|reason| ApiError::bad_request(format!("the file's name cannot be kept: {reason}")))?;
    Ok(name.chars().take(MAX_NAME).collect())
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What is known of an upload, once its bytes are kept.
pub struct Upload {
    pub sha256: String,
    pub size: usize,
    pub media_type: String,
    pub name: String,
}

/// Records an upload of `actor`'s agency.
pub fn record_upload(conn: &mut DbConn, actor: &Actor, upload: Upload) -> ApiResult<Document> {
    if crate::store::agencies::find(conn, actor.agency.as_str())?.is_none() {
        return Err(ApiError::forbidden(format!(
            "agency {} is not on record, so it uploads nothing",
            actor.agency
        )));
    }
    let row = DocumentRow {
        id: Uuid::now_v7().to_string(),
        sha256: upload.sha256,
        size: i64::try_from(upload.size).map_err(ApiError::internal)?,
        media_type: upload.media_type,
        name: upload.name,
        agency_code: actor.agency.to_string(),
        uploaded_by: actor.sub.clone(),
        uploaded_at: now().timestamp_micros(),
        instance_id: None,
        seq: None,
        field: None,
    };
    store::insert(conn, &row)?;
    Ok(Document::of(&row))
}

/// A document to download: only if an instance the actor can see took it (404 otherwise,
/// whether it exists or not), with the record of the read when the actor is beyond the case's
/// own office and court.
pub fn for_download(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<(DocumentRow, Option<PersonalDataReadRow>)> {
    let missing = || ApiError::not_found(format!("no document {id}"));
    let row = store::find(conn, &id.to_string())?.ok_or_else(missing)?;
    let instance = row.instance_id.as_deref().and_then(|i| Uuid::parse_str(i).ok()).ok_or_else(missing)?;
    let loaded = find_visible(conn, actor, instance).map_err(|_| missing())?;
    let read = match loaded.row.case_id.as_deref() {
        Some(case_id) => super::cases::read_of(conn, actor, case_id, ROUTE_DOWNLOAD)?,
        None => None,
    };
    Ok((row, read))
}
