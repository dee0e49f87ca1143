//! A form as the console posts it: its fields, and the files it carries when it holds a
//! document field (`multipart/form-data`); URL-encoded otherwise.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use bytes::{Bytes, BytesMut};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;

use serde_json::{Map, Value};

use super::i18n::Lang;
use super::session::ConsoleError;
use crate::engine::definition::{DataField, DataType};
use crate::engine::step::Actor;
use crate::error::{ApiError, ErrorCode};
use crate::http::api::documents::{keep, Received};
use crate::http::api::AppState;

/// A file the form carried.
pub struct PostedFile {
    /// The form's field, such as `d.judgment_file`.
    pub field: String,
    pub name: String,
    pub declared: Option<String>,
    pub bytes: Bytes,
}

/// A posted form: its fields in order, and its files.
pub struct Posted {
    pub fields: Vec<(String, String)>,
    pub files: Vec<PostedFile>,
}

impl Posted {
    /// The files posted for a field.
    pub fn files_of<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a PostedFile> {
        self.files.iter().filter(move |f| f.field == field)
    }
}

fn too_large(what: &str, max: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("{what} is larger than {max} bytes"))
}

async fn read(req: HttpRequest, mut payload: Payload) -> Result<Posted, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let max_files = state.as_ref().map_or(25 * 1024 * 1024, |s| s.max_document_bytes);
    let max_fields = state.as_ref().map_or(512 * 1024, |s| s.max_body_bytes);
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.starts_with("multipart/form-data") {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("the form broke off: {e}")))?;
            if body.len() + chunk.len() > max_fields {
                return Err(too_large("the form", max_fields));
            }
            body.extend_from_slice(&chunk);
        }
        let fields = serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::bad_request(format!("the form cannot be read: {e}")))?;
        return Ok(Posted { fields, files: Vec::new() });
    }
    let mut parts = actix_multipart::Multipart::new(req.headers(), payload);
    let mut posted = Posted { fields: Vec::new(), files: Vec::new() };
    let mut text_bytes = 0;
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|e| ApiError::bad_request(format!("the form cannot be read: {e}")))?;
        let Some(field) = part.name().map(str::to_owned) else { continue };
        let file_name = part.content_disposition().and_then(|d| d.get_filename()).map(str::to_owned);
        let declared = part.content_type().map(|t| t.essence_str().to_owned());
        let max = if file_name.is_some() { max_files } else { max_fields };
        let mut bytes = BytesMut::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("the form broke off: {e}")))?;
            if bytes.len() + chunk.len() > max {
                return Err(too_large(file_name.as_deref().unwrap_or("the form"), max));
            }
            bytes.extend_from_slice(&chunk);
        }
        match file_name {
            // A file input left empty posts a part with no name and no bytes.
            Some(name) if name.is_empty() && bytes.is_empty() => {}
            Some(name) => posted.files.push(PostedFile { field, name, declared, bytes: bytes.freeze() }),
            None => {
                text_bytes += bytes.len();
                if text_bytes > max_fields {
                    return Err(too_large("the form", max_fields));
                }
                let value = String::from_utf8(bytes.to_vec())
                    .map_err(|_| ApiError::bad_request(format!("{field} is not UTF-8")))?;
                posted.fields.push((field, value));
            }
        }
    }
    Ok(posted)
}

/// Keeps the files posted for the document fields among `fields`: each such field's
/// document ids (a list for a field that takes several), to put in the step's data, and the
/// SHA-256 of what was posted, which names the same files posted again the same way.
pub async fn keep_documents(
    state: &AppState,
    actor: &Actor,
    fields: &[DataField],
    posted: &Posted,
) -> Result<(Map<String, Value>, Map<String, Value>), ApiError> {
    let (mut ids, mut digests) = (Map::new(), Map::new());
    for f in fields.iter().filter(|f| f.kind == DataType::Document) {
        let mut kept = Vec::new();
        for file in posted.files_of(&format!("d.{}", f.name)) {
            let received = Received {
                bytes: file.bytes.clone(),
                declared: file.declared.clone(),
                name: Some(file.name.clone()),
            };
            kept.push(keep(state, actor.clone(), received).await?);
        }
        if kept.is_empty() {
            continue;
        }
        let (id, digest): (Vec<Value>, Vec<Value>) =
            kept.into_iter().map(|d| (Value::String(d.id), Value::String(d.sha256))).unzip();
        if f.multiple {
            ids.insert(f.name.clone(), Value::Array(id));
            digests.insert(f.name.clone(), Value::Array(digest));
        } else {
            ids.insert(f.name.clone(), id.into_iter().next().unwrap_or(Value::Null));
            digests.insert(f.name.clone(), digest.into_iter().next().unwrap_or(Value::Null));
        }
    }
    Ok((ids, digests))
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let lang = Lang::of(&req);
            read(req, payload).await.map_err(|e| ConsoleError::Api(e, lang))
        })
    }
}
