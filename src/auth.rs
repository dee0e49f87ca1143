//! Identity: HS256 tokens with `sub`, `name`, `agency`, `roles`, `exp`, `iat`, `iss`, `aud`,
//! verified with the algorithm pinned, and the `Actor` extractor that every API handler takes.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::{AgencyCode, Role};
use crate::error::ApiError;
use crate::workflow::engine::Actor;

/// The claims of a lienganh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub roles: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
}

/// The keys and rules for issuing and checking tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 30;
        validation.validate_nbf = true;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// The keys the settings name: the configured secret, or the one kept beside the database
    /// (created on first use, readable by its owner only).
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let secret = match &settings.jwt_secret {
            Some(s) if s.len() >= 32 => s.as_bytes().to_vec(),
            Some(_) => return Err("LIENGANH_JWT_SECRET must be at least 32 characters".into()),
            None => secret_from_file(&settings.secret_file())?,
        };
        Ok(Self::new(&secret, &settings.jwt_issuer, &settings.jwt_audience))
    }

    /// Signs a token for the given identity, valid for `ttl`.
    pub fn issue(
        &self,
        sub: &str,
        name: &str,
        agency: &AgencyCode,
        roles: &[Role],
        ttl: Duration,
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            name: name.to_owned(),
            agency: agency.to_string(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            exp: now + ttl.as_secs() as i64,
            iat: now,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Checks a token and turns it into the actor it names.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        let c = data.claims;
        let agency = AgencyCode::parse(&c.agency)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        let roles = c
            .roles
            .iter()
            .map(|r| r.parse::<Role>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        if c.sub.trim().is_empty() || roles.is_empty() {
            return Err(ApiError::unauthorized("invalid token: it needs a subject and a role"));
        }
        Ok(Actor { sub: c.sub, name: c.name, agency, roles })
    }
}

/// Reads the secret kept at `path`, creating it on first use.
fn secret_from_file(path: &Path) -> Result<Vec<u8>, String> {
    match read_secret(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_secret(path),
        other => other.map_err(|e| format!("cannot read the token secret {}: {e}", path.display()))?,
    }
}

fn read_secret(path: &Path) -> std::io::Result<Result<Vec<u8>, String>> {
    let text = fs::read_to_string(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the token secret is readable by others; chmod 600 it");
        }
    }
    let secret = text.trim();
    Ok(if secret.len() >= 32 {
        Ok(secret.as_bytes().to_vec())
    } else {
        Err(format!("{} holds no usable secret; delete it to make a new one", path.display()))
    })
}

/// Writes a new random secret to a private temporary file, then links it into place, so no
/// process ever reads a half-written secret; if another process made one first, uses theirs.
fn create_secret(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(secret.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new token secret");
            Ok(secret.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_secret(path).map_err(|e| format!("cannot read the token secret {}: {e}", path.display()))?
        }
        Err(e) => Err(format!("cannot create the token secret {}: {e}", path.display())),
    }
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Ready<Result<Actor, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(keys) = req.app_data::<web::Data<JwtKeys>>() else {
            return ready(Err(ApiError::internal("token keys are not configured")));
        };
        let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
        let token = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")));
        ready(match token {
            Some(token) => keys.verify(token.trim()),
            None => Err(ApiError::unauthorized("send a bearer token in the Authorization header")),
        })
    }
}

/// Parses a duration such as `8h`, `30m`, `2d` or `3600s`.
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("{raw:?} is not a duration such as 8h"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("{raw:?}: use s, m, h or d")),
    };
    if secs == 0 {
        return Err("a token must live longer than zero".into());
    }
    Ok(Duration::from_secs(secs))
}
