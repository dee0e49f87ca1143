//! Settings, built once at start and passed in: defaults, then an optional TOML file, then
//! `LIENGANH_*` environment variables, each overriding the one before.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::store::DatabaseUrl;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// `sqlite://PATH` or `postgres://...`.
    pub database_url: String,
    /// A file holding the database URL (with its password), read in place of `database_url`:
    /// for secrets kept in files, as systemd's credentials or a container's secrets are.
    pub database_url_file: Option<PathBuf>,
    /// Address to listen on.
    pub bind: String,
    /// HS256 secret for tokens; when absent, a random one is kept in a file beside the database.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<String>,
    /// A file holding the HS256 secret, read in place of `jwt_secret`.
    pub jwt_secret_file: Option<PathBuf>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// A PEM file holding the public key of an identity provider (RSA, EC P-256/P-384 or
    /// Ed25519); tokens it signs are accepted beside the local ones, with the same issuer and
    /// audience.
    pub jwt_public_key_file: Option<PathBuf>,
    /// The one algorithm that key checks (`RS256`, `RS384`, `RS512`, `PS256`, `PS384`,
    /// `PS512`, `ES256`, `ES384` or `EdDSA`); when absent, taken from the key: RSA RS256,
    /// EC ES256, Ed25519 EdDSA.
    pub jwt_public_key_algorithm: Option<String>,
    /// Whether tokens signed with the local HS256 secret (as `lienganh token` issues them) are
    /// accepted. Turn off in production once an identity provider issues the tokens.
    pub jwt_local_tokens: bool,
    /// The JWKS URL of an identity provider: tokens signed by the keys it publishes (chosen by
    /// the token's `kid`) are accepted, with the same issuer and audience.
    pub jwt_jwks_url: Option<String>,
    /// The longest, in seconds, the provider's keys are kept before they are fetched again
    /// (a shorter `Cache-Control: max-age` of the provider wins).
    pub jwt_jwks_refresh_seconds: u64,
    /// The shortest time, in seconds, between two fetches of the provider's keys, whatever
    /// tokens arrive naming keys not held.
    pub jwt_jwks_cooldown_seconds: u64,
    /// The claim of a token (or ID token) that carries the agency code: a name, or a dotted
    /// path such as `attributes.agency`.
    pub jwt_agency_claim: String,
    /// The claim that carries the roles: a name, or a dotted path such as
    /// `realm_access.roles`.
    pub jwt_roles_claim: String,
    /// When set, only the role names that start with it count (`lienganh:` for groups such as
    /// `lienganh:enforcement_officer`).
    pub jwt_role_prefix: Option<String>,
    /// The issuer of an OpenID provider the console signs in through (its discovery document
    /// is at `{issuer}/.well-known/openid-configuration`).
    pub oidc_issuer: Option<String>,
    /// The console's client id at the provider.
    pub oidc_client_id: Option<String>,
    /// The client's secret; none for a public client (PKCE alone).
    #[serde(skip_serializing)]
    pub oidc_client_secret: Option<String>,
    /// A file holding the client's secret, read in place of `oidc_client_secret`.
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Where the provider sends the browser back: `https://HOST/console/oidc/callback`.
    pub oidc_redirect_url: Option<String>,
    /// How the sign-in page names the provider ("Đăng nhập qua ...").
    pub oidc_name: String,
    /// Whether the console also signs in with its own passwords; off once every user signs in
    /// through the provider.
    pub console_local_passwords: bool,
    /// Folder of workflow definitions.
    pub workflows: PathBuf,
    /// When the reminder sweeper wakes (cron with seconds).
    pub reminder_cron: String,
    /// Database connections for reads (and, on PostgreSQL, writes).
    pub pool_size: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Where documents are kept: a folder, or `s3://bucket/prefix` for several nodes (the
    /// `AWS_*` variables configure the bucket's endpoint and keys). A folder beside the SQLite
    /// database when absent.
    pub documents_url: Option<String>,
    /// Largest document accepted, in bytes.
    pub max_document_bytes: usize,
    /// A bearer token that scrapers of `/metrics` must show; the metrics are open without it.
    #[serde(skip_serializing)]
    pub metrics_token: Option<String>,
    /// A file holding the metrics token, read in place of `metrics_token`.
    pub metrics_token_file: Option<PathBuf>,
    /// Seconds that requests in flight are given to finish once the service is told to stop.
    pub shutdown_timeout: u64,
    /// Marks the console's cookies Secure whatever the request's scheme looks like: for a
    /// service behind a TLS proxy that does not say it forwarded HTTPS.
    pub console_secure_cookies: bool,
    /// How the completion rate of cases counts a terminated case: `denominator` (in the
    /// enforceable cases only, the default) or `resolved` (with the completed).
    pub statistics_terminated: crate::service::reports::TerminatedCount,
    /// How it counts a case entrusted to another office: `denominator` (kept among the
    /// enforceable, the default) or `excluded` (left out; the receiving office counts it).
    pub statistics_entrusted: crate::service::reports::EntrustedCount,
    /// Hours an answer to a request with an `Idempotency-Key` is kept (a retry within them
    /// gets it again); then it is removed, within the hour.
    pub idempotency_retention_hours: u64,
}

impl Default for Settings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
        Self {
            database_url: "sqlite://lienganh.db".into(),
            database_url_file: None,
            bind: "127.0.0.1:8080".into(),
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_issuer: "lienganh".into(),
            jwt_audience: "lienganh-api".into(),
            jwt_public_key_file: None,
            jwt_public_key_algorithm: None,
            jwt_local_tokens: true,
            jwt_jwks_url: None,
            jwt_jwks_refresh_seconds: 600,
            jwt_jwks_cooldown_seconds: 30,
            jwt_agency_claim: "agency".into(),
            jwt_roles_claim: "roles".into(),
            jwt_role_prefix: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_client_secret_file: None,
            oidc_redirect_url: None,
            oidc_name: "SSO".into(),
            console_local_passwords: true,
            workflows: PathBuf::from("workflows"),
            reminder_cron: "0 * * * * *".into(),
            pool_size: (cores * 4).clamp(4, 32),
            max_body_bytes: 512 * 1024,
            documents_url: None,
            max_document_bytes: 25 * 1024 * 1024,
            metrics_token: None,
            metrics_token_file: None,
            shutdown_timeout: 30,
            console_secure_cookies: false,
            statistics_terminated: Default::default(),
            statistics_entrusted: Default::default(),
            idempotency_retention_hours: 48,
        }
    }
}

impl Settings {
    /// Reads the settings: `file` if given (or `lienganh.toml` if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(format!("configuration file {} does not exist", path.display()))
            }
            Some(path) => figment = figment.merge(Toml::file(path)),
            None => figment = figment.merge(Toml::file("lienganh.toml")),
        }
        let mut settings: Settings = figment
            .merge(Env::prefixed("LIENGANH_").ignore(&["config", "test_postgres_url"]))
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        settings.read_secret_files()?;
        DatabaseUrl::parse(&settings.database_url)?;
        Ok(settings)
    }

    /// Reads each secret given as a file (`LIENGANH_JWT_SECRET_FILE` and the like) into its
    /// setting; a secret given both ways is refused, rather than one silently winning.
    fn read_secret_files(&mut self) -> Result<(), String> {
        fn read(path: &Path, name: &str) -> Result<String, String> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {name}_file {}: {e}", path.display()))?;
            let value = text.trim_end_matches(['\r', '\n']).to_owned();
            if value.is_empty() {
                return Err(format!("{name}_file {} is empty", path.display()));
            }
            Ok(value)
        }
        if let Some(path) = &self.jwt_secret_file {
            if self.jwt_secret.is_some() {
                return Err("give jwt_secret or jwt_secret_file, not both".into());
            }
            self.jwt_secret = Some(read(path, "jwt_secret")?);
        }
        if let Some(path) = &self.oidc_client_secret_file {
            if self.oidc_client_secret.is_some() {
                return Err("give oidc_client_secret or oidc_client_secret_file, not both".into());
            }
            self.oidc_client_secret = Some(read(path, "oidc_client_secret")?);
        }
        if let Some(path) = &self.metrics_token_file {
            if self.metrics_token.is_some() {
                return Err("give metrics_token or metrics_token_file, not both".into());
            }
            self.metrics_token = Some(read(path, "metrics_token")?);
        }
        if let Some(path) = &self.database_url_file {
            if self.database_url != Settings::default().database_url {
                return Err("give database_url or database_url_file, not both".into());
            }
            self.database_url = read(path, "database_url")?;
        }
        Ok(())
    }

    /// How long remembered answers are kept, in microseconds.
    pub fn idempotency_retention_micros(&self) -> i64 {
        i64::try_from(self.idempotency_retention_hours.saturating_mul(3_600_000_000)).unwrap_or(i64::MAX)
    }

    /// The holiday calendar: `calendar/holidays.toml` in the workflows folder.
    pub fn calendar_file(&self) -> PathBuf {
        self.workflows.join("calendar").join("holidays.toml")
    }

    /// Where documents are kept: as configured, or (when not, or configured empty) a folder
    /// beside the SQLite database.
    pub fn documents_url(&self) -> String {
        self.documents_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| crate::store::files::Files::default_url(&self.database_url))
    }

    /// Where the generated token secret lives: beside a SQLite database file, else in the
    /// working directory.
    pub fn secret_file(&self) -> PathBuf {
        match DatabaseUrl::parse(&self.database_url).ok().and_then(|u| u.sqlite_path()) {
            Some(db) => {
                let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                name.push(".jwt-secret");
                db.with_file_name(name)
            }
            None => PathBuf::from("lienganh.jwt-secret"),
        }
    }
}
