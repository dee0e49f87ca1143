//! The documents' bytes, kept by their SHA-256 (`sha256/ab/abcd...`): in a folder, the
//! default, beside a SQLite database; or in an S3-compatible bucket (`s3://bucket/prefix`,
//! configured by the usual `AWS_*` variables), which several nodes share. The same bytes
//! uploaded twice are kept once.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::DatabaseUrl;

/// Where documents are kept.
#[derive(Clone)]
pub struct Files {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// The store as configured, for messages (without credentials: they come from the
    /// environment, never from the URL).
    url: String,
}

/// Why the documents store did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("the document's bytes are not in the store")]
    Missing,
    #[error("the documents store failed: {0}")]
    Store(String),
}

impl From<object_store::Error> for FilesError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => FilesError::Missing,
            other => FilesError::Store(other.to_string()),
        }
    }
}

impl Files {
    /// The store a URL names: `s3://bucket/prefix`, or a folder (`file:///path` or a plain
    /// path), created if missing.
    pub fn open(url: &str) -> Result<Files, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{url:?} names no bucket: use s3://bucket or s3://bucket/prefix"));
            }
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| format!("cannot use the documents store {url}: {e}"))?;
            return Ok(Files { store: Arc::new(store), prefix: Path::from(prefix), url: url.to_owned() });
        }
        let folder = url.strip_prefix("file://").unwrap_or(url);
        if folder.is_empty() || url.contains("://") && !url.starts_with("file://") {
            return Err(format!("{url:?} is not a documents store: use a folder or s3://bucket/prefix"));
        }
        std::fs::create_dir_all(folder).map_err(|e| format!("cannot create {folder}: {e}"))?;
        let store =
            LocalFileSystem::new_with_prefix(folder).map_err(|e| format!("cannot use {folder}: {e}"))?;
        Ok(Files { store: Arc::new(store), prefix: Path::default(), url: url.to_owned() })
    }

    /// The store used when none is configured: a folder beside a SQLite database
    /// (`lienganh.db.documents`), else `lienganh-documents` in the working directory.
    pub fn default_url(database_url: &str) -> String {
        match DatabaseUrl::parse(database_url).ok().and_then(|u| u.sqlite_path()) {
            Some(db) => Files::beside(&db).display().to_string(),
            None => "lienganh-documents".into(),
        }
    }

    /// The folder that keeps the documents of a SQLite database at `db` by default: its name
    /// with `.documents` added.
    pub fn beside(db: &std::path::Path) -> std::path::PathBuf {
        let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".documents");
        db.with_file_name(name)
    }

    /// The store as configured.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The folder of a local store, for a backup to copy; none for a bucket.
    pub fn folder(&self) -> Option<std::path::PathBuf> {
        (!self.url.starts_with("s3://"))
            .then(|| std::path::PathBuf::from(self.url.strip_prefix("file://").unwrap_or(&self.url)))
    }

    fn path(&self, sha256: &str) -> Path {
        let fan = sha256.get(..2).unwrap_or("00");
        self.prefix.clone().join("sha256").join(fan).join(sha256)
    }

    /// Keeps `bytes` under their SHA-256. Written again when they are there already: the time
    /// they were last written is what keeps them from removal (see the jobs' `documents`).
    pub async fn put(&self, sha256: &str, bytes: Bytes) -> Result<(), FilesError> {
        self.store.put(&self.path(sha256), bytes.into()).await?;
        Ok(())
    }

    /// The bytes kept under a SHA-256.
    pub async fn get(&self, sha256: &str) -> Result<Bytes, FilesError> {
        Ok(self.store.get(&self.path(sha256)).await?.bytes().await?)
    }

    /// When the bytes kept under a SHA-256 were last written; none when they are not there.
    pub async fn modified(&self, sha256: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, FilesError> {
        match self.store.head(&self.path(sha256)).await {
            Ok(meta) => Ok(Some(meta.last_modified)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the bytes kept under a SHA-256; nothing to remove is not an error.
    pub async fn delete(&self, sha256: &str) -> Result<(), FilesError> {
        match self.store.delete(&self.path(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
