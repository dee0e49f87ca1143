//! Identity: tokens with `sub`, `name`, an agency, roles, `exp`, `iat`, `iss`, `aud` (a string
//! or a list) and perhaps `nbf`, and the `Actor` extractor that every API handler takes.
//!
//! Three kinds of key may check a token, each pinned to its algorithm: the local HS256 secret
//! (the tokens `lienganh token` issues), an identity provider's public key from a PEM file, and
//! an identity provider's keys published at a JWKS URL, chosen by the token's `kid`. A token is
//! checked only by a key whose algorithm its header names, and each key accepts only its own
//! algorithm: an HS256 token is never checked against a public key as if it were a shared
//! secret, and a public-key token never against the secret. The claims that carry the agency
//! and the roles are configurable, for providers that cannot issue lienganh's own names.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::jwks::KeySet;
use crate::config::Settings;
use crate::domain::{check_text, AgencyCode, Role};
use crate::engine::step::Actor;
use crate::error::ApiError;

/// Longest subject and display name a token may carry, in characters: they are written into
/// every history the actor touches.
pub const MAX_IDENTITY_TEXT: usize = 200;

/// The claims of a token lienganh issues. `name` may be left out (identity providers do not
/// all give one): the subject stands for it then.
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

/// Which claims of an identity provider's token carry the agency and the roles. The tokens
/// lienganh issues itself always carry its own top-level `agency` and `roles`.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// The claim of the agency code: a name, or a dotted path into nested objects.
    pub agency: String,
    /// The claim of the roles: a list of names (or one name), by name or dotted path.
    pub roles: String,
    /// When not empty, only the names that start with it count, without it (`lienganh:` for
    /// groups such as `lienganh:enforcement_officer`).
    pub role_prefix: String,
}

impl Default for ClaimRules {
    fn default() -> Self {
        Self { agency: "agency".into(), roles: "roles".into(), role_prefix: String::new() }
    }
}

impl ClaimRules {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            agency: settings.jwt_agency_claim.trim().to_owned(),
            roles: settings.jwt_roles_claim.trim().to_owned(),
            role_prefix: settings.jwt_role_prefix.clone().unwrap_or_default(),
        }
    }

    /// The actor verified claims name. Role names lienganh does not know (a provider gives
    /// its own besides) are left out; at least one must remain.
    pub fn actor(&self, claims: &Map<String, Value>) -> Result<Actor, String> {
        let text =
            |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        let agency = match claim(claims, &self.agency) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Array(list)) if list.len() == 1 => {
                list[0].as_str().map(|s| s.trim().to_owned()).unwrap_or_default()
            }
            _ => return Err(format!("it carries no agency ({})", self.agency)),
        };
        let agency = AgencyCode::parse(&agency).map_err(|e| e.to_string())?;
        let names: Vec<&str> = match claim(claims, &self.roles) {
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => s.split_whitespace().collect(),
            _ => Vec::new(),
        };
        let mut roles = Vec::new();
        for name in names {
            let Some(name) = name.strip_prefix(self.role_prefix.as_str()) else { continue };
            if let Ok(role) = name.parse::<Role>() {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
        let sub = text("sub");
        let name = match text("name") {
            name if name.is_empty() => sub.clone(),
            name => name,
        };
        if sub.is_empty() || roles.is_empty() {
            return Err(format!("it needs a subject and a role of lienganh ({})", self.roles));
        }
        for (claim, value) in [("sub", &sub), ("name", &name)] {
            if value.chars().count() > MAX_IDENTITY_TEXT {
                return Err(format!("{claim} is longer than {MAX_IDENTITY_TEXT} characters"));
            }
            check_text(value).map_err(|e| format!("{claim} {e}"))?;
        }
        Ok(Actor { sub, name, agency, roles })
    }
}

/// The claim at `path`: a top-level claim of that very name (names may hold dots, as URLs do),
/// else the dotted path through nested objects.
pub fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
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
    /// An identity provider's published keys.
    jwks: Option<Arc<KeySet>>,
    issuer: String,
    audience: String,
    rules: ClaimRules,
}

/// The checks of a token signed with `algorithm`: that algorithm only, the issuer, the
/// audience (one of a list will do), and its times (`exp`, `nbf`) with half a minute's leeway.
pub fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
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
        Self {
            local: None,
            verifiers: Vec::new(),
            jwks: None,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            rules: ClaimRules::default(),
        }
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

    /// Also accepts tokens signed by the keys published at a JWKS URL.
    pub fn with_key_set(mut self, keys: Arc<KeySet>) -> Self {
        self.jwks = Some(keys);
        self
    }

    /// Reads the agency and the roles from these claims.
    pub fn with_claim_rules(mut self, rules: ClaimRules) -> Self {
        self.rules = rules;
        self
    }

    /// The keys the settings name: the configured secret, or the one kept beside the database
    /// (created on first use, readable by its owner only), unless local tokens are turned off;
    /// the identity provider's public key, if one is configured; and its JWKS URL, if given.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let mut keys = Self::without_local(&settings.jwt_issuer, &settings.jwt_audience)
            .with_claim_rules(ClaimRules::from_settings(settings));
        if keys.rules.agency.is_empty() || keys.rules.roles.is_empty() {
            return Err("LIENGANH_JWT_AGENCY_CLAIM and LIENGANH_JWT_ROLES_CLAIM must name a claim".into());
        }
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
        if let Some(url) = settings.jwt_jwks_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            let set = KeySet::new(
                url,
                Duration::from_secs(settings.jwt_jwks_refresh_seconds),
                Duration::from_secs(settings.jwt_jwks_cooldown_seconds),
            )?;
            keys = keys.with_key_set(Arc::new(set));
        }
        if keys.verifiers.is_empty() && keys.jwks.is_none() {
            return Err("local tokens are turned off and no identity provider's key is configured \
                (LIENGANH_JWT_JWKS_URL or LIENGANH_JWT_PUBLIC_KEY_FILE): no token could be checked"
                .into());
        }
        Ok(keys)
    }

    /// The algorithms of the keys held now (those of a JWKS are fetched when used).
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

    /// Checks a token with the one key its header names (by `kid` among the provider's
    /// published keys, else by algorithm), and turns it into the actor it names.
    pub async fn verify(&self, token: &str) -> Result<Actor, ApiError> {
        let invalid = |e: &dyn std::fmt::Display| ApiError::unauthorized(format!("invalid token: {e}"));
        let header = decode_header(token).map_err(|e| invalid(&e))?;
        let static_key = self.verifiers.iter().any(|v| v.algorithm == header.alg);
        let published = match (&self.jwks, &header.kid) {
            (Some(set), Some(kid)) if header.alg.family() != AlgorithmFamily::Hmac => {
                match set.key(kid).await {
                    Some(found) => Some(found),
                    // A provider's key configured as a file may still check it.
                    None if static_key => None,
                    None => return Err(invalid(&"its key (kid) is not the provider's")),
                }
            }
            _ => None,
        };
        let claims = match published {
            Some(found) => {
                if found.algorithm != header.alg {
                    return Err(invalid(&format!("its key checks {:?} tokens only", found.algorithm)));
                }
                let rules = validation(found.algorithm, &self.issuer, &self.audience);
                decode::<Map<String, Value>>(token, &found.key, &rules).map_err(|e| invalid(&e))?.claims
            }
            None => {
                let Some(verifier) = self.verifiers.iter().find(|v| v.algorithm == header.alg) else {
                    return Err(invalid(&format!("{:?} tokens are not accepted here", header.alg)));
                };
                let claims = decode::<Map<String, Value>>(token, &verifier.key, &verifier.validation)
                    .map_err(|e| invalid(&e))?
                    .claims;
                // Local tokens carry lienganh's own claims, whatever a provider's carry.
                if verifier.algorithm == Algorithm::HS256 {
                    return ClaimRules::default().actor(&claims).map_err(|e| invalid(&e));
                }
                claims
            }
        };
        self.rules.actor(&claims).map_err(|e| invalid(&e))
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
    type Future = LocalBoxFuture<'static, Result<Actor, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let keys = req.app_data::<web::Data<JwtKeys>>().cloned();
        let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
        let token = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let Some(keys) = keys else {
                return Err(ApiError::internal("token keys are not configured"));
            };
            match token {
                Some(token) => keys.verify(&token).await,
                None => Err(ApiError::unauthorized("send a bearer token in the Authorization header")),
            }
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
