//! An identity provider's signing keys, published as a JWKS document and kept in memory.
//!
//! A token names its key by `kid`. The set is fetched on first use; fetched again when a token
//! names a key it does not hold (the provider rotated its keys), and when it grows older than
//! its lifetime (`Cache-Control: max-age`, at most the configured period). Fetches are at least
//! a cooldown apart, whatever arrives: a flood of tokens naming made-up keys costs the provider
//! one request per cooldown. Each key checks one algorithm only: the one the provider declares
//! for it, or the one its type implies; keys for encryption and shared secrets are left out.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;

/// How long a fetch may take before the set stays as it was.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document read.
const MAX_DOCUMENT: usize = 256 * 1024;

/// A verification key and the one algorithm it checks.
#[derive(Clone)]
pub struct SigningKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

struct Cached {
    keys: HashMap<String, SigningKey>,
    fresh_until: Option<Instant>,
}

/// The keys of one JWKS URL.
pub struct KeySet {
    url: String,
    client: reqwest::Client,
    cooldown: Duration,
    refresh: Duration,
    cached: RwLock<Cached>,
    /// When the last fetch began; held while a fetch runs, so that one runs at a time.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// The keys at `url`, refetched at most every `refresh` and at least `cooldown` apart.
    pub fn new(url: &str, refresh: Duration, cooldown: Duration) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("the JWKS URL {url:?}: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(format!("the JWKS URL {url:?} must be https (or http on a private network)"));
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url: url.to_owned(),
            client,
            cooldown,
            refresh: refresh.max(cooldown),
            cached: RwLock::new(Cached { keys: HashMap::new(), fresh_until: None }),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// The key named `kid`: from memory while the set is fresh, else after a fetch (when the
    /// cooldown allows one).
    pub async fn key(&self, kid: &str) -> Option<SigningKey> {
        if let (Some(key), true) = self.held(kid) {
            return Some(key);
        }
        let mut last = self.last_fetch.lock().await;
        // Another request may have fetched while this one waited.
        if let (Some(key), true) = self.held(kid) {
            return Some(key);
        }
        let now = Instant::now();
        if last.is_none_or(|at| now.duration_since(at) >= self.cooldown) {
            *last = Some(now);
            match self.fetch().await {
                Ok((keys, lifetime)) => {
                    tracing::info!(url = %self.url, keys = keys.len(), "fetched the identity provider's keys");
                    if let Ok(mut cached) = self.cached.write() {
                        *cached = Cached { keys, fresh_until: Some(now + lifetime) };
                    }
                }
                // The keys held stay in use until a fetch succeeds.
                Err(e) => {
                    tracing::warn!(url = %self.url, error = %e, "cannot fetch the identity provider's keys")
                }
            }
        }
        drop(last);
        self.held(kid).0
    }

    /// The key named `kid` if held, and whether the set is fresh.
    fn held(&self, kid: &str) -> (Option<SigningKey>, bool) {
        match self.cached.read() {
            Ok(cached) => {
                let fresh = cached.fresh_until.is_some_and(|until| Instant::now() < until);
                (cached.keys.get(kid).cloned(), fresh)
            }
            Err(_) => (None, false),
        }
    }

    async fn fetch(&self) -> Result<(HashMap<String, SigningKey>, Duration), String> {
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(format!("the document is larger than {MAX_DOCUMENT} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let document: Document =
            serde_json::from_slice(&body).map_err(|e| format!("not a JWKS document: {e}"))?;
        let keys = keys_of(document.keys);
        let lifetime = max_age.unwrap_or(self.refresh).clamp(self.cooldown, self.refresh);
        Ok((keys, lifetime))
    }
}

/// The signing keys of a JWKS document by their id; keys without an id, for encryption, for a
/// shared secret, or of a type not understood are left out, each with a line in the log.
pub fn keys_of(raw: Vec<serde_json::Value>) -> HashMap<String, SigningKey> {
    let mut keys = HashMap::new();
    for value in raw {
        let jwk: Jwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(e) => {
                tracing::debug!(error = %e, "a JWKS key of a type not understood is left out");
                continue;
            }
        };
        let Some(kid) = jwk.common.key_id.clone() else { continue };
        match signing_key(&jwk) {
            Ok(key) => {
                keys.insert(kid, key);
            }
            Err(e) => tracing::debug!(kid, reason = e, "a JWKS key is left out"),
        }
    }
    keys
}

/// The one algorithm a key checks, and the key.
fn signing_key(jwk: &Jwk) -> Result<SigningKey, &'static str> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("it is for encryption");
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return Err("its curve is not supported"),
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => Algorithm::EdDSA,
            _ => return Err("its curve is not supported"),
        },
        AlgorithmParameters::OctetKey(_) => return Err("a shared secret is never a provider's key"),
    };
    let algorithm = match jwk.common.key_algorithm {
        None => implied,
        Some(declared) => algorithm_of(declared).ok_or("its algorithm is not a signature algorithm")?,
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "its parameters are not a valid key")?;
    if algorithm.family() == AlgorithmFamily::Hmac || algorithm.family() != key.family() {
        return Err("its algorithm does not fit its type");
    }
    if algorithm.family() == AlgorithmFamily::Ec && algorithm != implied {
        return Err("its algorithm does not fit its curve");
    }
    Ok(SigningKey { algorithm, key })
}

fn algorithm_of(declared: KeyAlgorithm) -> Option<Algorithm> {
    Some(match declared {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The `max-age` of a Cache-Control header, unless the answer may not be stored.
fn max_age(header: &str) -> Option<Duration> {
    let mut age = None;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            age = seconds.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cache_control_gives_the_lifetime() {
        assert_eq!(max_age("public, max-age=300"), Some(Duration::from_secs(300)));
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
    }

    /// Shared secrets, encryption keys, keys without an id and algorithms that do not fit
    /// the key are left out; the rest keep the algorithm declared or implied.
    #[test]
    fn only_signing_keys_with_an_id_are_kept() {
        let rsa = |kid: &str, extra: serde_json::Value| {
            let mut k = json!({"kty": "RSA", "kid": kid, "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
            for (name, v) in extra.as_object().unwrap() {
                k[name] = v.clone();
            }
            k
        };
        let keys = keys_of(vec![
            rsa("plain", json!({})),
            rsa("pss", json!({"alg": "PS256", "use": "sig"})),
            rsa("enc", json!({"use": "enc"})),
            rsa("hs", json!({"alg": "HS256"})),
            rsa("ed", json!({"alg": "EdDSA"})),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!({"kty": "oct", "kid": "secret", "k": "c2VjcmV0"}),
            json!({"kty": "weird", "kid": "weird"}),
        ]);
        let mut kids: Vec<_> = keys.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["plain", "pss"]);
        assert_eq!(keys["plain"].algorithm, Algorithm::RS256);
        assert_eq!(keys["pss"].algorithm, Algorithm::PS256);
    }
}
