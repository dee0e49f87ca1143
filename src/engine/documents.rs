//! The documents a step names: checked against the store's record of each, and recorded in
//! the step's event by what proves which bytes were handed over (their SHA-256), with their
//! name, type and size.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::definition::{DataField, DataType};
use super::step::Refusal;
use crate::domain::AgencyCode;
use crate::error::FieldError;

/// A document as stored, as a step may name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub id: String,
    pub sha256: String,
    pub name: String,
    /// As read from its bytes when it was uploaded.
    pub media_type: String,
    pub size: u64,
    /// The agency that uploaded it.
    pub agency: AgencyCode,
    /// Whether a step has named it already.
    pub used: bool,
}

/// What is wrong with a document a step names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentProblem {
    /// No document has that id.
    Unknown,
    /// Another agency uploaded it.
    Foreign,
    /// A step has named it already.
    Used,
    /// Its bytes are of a type the field does not accept.
    TypeNotAccepted,
    /// It is larger than the field accepts.
    TooLarge,
}

/// A document a step takes: marked as used by the step when the step is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentUse {
    pub id: String,
    /// The field that names it.
    pub field: String,
}

/// What a step's event and its instance's data keep of a document.
pub fn record_of(d: &StoredDocument) -> Value {
    json!({"id": d.id, "sha256": d.sha256, "name": d.name, "media_type": d.media_type, "size": d.size})
}

/// The ids a step's data names in its document fields (as validated: one id, or a list).
pub fn named<'a>(fields: &'a [DataField], data: &'a Map<String, Value>) -> impl Iterator<Item = &'a str> {
    fields.iter().filter(|f| f.kind == DataType::Document).flat_map(move |f| {
        let value = data.get(&f.name);
        let list = value.and_then(Value::as_array).map(|l| l.iter().collect::<Vec<_>>());
        list.unwrap_or_else(|| value.into_iter().collect()).into_iter().filter_map(Value::as_str)
    })
}

/// Replaces the ids that `data`'s document fields name by the record of each document, if
/// every one is known, uploaded by `agency`, not yet used, of a type and size its field takes.
pub(super) fn resolve(
    fields: &[DataField],
    data: &mut Map<String, Value>,
    documents: &BTreeMap<String, StoredDocument>,
    agency: &AgencyCode,
) -> Result<Vec<DocumentUse>, Refusal> {
    let mut uses = Vec::new();
    let mut errors = Vec::new();
    let mut first: Option<DocumentProblem> = None;
    for field in fields.iter().filter(|f| f.kind == DataType::Document) {
        let Some(value) = data.get_mut(&field.name) else { continue };
        let path = format!("data.{}", field.name);
        let ids: Vec<String> = match value {
            Value::Array(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Value::String(id) => vec![id.clone()],
            _ => continue,
        };
        let mut records = Vec::new();
        for id in ids {
            let problem = match documents.get(&id) {
                None => Some((DocumentProblem::Unknown, format!("no document {id}: upload it first"))),
                Some(d) if d.agency != *agency => {
                    Some((DocumentProblem::Foreign, format!("document {id} was uploaded by another agency")))
                }
                Some(_) if uses.iter().any(|u: &DocumentUse| u.id == id) => {
                    Some((DocumentProblem::Used, format!("document {id} is named twice in this step")))
                }
                Some(d) if d.used => {
                    Some((DocumentProblem::Used, format!("document {id} was handed over with another step")))
                }
                Some(d) if !field.media_types.is_empty() && !field.media_types.contains(&d.media_type) => {
                    Some((
                        DocumentProblem::TypeNotAccepted,
                        format!(
                            "document {id} is {}; this field takes {}",
                            d.media_type,
                            field.media_types.join(", ")
                        ),
                    ))
                }
                Some(d) if field.max_bytes.is_some_and(|max| d.size > max) => Some((
                    DocumentProblem::TooLarge,
                    format!(
                        "document {id} is {} bytes; this field takes at most {}",
                        d.size,
                        field.max_bytes.unwrap_or_default()
                    ),
                )),
                Some(d) => {
                    records.push(record_of(d));
                    uses.push(DocumentUse { id: id.clone(), field: field.name.clone() });
                    None
                }
            };
            if let Some((kind, reason)) = problem {
                first.get_or_insert(kind);
                errors.push(FieldError::new(path.clone(), reason));
            }
        }
        *value = if field.multiple { Value::Array(records) } else { records.pop().unwrap_or(Value::Null) };
    }
    match first {
        None => Ok(uses),
        Some(problem) => Err(Refusal::Document { problem, errors }),
    }
}
