//! Identity: tokens with `sub`, `name`, `agency`, `roles`, `exp`, `iat`, `iss`, `aud`, and
//! the `Actor` extractor that every API handler takes.
//!
//! Two kinds of key may check a token, each pinned to one algorithm: the local HS256 secret
//! (the tokens `lienganh token` issues), and optionally an identity provider's public key
//! (RS256, EdDSA and the like). A token is checked only by the key of the algorithm its header
//! names, and each key accepts only its own algorithm: an HS256 token is never checked against
//! the public key as if it were a shared secret, and a public-key token never against the secret.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::domain::{check_text, AgencyCode, Role};
use crate::engine::step::Actor;
use crate::error::ApiError;

/// Longest subject and display name a token may carry, in characters: they are written into
/// every history the actor touches.
pub const MAX_IDENTITY_TEXT: usize = 200;

/// The claims of a lienganh token. `name` may be left out (identity providers do not all give
/// one): the subject stands for it then.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub name: String,
    pub agency: String,
    pub roles: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
}

/// One key and the one algorithm it checks.
struct Verifier {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// The keys and rules for issuing and checking tokens.
pub struct JwtKeys {
    /// The local secret, when local tokens are issued and accepted.
    local: Option<EncodingKey>,
    verifiers: Vec<Verifier>,
    issuer: String,
    audience: String,
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation
}

impl JwtKeys {
    /// Local tokens only: HS256 with `secret`.
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        Self::without_local(issuer, audience).with_secret(secret)
    }

    /// No key yet: nothing is issued or accepted until one is added.
    pub fn without_local(issuer: &str, audience: &str) -> Self {
        Self { local: None, verifiers: Vec::new(), issuer: issuer.to_owned(), audience: audience.to_owned() }
    }

    fn with_secret(mut self, secret: &[u8]) -> Self {
        self.local = Some(EncodingKey::from_secret(secret));
        self.verifiers.push(Verifier {
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(secret),
            validation: validation(Algorithm::HS256, &self.issuer, &self.audience),
        });
        self
    }

    /// Also accepts tokens signed with `algorithm` by the holder of this public key.
    pub fn with_public_key(mut self, algorithm: Algorithm, key: DecodingKey) -> Result<Self, String> {
        if algorithm.family() == AlgorithmFamily::Hmac || algorithm.family() != key.family() {
            return Err(format!("{algorithm:?} cannot be checked with a {:?} public key", key.family()));
        }
        self.verifiers.retain(|v| v.algorithm != algorithm);
        let validation = validation(algorithm, &self.issuer, &self.audience);
        self.verifiers.push(Verifier { algorithm, key, validation });
        Ok(self)
    }

    /// The keys the settings name: the configured secret, or the one kept beside the database
    /// (created on first use, readable by its owner only), unless local tokens are turned off;
    /// and the identity provider's public key, if one is configured.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let mut keys = Self::without_local(&settings.jwt_issuer, &settings.jwt_audience);
        if settings.jwt_local_tokens {
            keys = keys.with_secret(&local_secret(settings)?);
        }
        if let Some(path) = &settings.jwt_public_key_file {
            let pem =
                fs::read(path).map_err(|e| format!("cannot read the public key {}: {e}", path.display()))?;
            let (algorithm, key) = public_key(&pem, settings.jwt_public_key_algorithm.as_deref())
                .map_err(|e| format!("the public key {}: {e}", path.display()))?;
            keys = keys.with_public_key(algorithm, key)?;
        }
        if keys.verifiers.is_empty() {
            return Err("local tokens are turned off and no public key is configured \
                (LIENGANH_JWT_PUBLIC_KEY_FILE): no token could be checked"
                .into());
        }
        Ok(keys)
    }

    /// The algorithms whose tokens are accepted.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.verifiers.iter().map(|v| v.algorithm).collect()
    }

    /// Signs a token for the given identity, valid for `ttl`, with the local secret.
    pub fn issue(
        &self,
        sub: &str,
        name: &str,
        agency: &AgencyCode,
        roles: &[Role],
        ttl: Duration,
    ) -> Result<String, String> {
        let Some(local) = &self.local else {
            return Err("local tokens are turned off (LIENGANH_JWT_LOCAL_TOKENS=false): \
                the identity provider issues the tokens"
                .into());
        };
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
        encode(&Header::new(Algorithm::HS256), &claims, local).map_err(|e| e.to_string())
    }

    /// Checks a token with the one key pinned to the algorithm its header names, and turns it
    /// into the actor it names.
    pub fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        let invalid = |e: &dyn std::fmt::Display| ApiError::unauthorized(format!("invalid token: {e}"));
        let header = decode_header(token).map_err(|e| invalid(&e))?;
        let Some(verifier) = self.verifiers.iter().find(|v| v.algorithm == header.alg) else {
            return Err(invalid(&format!("{:?} tokens are not accepted here", header.alg)));
        };
        let data = decode::<Claims>(token, &verifier.key, &verifier.validation).map_err(|e| invalid(&e))?;
        let c = data.claims;
        let agency = AgencyCode::parse(&c.agency).map_err(|e| invalid(&e))?;
        let roles = c
            .roles
            .iter()
            .map(|r| r.parse::<Role>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&e))?;
        let sub = c.sub.trim().to_owned();
        let name = match c.name.trim() {
            "" => sub.clone(),
            name => name.to_owned(),
        };
        if sub.is_empty() || roles.is_empty() {
            return Err(invalid(&"it needs a subject and a role"));
        }
        for (claim, value) in [("sub", &sub), ("name", &name)] {
            if value.chars().count() > MAX_IDENTITY_TEXT {
                return Err(invalid(&format!("{claim} is longer than {MAX_IDENTITY_TEXT} characters")));
            }
            check_text(value).map_err(|e| invalid(&format!("{claim} {e}")))?;
        }
        Ok(Actor { sub, name, agency, roles })
    }
}

/// The local secret: the configured one, or the one kept beside the database (created on first
/// use, readable by its owner only).
pub fn local_secret(settings: &Settings) -> Result<Vec<u8>, String> {
    match &settings.jwt_secret {
        Some(s) if s.len() >= 32 => Ok(s.as_bytes().to_vec()),
        Some(_) => Err("LIENGANH_JWT_SECRET must be at least 32 characters".into()),
        None => secret_from_file(&settings.secret_file()),
    }
}

/// Reads an identity provider's public key (PEM: `PUBLIC KEY` or `RSA PUBLIC KEY`) and the
/// algorithm it checks: the one configured, which must fit the key, or the one the key's type
/// implies.
pub fn public_key(pem: &[u8], configured: Option<&str>) -> Result<(Algorithm, DecodingKey), String> {
    let text = std::str::from_utf8(pem).map_err(|_| "is not a PEM file".to_owned())?;
    if text.contains("PRIVATE KEY") {
        return Err(
            "holds a private key: configure the public key only (openssl pkey -in KEY -pubout)".into()
        );
    }
    let blocks = text.matches("-----BEGIN ").count();
    if blocks != 1
        || !(text.contains("-----BEGIN PUBLIC KEY-----") || text.contains("-----BEGIN RSA PUBLIC KEY-----"))
    {
        return Err("must hold exactly one PEM public key (-----BEGIN PUBLIC KEY-----)".into());
    }
    let key = DecodingKey::from_ed_pem(pem)
        .or_else(|_| DecodingKey::from_ec_pem(pem))
        .or_else(|_| DecodingKey::from_rsa_pem(pem))
        .map_err(|_| "is not an RSA, EC or Ed25519 public key".to_owned())?;
    let algorithm = match configured.map(str::trim).filter(|a| !a.is_empty()) {
        Some(raw) => raw.parse::<Algorithm>().map_err(|_| format!("unknown algorithm {raw:?}"))?,
        None => match key.family() {
            AlgorithmFamily::Rsa => Algorithm::RS256,
            AlgorithmFamily::Ec => Algorithm::ES256,
            AlgorithmFamily::Ed => Algorithm::EdDSA,
            AlgorithmFamily::Hmac => return Err("is not a public key".into()),
        },
    };
    if algorithm.family() != key.family() {
        return Err(format!(
            "the algorithm {algorithm:?} does not fit a {:?} key (LIENGANH_JWT_PUBLIC_KEY_ALGORITHM)",
            key.family()
        ));
    }
    Ok((algorithm, key))
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
