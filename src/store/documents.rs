//! What is known of each uploaded document; its bytes are in the documents store
//! ([`super::files`]).

use diesel::prelude::*;

use super::schema::documents;
use super::{at_most_one, DbConn};
use crate::domain::AgencyCode;
use crate::engine::documents::StoredDocument;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = documents)]
pub struct DocumentRow {
    pub id: String,
    pub sha256: String,
    pub size: i64,
    /// As read from its bytes.
    pub media_type: String,
    /// The file's name, as its uploader gave it.
    pub name: String,
    pub agency_code: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    /// The instance, event and field of the step that took it; none until one does.
    pub instance_id: Option<String>,
    pub seq: Option<i64>,
    pub field: Option<String>,
}

impl DocumentRow {
    /// The document as a step may name it.
    pub fn stored(&self) -> Option<StoredDocument> {
        Some(StoredDocument {
            id: self.id.clone(),
            sha256: self.sha256.clone(),
            name: self.name.clone(),
            media_type: self.media_type.clone(),
            size: u64::try_from(self.size).ok()?,
            agency: AgencyCode::parse(&self.agency_code).ok()?,
            used: self.instance_id.is_some(),
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &DocumentRow) -> QueryResult<()> {
    diesel::insert_into(documents::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<DocumentRow>> {
    at_most_one(documents::table.find(id).select(DocumentRow::as_select()).load(conn))
}

/// The documents of these ids that exist.
pub fn find_many(conn: &mut DbConn, ids: &[&str]) -> QueryResult<Vec<DocumentRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    documents::table.filter(documents::id.eq_any(ids)).select(DocumentRow::as_select()).load(conn)
}

/// The documents an instance's steps took, in the order they were taken.
pub fn of_instance(conn: &mut DbConn, instance_id: &str) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::instance_id.eq(instance_id))
        .order((documents::seq.asc(), documents::id.asc()))
        .select(DocumentRow::as_select())
        .load(conn)
}

/// Marks a document taken by a step, if no step has taken it; false if one has.
pub fn take(conn: &mut DbConn, id: &str, instance_id: &str, seq: i64, field: &str) -> QueryResult<bool> {
    diesel::update(documents::table.find(id).filter(documents::instance_id.is_null()))
        .set((documents::instance_id.eq(instance_id), documents::seq.eq(seq), documents::field.eq(field)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Up to `limit` uploads no step took that were uploaded before `before`, oldest first.
pub fn unused_before(conn: &mut DbConn, before: i64, limit: i64) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::instance_id.is_null())
        .filter(documents::uploaded_at.lt(before))
        .order(documents::uploaded_at.asc())
        .limit(limit)
        .select(DocumentRow::as_select())
        .load(conn)
}

/// Removes an upload no step took; false if a step took it meanwhile.
pub fn remove_unused(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    diesel::delete(documents::table.find(id).filter(documents::instance_id.is_null()))
        .execute(conn)
        .map(|n| n == 1)
}

/// Whether any upload holds these bytes.
pub fn holds(conn: &mut DbConn, sha256: &str) -> QueryResult<bool> {
    documents::table.filter(documents::sha256.eq(sha256)).count().get_result::<i64>(conn).map(|n| n > 0)
}

/// The distinct contents stored, by their SHA-256, after `after`, in order: a page of them.
pub fn contents_after(conn: &mut DbConn, after: &str, limit: i64) -> QueryResult<Vec<(String, i64)>> {
    documents::table
        .filter(documents::sha256.gt(after))
        .select((documents::sha256, documents::size))
        .distinct()
        .order(documents::sha256.asc())
        .limit(limit)
        .load(conn)
}
