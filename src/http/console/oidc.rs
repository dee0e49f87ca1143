//! Signing in to the console through the agency's OpenID provider: the authorization code flow
//! with PKCE (S256), `state` and `nonce`.
//!
//! What the flow must remember between leaving for the provider and coming back (the state,
//! the nonce, the PKCE verifier, the page to return to) travels in a short-lived cookie signed
//! with a key of its own, HttpOnly and SameSite=Lax (the provider's redirect back is a
//! navigation from another site): any node may finish a flow another began. The ID token is
//! checked with the provider's published keys, for its issuer, audience (the client id), times
//! and nonce; its claims name the agency and roles as an API token's do. The user is kept as an
//! account of the provider's (no password), whose agency and roles follow the provider's at
//! each sign-in, and gets a console session as a local user does.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::i18n::Lang;
use super::login::page_to_return_to;
use super::session::{cookie, removal, ConsoleError, ConsoleKeys, SESSION_COOKIE};
use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::http::api::AppState;
use crate::http::auth::{validation, ClaimRules};
use crate::http::jwks::KeySet;
use crate::service::users::{self, SignIn};

/// The cookie that carries a flow to the provider and back.
pub const FLOW_COOKIE: &str = "lienganh_oidc";
const FLOW_PATH: &str = "/console/oidc";
/// How long a sign-in at the provider may take.
const FLOW_SECONDS: i64 = 600;
const FLOW_AUDIENCE: &str = "lienganh-console-oidc";
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The provider's endpoints, from its discovery document.
struct Discovered {
    authorization_endpoint: String,
    token_endpoint: String,
    keys: KeySet,
}

/// The console's client of one OpenID provider.
pub struct Oidc {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_url: String,
    /// How the sign-in page names the provider.
    pub name: String,
    rules: ClaimRules,
    client: reqwest::Client,
    discovered: tokio::sync::OnceCell<Discovered>,
    flow_encoding: EncodingKey,
    flow_decoding: DecodingKey,
}

/// What the flow cookie carries.
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    exp: i64,
    aud: String,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Oidc {
    /// The provider the settings name, if any; its endpoints are discovered at first use.
    pub fn from_settings(settings: &Settings, secret: &[u8]) -> Result<Option<Self>, String> {
        let Some(issuer) = settings.oidc_issuer.as_deref().map(str::trim).filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let client_id = settings.oidc_client_id.clone().filter(|c| !c.trim().is_empty());
        let redirect_url = settings.oidc_redirect_url.clone().filter(|r| !r.trim().is_empty());
        let (Some(client_id), Some(redirect_url)) = (client_id, redirect_url) else {
            return Err(
                "LIENGANH_OIDC_ISSUER needs LIENGANH_OIDC_CLIENT_ID and LIENGANH_OIDC_REDIRECT_URL".into()
            );
        };
        url::Url::parse(&redirect_url).map_err(|e| format!("LIENGANH_OIDC_REDIRECT_URL: {e}"))?;
        url::Url::parse(issuer).map_err(|e| format!("LIENGANH_OIDC_ISSUER: {e}"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
        mac.update(b"lienganh console oidc flow v1");
        let flow_key = mac.finalize().into_bytes();
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Some(Self {
            issuer: issuer.to_owned(),
            client_id,
            client_secret: settings.oidc_client_secret.clone().filter(|s| !s.is_empty()),
            redirect_url,
            name: settings.oidc_name.clone(),
            rules: ClaimRules::from_settings(settings),
            client,
            discovered: tokio::sync::OnceCell::new(),
            flow_encoding: EncodingKey::from_secret(&flow_key),
            flow_decoding: DecodingKey::from_secret(&flow_key),
        }))
    }

    /// The provider's endpoints, fetched once (again after a failure).
    async fn discovered(&self) -> Result<&Discovered, String> {
        self.discovered
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
                let answer = self.client.get(&url).send().await.map_err(|e| e.to_string())?;
                if !answer.status().is_success() {
                    return Err(format!("{url} answered {}", answer.status()));
                }
                let doc: DiscoveryDocument = answer.json().await.map_err(|e| e.to_string())?;
                if doc.issuer != self.issuer {
                    return Err(format!("the provider names itself {:?}, not {:?}", doc.issuer, self.issuer));
                }
                let keys = KeySet::new(&doc.jwks_uri, Duration::from_secs(600), Duration::from_secs(30))?;
                Ok(Discovered {
                    authorization_endpoint: doc.authorization_endpoint,
                    token_endpoint: doc.token_endpoint,
                    keys,
                })
            })
            .await
    }

    fn seal(&self, flow: &Flow) -> Result<String, String> {
        encode(&Header::new(Algorithm::HS256), flow, &self.flow_encoding).map_err(|e| e.to_string())
    }

    fn open(&self, cookie: &str) -> Option<Flow> {
        let mut rules = Validation::new(Algorithm::HS256);
        rules.algorithms = vec![Algorithm::HS256];
        rules.set_audience(&[FLOW_AUDIENCE]);
        rules.set_required_spec_claims(&["exp", "aud"]);
        rules.leeway = 0;
        decode::<Flow>(cookie, &self.flow_decoding, &rules).ok().map(|d| d.claims)
    }

    /// Trades the code for the ID token at the token endpoint, with the PKCE verifier.
    async fn id_token(&self, found: &Discovered, code: &str, verifier: &str) -> Result<String, String> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_url.as_str()),
            ("code_verifier", verifier),
        ];
        let mut request = self.client.post(&found.token_endpoint);
        match &self.client_secret {
            // client_secret_basic: each part form-encoded first (RFC 6749, 2.3.1).
            Some(secret) => {
                let encoded =
                    |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                request = request.basic_auth(encoded(&self.client_id), Some(encoded(secret)));
            }
            None => form.push(("client_id", self.client_id.as_str())),
        }
        let answer = request.form(&form).send().await.map_err(|e| e.to_string())?;
        if !answer.status().is_success() {
            return Err(format!("the token endpoint answered {}", answer.status()));
        }
        Ok(answer.json::<TokenAnswer>().await.map_err(|e| e.to_string())?.id_token)
    }

    /// The claims of an ID token, if its signature (by a key the provider publishes, in the
    /// key's own algorithm), issuer, audience, times and nonce hold.
    async fn verified(
        &self,
        found: &Discovered,
        id_token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, String> {
        let header = decode_header(id_token).map_err(|e| e.to_string())?;
        let kid = header.kid.as_deref().ok_or("the ID token names no key")?;
        let key = found.keys.key(kid).await.ok_or("the ID token's key is not the provider's")?;
        if key.algorithm != header.alg {
            return Err(format!("the ID token's key checks {:?} only", key.algorithm));
        }
        let rules = validation(key.algorithm, &self.issuer, &self.client_id);
        let claims =
            decode::<Map<String, Value>>(id_token, &key.key, &rules).map_err(|e| e.to_string())?.claims;
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err("the ID token's nonce is not this sign-in's".into());
        }
        if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
            if azp != self.client_id {
                return Err("the ID token was given to another client".into());
            }
        }
        Ok(claims)
    }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    next: String,
}

fn unavailable(lang: Lang, detail: String) -> ConsoleError {
    tracing::warn!(error = %detail, "sign-in through the identity provider failed");
    ConsoleError::Api(ApiError::new(ErrorCode::ServiceUnavailable, lang.t("provider_unavailable")), lang)
}

fn refused(lang: Lang, detail: String) -> ConsoleError {
    tracing::warn!(error = %detail, "sign-in through the identity provider refused");
    ConsoleError::Api(ApiError::new(ErrorCode::Unauthorized, lang.t("provider_refused")), lang)
}

fn provider(keys: &ConsoleKeys, lang: Lang) -> Result<Arc<Oidc>, ConsoleError> {
    keys.oidc.clone().ok_or_else(|| ConsoleError::Api(ApiError::not_found("no identity provider"), lang))
}

/// Leaves for the provider's sign-in, with a fresh state, nonce and PKCE challenge.
#[get("/oidc/start")]
pub async fn start(
    req: HttpRequest,
    keys: web::Data<ConsoleKeys>,
    q: web::Query<StartQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    let oidc = provider(&keys, lang)?;
    let found = oidc.discovered().await.map_err(|e| unavailable(lang, e))?;
    let flow = Flow {
        state: random(),
        nonce: random(),
        verifier: random(),
        next: page_to_return_to(&q.next).unwrap_or("/console/inbox").to_owned(),
        exp: chrono::Utc::now().timestamp() + FLOW_SECONDS,
        aud: FLOW_AUDIENCE.to_owned(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.as_bytes()));
    let mut target =
        url::Url::parse(&found.authorization_endpoint).map_err(|e| unavailable(lang, e.to_string()))?;
    target
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &oidc.client_id)
        .append_pair("redirect_uri", &oidc.redirect_url)
        .append_pair("scope", "openid profile")
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let sealed = oidc.seal(&flow).map_err(|e| unavailable(lang, e))?;
    let mut carried = cookie(&req, FLOW_COOKIE, sealed, FLOW_PATH);
    carried.set_same_site(actix_web::cookie::SameSite::Lax);
    carried.set_max_age(actix_web::cookie::time::Duration::seconds(FLOW_SECONDS));
    Ok(HttpResponse::SeeOther().cookie(carried).insert_header((header::LOCATION, target.as_str())).finish())
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
}

/// Back from the provider: the state must be the flow's, the code is traded for an ID token
/// that must hold, and its claims open a console session.
#[get("/oidc/callback")]
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    let oidc = provider(&keys, lang)?;
    let Some(flow) = req.cookie(FLOW_COOKIE).and_then(|c| oidc.open(c.value())) else {
        return Err(refused(lang, "no sign-in under way (the flow cookie is missing or expired)".into()));
    };
    let same_state: bool =
        hex::encode(Sha256::digest(flow.state.as_bytes())) == hex::encode(Sha256::digest(q.state.as_bytes()));
    if q.state.is_empty() || !same_state {
        return Err(refused(lang, "the state is not this sign-in's".into()));
    }
    if !q.error.is_empty() || q.code.is_empty() {
        return Err(refused(lang, format!("the provider answered {:?}", q.error)));
    }
    let found = oidc.discovered().await.map_err(|e| unavailable(lang, e))?;
    let id_token = oidc.id_token(found, &q.code, &flow.verifier).await.map_err(|e| refused(lang, e))?;
    let claims = oidc.verified(found, &id_token, &flow.nonce).await.map_err(|e| refused(lang, e))?;
    let actor = oidc.rules.actor(&claims).map_err(|e| refused(lang, e))?;
    let held = req.cookie(SESSION_COOKIE).and_then(|c| keys.session_of(c.value()));
    let outcome = state
        .write(move |conn, _| users::conclude_provider_sign_in(conn, &actor, held.as_deref()))
        .await
        .map_err(ConsoleError::api(lang))?;
    let SignIn::Session(session, user) = outcome else {
        return Err(refused(lang, "the account is disabled or is a local one".into()));
    };
    let value = keys.issue(&user, &session).map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::SeeOther()
        .cookie(cookie(&req, SESSION_COOKIE, value, "/console"))
        .cookie(removal(&req, FLOW_COOKIE, FLOW_PATH))
        .insert_header((header::LOCATION, flow.next))
        .finish())
}
