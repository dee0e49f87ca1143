//! Signing in to the console: the session cookie, the CSRF tokens of its forms, and the
//! `Signed` extractor every page takes.
//!
//! The cookie is a token with the very claims of the API's tokens (`sub`, `name`, `agency`,
//! `roles`, `exp`, `iat`, `iss`, `aud`) and the id of a session row, signed with the service's
//! local secret for the console's own audience, so that it is not an API token. It is HttpOnly
//! and SameSite=Strict (and Secure over HTTPS). A page trusts it only while its session row
//! runs: signing out, disabling the user or a new password ends the session at once. Each form
//! carries a CSRF token, the HMAC of the session id under the secret; the sign-in form, before
//! any session, a random value it must repeat from a cookie of its own.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::i18n::Lang;
use super::layout;
use crate::config::Settings;
use crate::engine::step::Actor;
use crate::error::{ApiError, ErrorCode};
use crate::http::api::AppState;
use crate::service::users;
use crate::store::users::{SessionRow, UserRow};

/// The session cookie.
pub const SESSION_COOKIE: &str = "lienganh_session";
/// The sign-in form's own CSRF cookie.
pub const LOGIN_COOKIE: &str = "lienganh_login";
/// The audience of console sessions: never that of the API.
pub const AUDIENCE: &str = "lienganh-console";

/// A session token's claims: the API token's, and the session.
#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    sub: String,
    name: String,
    agency: String,
    roles: Vec<String>,
    exp: i64,
    iat: i64,
    iss: String,
    aud: String,
    sid: String,
}

/// The keys of console sessions and their forms.
pub struct ConsoleKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    /// The HMAC of CSRF tokens, keyed with a key of its own derived from the secret.
    mac: Hmac<Sha256>,
    /// Turns to hash a password: as many at once as there are cores.
    pub hashing: tokio::sync::Semaphore,
    /// Whether every cookie is Secure, whatever the request's scheme.
    pub always_secure: bool,
    /// The OpenID provider the console also signs in through.
    pub oidc: Option<std::sync::Arc<super::oidc::Oidc>>,
    /// Whether the console signs in with its own passwords.
    pub local_passwords: bool,
}

/// A key of its own for `purpose`, derived from the service's secret, so that what the console
/// signs is never valid as an API token, whatever the configured audiences.
fn derived(secret: &[u8], purpose: &str) -> Result<Vec<u8>, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
    mac.update(purpose.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

impl ConsoleKeys {
    pub fn new(secret: &[u8], issuer: &str) -> Result<Self, String> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let session = derived(secret, "lienganh console session v1")?;
        let csrf = derived(secret, "lienganh console csrf v1")?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Ok(Self {
            encoding: EncodingKey::from_secret(&session),
            decoding: DecodingKey::from_secret(&session),
            validation,
            issuer: issuer.to_owned(),
            mac: Hmac::<Sha256>::new_from_slice(&csrf).map_err(|e| e.to_string())?,
            hashing: tokio::sync::Semaphore::new(cores),
            always_secure: false,
            oidc: None,
            local_passwords: true,
        })
    }

    /// The service's local secret, whether or not local API tokens are accepted: the console
    /// signs its own sessions even when an identity provider issues the API's tokens.
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        let secret = crate::http::auth::local_secret(settings)?;
        let mut keys = Self::new(&secret, &settings.jwt_issuer)?;
        keys.always_secure = settings.console_secure_cookies;
        keys.oidc = super::oidc::Oidc::from_settings(settings, &secret)?.map(std::sync::Arc::new);
        keys.local_passwords = settings.console_local_passwords;
        if !keys.local_passwords && keys.oidc.is_none() {
            return Err("local passwords are turned off (LIENGANH_CONSOLE_LOCAL_PASSWORDS=false) \
                and no OpenID provider is configured (LIENGANH_OIDC_ISSUER): nobody could sign in"
                .into());
        }
        Ok(keys)
    }

    /// The cookie's value for a new session of `user`.
    pub fn issue(&self, user: &UserRow, session: &SessionRow) -> Result<String, ApiError> {
        let claims = SessionClaims {
            sub: user.username.clone(),
            name: user.name.clone(),
            agency: user.agency_code.clone(),
            roles: users::roles_of(user).iter().map(|r| r.as_str().to_owned()).collect(),
            exp: session.expires_at / 1_000_000,
            iat: session.created_at / 1_000_000,
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sid: session.id.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// The session a cookie names, if its signature, issuer, audience and times hold.
    pub fn session_of(&self, cookie: &str) -> Option<String> {
        decode::<SessionClaims>(cookie, &self.decoding, &self.validation).ok().map(|d| d.claims.sid)
    }

    fn mac(&self, purpose: &str, value: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        mac
    }

    /// The CSRF token of a session's forms.
    pub fn csrf(&self, session_id: &str) -> String {
        hex::encode(self.mac("csrf", session_id).finalize().into_bytes())
    }

    /// Whether `token` is the CSRF token of the session, compared in constant time.
    pub fn csrf_holds(&self, session_id: &str, token: &str) -> bool {
        hex::decode(token).is_ok_and(|bytes| self.mac("csrf", session_id).verify_slice(&bytes).is_ok())
    }
}

/// A cookie for this request: HttpOnly, SameSite=Strict, on the console's paths, and Secure
/// when the request came over HTTPS or the service is told it always does.
pub fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String, path: &'a str) -> Cookie<'a> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path(path);
    let always = req.app_data::<web::Data<ConsoleKeys>>().is_some_and(|k| k.always_secure);
    c.set_secure(always || req.connection_info().scheme() == "https");
    c
}

/// A cookie that removes `name`.
pub fn removal<'a>(req: &HttpRequest, name: &'a str, path: &'a str) -> Cookie<'a> {
    let mut c = cookie(req, name, String::new(), path);
    c.make_removal();
    c
}

/// Why a console page is not shown.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: to the sign-in page, and back to this page (a GET) once signed in.
    SignIn(Option<String>),
    /// A refusal of the use case, shown as a page in the user's language.
    Api(ApiError, Lang),
    /// Signed in with a password someone else set: to the page that changes it, first.
    ChangePassword,
}

impl ConsoleError {
    pub fn api(lang: Lang) -> impl Fn(ApiError) -> Self {
        move |e| Self::Api(e, lang)
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn(_) => f.write_str("not signed in"),
            Self::ChangePassword => f.write_str("the password must be changed"),
            Self::Api(e, _) => write!(f, "{}", e.code.as_str()),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        match self {
            Self::SignIn(_) | Self::ChangePassword => actix_web::http::StatusCode::SEE_OTHER,
            Self::Api(e, _) => e.code.status_and_title().0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn(next) => {
                let location = match next {
                    Some(next) => format!(
                        "/console/login?{}",
                        serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
                    ),
                    None => "/console/login".to_owned(),
                };
                HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
            }
            Self::ChangePassword => {
                HttpResponse::SeeOther().insert_header((header::LOCATION, PASSWORD_PAGE)).finish()
            }
            Self::Api(e, lang) => HttpResponse::build(self.status_code())
                .content_type("text/html; charset=utf-8")
                .body(layout::error_page(*lang, e).into_string()),
        }
    }
}

/// Where a user changes a password someone else set.
pub const PASSWORD_PAGE: &str = "/console/password";

/// A signed-in user of the console, as the page's use cases see them.
pub struct Signed {
    pub actor: Actor,
    pub session_id: String,
    /// The CSRF token every form of the page carries.
    pub csrf: String,
    pub lang: Lang,
}

impl Signed {
    /// Refuses a form that does not carry this session's CSRF token.
    pub fn check_csrf(&self, keys: &ConsoleKeys, token: &str) -> Result<(), ConsoleError> {
        if keys.csrf_holds(&self.session_id, token) {
            Ok(())
        } else {
            Err(ConsoleError::Api(
                ApiError::new(ErrorCode::Forbidden, self.lang.t("form_expired")),
                self.lang,
            ))
        }
    }
}

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let lang = Lang::of(req);
        let keys = req.app_data::<web::Data<ConsoleKeys>>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let sid = keys
            .as_ref()
            .zip(req.cookie(SESSION_COOKIE))
            .and_then(|(keys, cookie)| keys.session_of(cookie.value()));
        // A page asked for is a page to come back to; a form posted is not.
        // Until a password someone else set is changed, only its page and signing out open.
        let may_wait = matches!(req.path(), PASSWORD_PAGE | "/console/logout");
        let here = (req.method() == actix_web::http::Method::GET && req.path() != "/console/").then(|| {
            req.uri().path_and_query().map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned())
        });
        Box::pin(async move {
            let (Some(keys), Some(state), Some(sid)) = (keys, state, sid) else {
                return Err(ConsoleError::SignIn(here));
            };
            let found = state
                .read(move |conn, _| users::session(conn, &sid))
                .await
                .map_err(ConsoleError::api(lang))?;
            let Some((session, user)) = found else { return Err(ConsoleError::SignIn(here)) };
            if user.must_change_password && !may_wait {
                return Err(ConsoleError::ChangePassword);
            }
            let actor = users::actor_of(&user).map_err(ConsoleError::api(lang))?;
            Ok(Signed { csrf: keys.csrf(&session.id), actor, session_id: session.id, lang })
        })
    }
}
