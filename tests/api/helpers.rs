//! Test harness: a real server on a free port, over a fresh database per test.
//!
//! SQLite always (a file in a temporary folder); PostgreSQL too when
//! `LIENGANH_TEST_POSTGRES_URL` is set, each test in a schema of its own, dropped afterwards.
#![allow(dead_code)]

use std::net::TcpListener;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use lienganh::config::Settings;
use lienganh::domain::{AgencyCode, Role};
use lienganh::http::auth::JwtKeys;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

/// A small PDF, unique by its `label` and a random part: a document is taken by one step only.
pub fn pdf(label: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n% {label} {}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        uuid::Uuid::new_v4()
    )
    .into_bytes()
}

pub const SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run every test against.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if std::env::var("LIENGANH_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        all.push(Backend::Postgres);
    }
    all
}

/// Drops a test's PostgreSQL schema when the test ends.
pub struct PgSchema {
    admin_url: String,
    name: String,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pub keys: JwtKeys,
    _dir: tempfile::TempDir,
    _schema: Option<PgSchema>,
}

pub fn settings_for(database_url: &str) -> Settings {
    Settings {
        database_url: database_url.to_owned(),
        bind: "127.0.0.1:0".into(),
        jwt_secret: Some(SECRET.into()),
        workflows: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows"),
        pool_size: 4,
        ..Settings::default()
    }
}

/// A database URL of a fresh, empty database for one test.
pub fn fresh_database(backend: Backend, dir: &std::path::Path) -> (String, Option<PgSchema>) {
    match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.join("test.db").display()), None),
        Backend::Postgres => {
            let admin_url = std::env::var("LIENGANH_TEST_POSTGRES_URL").expect("postgres url");
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&admin_url).expect("connect to the test PostgreSQL");
            conn.batch_execute(&format!("CREATE SCHEMA {name}")).expect("create schema");
            let sep = if admin_url.contains('?') { '&' } else { '?' };
            let url = format!("{admin_url}{sep}options=-csearch_path%3D{name}");
            (url, Some(PgSchema { admin_url, name }))
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// A server with settings changed by `configure`; the agencies are seeded when local tokens
/// are accepted.
pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut app = unserved(backend);
    let mut settings = settings_for(&app.database_url);
    // The documents of each test in its own folder, on either backend.
    settings.documents_url = Some(app.documents().display().to_string());
    configure(&mut settings);
    app.keys = JwtKeys::new(SECRET.as_bytes(), &settings.jwt_issuer, &settings.jwt_audience);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = lienganh::http::server::build(&settings, listener).expect("server starts");
    tokio::spawn(server);
    app.base = format!("http://127.0.0.1:{port}");
    if settings.jwt_local_tokens {
        app.seed_agencies().await;
    }
    app
}

/// A fresh database and a client for it, with no server yet: a test of the binary starts
/// `lienganh serve` over `database_url`, sets `base`, and seeds the agencies.
pub fn unserved(backend: Backend) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, schema) = fresh_database(backend, dir.path());
    let settings = settings_for(&database_url);
    TestApp {
        backend,
        base: String::new(),
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
        database_url,
        keys: JwtKeys::new(SECRET.as_bytes(), &settings.jwt_issuer, &settings.jwt_audience),
        _dir: dir,
        _schema: schema,
    }
}

/// The agencies of the tests: a court, an enforcement office and a procuracy in Hà Nội, the
/// same in Lào Cai, and a police department.
pub const AGENCIES: &[(&str, &str, &str)] = &[
    ("TAND-HN", "court", "Tòa án nhân dân thành phố Hà Nội"),
    ("THADS-HN", "enforcement", "Thi hành án dân sự thành phố Hà Nội"),
    ("VKS-HN", "procuracy", "Viện kiểm sát nhân dân thành phố Hà Nội"),
    ("CA-HN", "police", "Công an thành phố Hà Nội"),
    ("TAND-LC", "court", "Tòa án nhân dân tỉnh Lào Cai"),
    ("THADS-LC", "enforcement", "Thi hành án dân sự tỉnh Lào Cai"),
    ("VKS-LC", "procuracy", "Viện kiểm sát nhân dân tỉnh Lào Cai"),
];

impl TestApp {
    /// The test's own temporary folder.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Where a server of `spawn` keeps its documents, on either backend: in the test's folder.
    pub fn documents(&self) -> std::path::PathBuf {
        self.dir().join("documents")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token(&self, sub: &str, agency: &str, roles: &[Role]) -> String {
        let agency = AgencyCode::parse(agency).expect("agency code");
        self.keys
            .issue(sub, &format!("User {sub}"), &agency, roles, Duration::from_secs(3600))
            .expect("token")
    }

    pub fn admin(&self) -> String {
        self.token("admin", "BTP", &[Role::Admin])
    }
    pub fn court(&self) -> String {
        self.token("court-1", "TAND-HN", &[Role::CourtLiaison])
    }
    pub fn officer(&self) -> String {
        self.token("officer-1", "THADS-HN", &[Role::EnforcementOfficer])
    }
    pub fn head(&self) -> String {
        self.token("head-1", "THADS-HN", &[Role::EnforcementHead])
    }
    pub fn procuracy(&self) -> String {
        self.token("vks-1", "VKS-HN", &[Role::ProcuracyInspector])
    }

    pub async fn seed_agencies(&self) {
        let admin = self.admin();
        for (code, kind, name) in AGENCIES {
            let r = self
                .post("/api/v1/agencies", &admin, &json!({"code": code, "kind": kind, "name": name}))
                .await;
            assert_eq!(r.status(), StatusCode::CREATED, "seeding {code}");
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.put(self.url(path)).bearer_auth(token).json(body).send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("request")
    }

    pub async fn post_with_key(&self, path: &str, token: &str, key: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Uploads `bytes` said to be `media_type`; returns the answer.
    pub async fn upload(&self, token: &str, bytes: Vec<u8>, media_type: &str) -> Response {
        self.client
            .post(self.url("/api/v1/documents?name=van-ban.pdf"))
            .bearer_auth(token)
            .header("Content-Type", media_type)
            .body(bytes)
            .send()
            .await
            .expect("request")
    }

    /// Uploads a small PDF of its own as the agency of `token`; returns its id.
    pub async fn upload_pdf(&self, token: &str) -> String {
        let r = self.upload(token, pdf("văn bản"), "application/pdf").await;
        let status = r.status();
        let body: Value = r.json().await.expect("json");
        assert_eq!(status, StatusCode::CREATED, "upload: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// `data` with a PDF of its own, uploaded as the agency of `token`, in `field`.
    pub async fn with_pdf(&self, token: &str, field: &str, mut data: Value) -> Value {
        data[field] = json!(self.upload_pdf(token).await);
        data
    }

    /// The data of the Hà Nội court's `transfer` step, with one listed document and the
    /// judgment's file, freshly uploaded as the court (a file is taken by one step only).
    pub async fn transfer_data(&self, description: &str) -> Value {
        self.with_pdf(&self.court(), "judgment_file", transfer_data(description)).await
    }

    /// A creation `request` with a PDF of its own, uploaded as the agency of `token`, in
    /// `data.field` (a procuracy instrument's signed file, say).
    pub async fn request_with_pdf(&self, token: &str, field: &str, mut request: Value) -> Value {
        request["data"][field] = json!(self.upload_pdf(token).await);
        request
    }

    /// Starts a court_transfer in Hà Nội as the court liaison; returns the instance.
    pub async fn start_transfer(&self, category: &str) -> Value {
        let r = self.post("/api/v1/instances", &self.court(), &transfer_request(category)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.expect("json")
    }

    /// Fires a step that must succeed (200) and checks that the deadlines its answer shows are
    /// the instance's as read back afterwards; returns the answer.
    pub async fn fire_ok(&self, id: &str, token: &str, transition: &str, version: i64, data: Value) -> Value {
        let r = self.fire(id, token, transition, version, data).await;
        let status = r.status();
        let answer: Value = r.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "{:?} {transition}: {answer}", self.backend);
        let read: Value =
            self.get(&format!("/api/v1/instances/{id}"), token).await.json().await.expect("json");
        assert_eq!(
            answer["deadlines"], read["deadlines"],
            "{:?} the deadlines {transition} answered",
            self.backend
        );
        answer
    }

    /// Fires a transition and returns the response.
    pub async fn fire(&self, id: &str, token: &str, transition: &str, version: i64, data: Value) -> Response {
        self.post(
            &format!("/api/v1/instances/{id}/transitions"),
            token,
            &json!({"transition": transition, "expected_version": version, "data": data}),
        )
        .await
    }

    /// Runs raw SQL against the test's database, as someone with direct access would.
    pub fn try_sql(&self, statement: &str) -> Result<(), String> {
        let mut conn = lienganh::store::direct(&self.database_url).expect("db");
        conn.batch_execute(statement).map_err(|e| e.to_string())
    }

    pub fn sql(&self, statement: &str) {
        self.try_sql(statement).expect("sql");
    }

    /// Removes the triggers that keep events append-only, as a database owner could.
    pub fn drop_append_only_guard(&self) {
        match self.backend {
            Backend::Sqlite => self.sql("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;"),
            Backend::Postgres => {
                self.sql("DROP TRIGGER events_no_update ON events; DROP TRIGGER events_no_delete ON events;")
            }
        }
    }
}

pub fn transfer_request(category: &str) -> Value {
    json!({
        "workflow": "court_transfer",
        "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {
            "judgment_number": "125/2026/KDTM-PT",
            "judgment_date": "2026-10-05",
            "effective_date": "2026-10-20",
            "category": category
        }
    })
}

/// The data of the court's `transfer` step, with one document.
pub fn transfer_data(description: &str) -> Value {
    json!({
        "transfer_date": "2026-10-25",
        "method": "post",
        "documents": [{"description": description, "quantity": "1", "unit": "bản"}]
    })
}

/// The data of the office's `register` step: every document received.
pub fn register_data(received_date: &str) -> Value {
    json!({
        "received_date": received_date,
        "register_number": "1024/NBA",
        "receipt": [{"item": 1, "status": "received"}]
    })
}

/// Asserts that `recorded` is what an instance's data or an event keeps of the uploaded
/// document `id`: its id, the SHA-256 of its bytes (64 hex digits), its name, type and size.
pub fn assert_document(recorded: &Value, id: &str, media_type: &str) {
    assert_eq!(recorded["id"], id, "{recorded}");
    let sha = recorded["sha256"].as_str().unwrap_or_default();
    assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()), "{recorded}");
    assert_eq!(recorded["media_type"], media_type, "{recorded}");
    assert!(recorded["size"].as_u64().is_some_and(|n| n > 0), "{recorded}");
    assert!(recorded["name"].as_str().is_some_and(|n| !n.is_empty()), "{recorded}");
}

/// Asserts two texts are equal, showing only the first line that differs.
pub fn assert_same_text(actual: &str, expected: &str, hint: &str) {
    if actual == expected {
        return;
    }
    let (a, e): (Vec<&str>, Vec<&str>) = (actual.lines().collect(), expected.lines().collect());
    let at = a.iter().zip(&e).position(|(x, y)| x != y).unwrap_or(a.len().min(e.len()));
    panic!(
        "{hint}\nfirst difference at line {}:\n  actual:   {:?}\n  expected: {:?}",
        at + 1,
        a.get(at).unwrap_or(&"<end>"),
        e.get(at).unwrap_or(&"<end>")
    );
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn expect_problem(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "expected {status} {code}");
    let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = r.json().await.expect("problem body");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    body
}
