//! Documents: uploaded before the step that hands them over, downloaded as they were.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::problems::*;
use super::{parse_id, AppState};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::cases;
use crate::service::documents::{self, Document, Upload};
use crate::store::files::FilesError;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, as it is to be shown; for a multipart upload, the part's file name.
    pub name: Option<String>,
}

/// A file's bytes, as the OpenAPI document describes a body or an answer that is one file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// A `multipart/form-data` upload: the first part that carries a file name is taken.
#[derive(ToSchema)]
pub struct UploadForm {
    /// The file, with its name and type as the part gives them.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A file as received: its bytes, the type it is said to be, and its name.
pub struct Received {
    pub bytes: Bytes,
    pub declared: Option<String>,
    pub name: Option<String>,
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("a document is at most {max} bytes"))
}

/// Reads a body of at most `max` bytes.
async fn read_body(mut payload: web::Payload, max: usize) -> ApiResult<Bytes> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
        if bytes.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// Reads the first file of a `multipart/form-data` body.
async fn read_multipart(req: &HttpRequest, payload: web::Payload, max: usize) -> ApiResult<Received> {
    let mut parts = actix_multipart::Multipart::new(req.headers(), payload);
    while let Some(part) = parts.next().await {
        let mut part =
            part.map_err(|e| ApiError::bad_request(format!("the multipart body cannot be read: {e}")))?;
        let name = part.content_disposition().and_then(|d| d.get_filename()).map(str::to_owned);
        if name.is_none() {
            continue;
        }
        let declared = part.content_type().map(|t| t.essence_str().to_owned());
        let mut bytes = BytesMut::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
            if bytes.len() + chunk.len() > max {
                return Err(too_large(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(Received { bytes: bytes.freeze(), declared, name });
    }
    Err(ApiError::bad_request("the multipart body holds no file"))
}

/// Keeps an upload: its bytes in the documents store, then what it is in the database.
pub async fn keep(state: &AppState, actor: Actor, received: Received) -> ApiResult<Document> {
    documents::check_uploader(&actor)?;
    if received.bytes.is_empty() {
        return Err(ApiError::validation("the document is empty", Vec::new()));
    }
    let media_type = documents::identify(received.declared.as_deref(), &received.bytes)?;
    let name = documents::file_name(received.name.as_deref())?;
    let sha256 = documents::sha256(&received.bytes);
    let size = received.bytes.len();
    state.files.put(&sha256, received.bytes).await.map_err(files_error)?;
    let kept = Upload { sha256, size, media_type, name };
    state.write(move |conn, _| documents::record_upload(conn, &actor, kept)).await
}

fn files_error(e: FilesError) -> ApiError {
    tracing::error!(error = %e, "documents store");
    match e {
        FilesError::Missing => ApiError::new(
            ErrorCode::ServiceUnavailable,
            "the document's bytes are missing from the documents store; an administrator must restore them",
        ),
        FilesError::Store(_) => {
            ApiError::new(ErrorCode::ServiceUnavailable, "the documents store is out of reach")
        }
    }
}

/// Uploads a document, to be handed over by naming its id in a step's data.
///
/// Any authenticated caller acting for a party (auditors and admins upload nothing: 403). The
/// body is the file itself, or `multipart/form-data` with one file part. Its type is read from
/// its bytes: PDF, JPEG, PNG, or UTF-8 text. The body may be sent as `application/octet-stream`,
/// or under the file's own type (`application/pdf`, `image/jpeg`, `image/png`, `text/plain`),
/// which must then agree with the bytes (415 `document_type_mismatch` otherwise); any other
/// type of file is 415 `unsupported_media_type`. An empty file is 422 `validation_failed`; one
/// larger than the service takes, 413. `name` gives the file's name (for a multipart upload,
/// in place of the part's).
///
/// The document belongs to the caller's agency until a step of one of its instances takes it:
/// only then can those who see that instance download it. Each document is taken by one step
/// only; the step records its SHA-256.
#[utoipa::path(
    post,
    operation_id = "uploadDocument",
    tag = "documents",
    params(UploadQuery),
    request_body(
        description = "The file's bytes (their type is read from them), or multipart/form-data with one file",
        content(
            (FileBytes = "application/octet-stream"),
            (UploadForm = "multipart/form-data"),
        )
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The document kept, with its id to name in a step", body = Document, headers(("Location" = String, description = "The document, downloadable once a step has taken it"))),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/documents")]
pub async fn upload(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    q: web::Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let max = state.max_document_bytes;
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let received = match declared.as_deref() {
        Some(t) if t.starts_with("multipart/form-data") => {
            let mut received = read_multipart(&req, payload, max).await?;
            received.name = q.into_inner().name.or(received.name);
            received
        }
        _ => Received { bytes: read_body(payload, max).await?, declared, name: q.into_inner().name },
    };
    let document = keep(&state, actor, received).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/documents/{}", document.id)))
        .json(document))
}

/// Downloads a document, as it was uploaded, to anyone who can see an instance that took it.
///
/// For those who see an instance whose step took the document (404 for anyone else, and for a
/// document no step took yet). It is always an attachment, never shown in place, with its
/// name and its own type; the `ETag` is its SHA-256. A download by someone beyond the case's
/// own office and court is recorded among the reads of its personal data. 503 when the
/// documents store is out of reach or has lost the bytes.
#[utoipa::path(
    get,
    operation_id = "downloadDocument",
    tag = "documents",
    params(("id" = String, Path, description = "Document id (UUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The document's bytes, with the type read from them at upload (PDF, JPEG, PNG or plain text); its SHA-256 is the ETag. `application/octet-stream` comes first so that a client generated from this document reads bytes whatever the type",
            content((FileBytes = "application/octet-stream"), (FileBytes = "application/pdf"), (FileBytes = "image/jpeg"), (FileBytes = "image/png"), (FileBytes = "text/plain")),
            headers(("ETag" = String, description = "The document's SHA-256"), ("Content-Disposition" = String, description = "Always an attachment, with the document's name"))),
        Unauthorized, NotFound, Unavailable
    )
)]
#[get("/documents/{id}")]
pub async fn download(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    send(&state, actor, &id).await
}

/// A document's bytes as an attachment, to `actor` if they may see an instance that took it.
pub async fn send(state: &AppState, actor: Actor, id: &str) -> ApiResult<HttpResponse> {
    let id = parse_id(id, "document")?;
    let reader = actor.clone();
    let (row, read) = state.read(move |conn, _| documents::for_download(conn, &reader, id)).await?;
    if let Some(read) = read {
        state.write(move |conn, _| cases::record_reads(conn, &[read])).await?;
    }
    let bytes = state.files.get(&row.sha256).await.map_err(files_error)?;
    let ascii: String =
        row.name.chars().map(|c| if c.is_ascii_graphic() && c != '"' { c } else { '_' }).collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: row.name.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(row.media_type.as_str())
        .insert_header(disposition)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::ETAG, format!("\"{}\"", row.sha256)))
        .body(bytes))
}
