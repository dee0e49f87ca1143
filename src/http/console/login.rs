//! Signing in and out.
//!
//! The password is checked off the writer (argon2 is slow on purpose), against the user as read
//! before; the outcome is then written in one transaction that reads the user again, so a lock
//! or a new password in between counts. An unknown user costs the same hashing as a known one,
//! and gets the same answer as a wrong password.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use maud::html;
use rand::RngCore;
use serde::Deserialize;

use super::i18n::Lang;
use super::layout::page;
use super::session::{cookie, removal, ConsoleError, ConsoleKeys, Signed, LOGIN_COOKIE, SESSION_COOKIE};
use crate::error::{ApiError, ErrorCode};
use crate::http::api::AppState;
use crate::service::users::{self, SignIn, MAX_PASSWORD};

/// The longest a sign-in waits for its turn to hash before it is told to try again.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A hash no password matches, checked when the username is unknown so that an unknown user
/// takes as long to refuse as a known one.
const NO_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$2Pfr1vt8hcyxHbvUhD5Y5zPbxPW5mGFpZ0mMkKRRf3Y";

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    /// The console page to go to once signed in.
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `next` when it is a page of this console (a path, never another site), else none.
pub(super) fn page_to_return_to(next: &str) -> Option<&str> {
    let ok = next.len() <= 512
        && next.starts_with("/console/")
        && !next.starts_with("/console/login")
        && !next.contains("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(next)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// How the console signs in: with its own passwords, and through which provider.
struct Ways<'a> {
    local: bool,
    provider: Option<&'a str>,
}

fn form(lang: Lang, token: &str, next: Option<&str>, problem: Option<String>, ways: Ways) -> maud::Markup {
    let start = match next {
        Some(next) => format!(
            "/console/oidc/start?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        ),
        None => "/console/oidc/start".to_owned(),
    };
    page(
        lang,
        None,
        lang.t("sign_in"),
        html! {
            section.card.login {
                h1 { (lang.t("sign_in")) }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                @if let Some(provider) = ways.provider {
                    p { a.button.primary href=(start) { (lang.t("sign_in_with")) " " (provider) } }
                }
                @if ways.local { form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(token);
                    @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                    label for="username" { (lang.t("username")) }
                    input type="text" id="username" name="username" autocomplete="username" required
                        autocapitalize="none" maxlength="64";
                    label for="password" { (lang.t("password")) }
                    input type="password" id="password" name="password" autocomplete="current-password"
                        required maxlength=(MAX_PASSWORD);
                    button.primary type="submit" { (lang.t("sign_in")) }
                } }
            }
        },
    )
}

/// The sign-in form, with a fresh token that its cookie must repeat.
fn show(
    req: &HttpRequest,
    lang: Lang,
    status: actix_web::http::StatusCode,
    next: Option<&str>,
    problem: Option<String>,
) -> HttpResponse {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let keys = req.app_data::<web::Data<ConsoleKeys>>();
    let ways = Ways {
        local: keys.is_none_or(|k| k.local_passwords),
        provider: keys.and_then(|k| k.oidc.as_ref()).map(|o| o.name.as_str()),
    };
    HttpResponse::build(status)
        .cookie(cookie(req, LOGIN_COOKIE, token.clone(), "/console/login"))
        .content_type("text/html; charset=utf-8")
        .body(form(lang, &token, next, problem, ways).into_string())
}

#[get("/login")]
pub async fn login_page(req: HttpRequest, q: web::Query<NextQuery>) -> HttpResponse {
    show(&req, Lang::of(&req), actix_web::http::StatusCode::OK, page_to_return_to(&q.next), None)
}

/// Signs in. A wrong password, an unknown or disabled user and a locked account all get the
/// same answer, after the same hashing, so that the answer tells nobody which accounts exist.
#[post("/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    posted: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    if !keys.local_passwords {
        let status = actix_web::http::StatusCode::FORBIDDEN;
        return Ok(show(&req, lang, status, None, Some(lang.t("refused").into())));
    }
    let posted = posted.into_inner();
    let next = page_to_return_to(&posted.next).map(str::to_owned);
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || expected != posted.csrf {
        let status = actix_web::http::StatusCode::FORBIDDEN;
        return Ok(show(&req, lang, status, next.as_deref(), Some(lang.t("form_expired").into())));
    }
    let refused = |req: &HttpRequest| {
        let status = actix_web::http::StatusCode::UNAUTHORIZED;
        show(req, lang, status, next.as_deref(), Some(lang.t("refused").into()))
    };
    let username = posted.username.trim().to_owned();
    if users::check_username(&username).is_err() || posted.password.chars().count() > MAX_PASSWORD {
        return Ok(refused(&req));
    }
    let found =
        state.read(move |conn, _| users::find(conn, &username)).await.map_err(ConsoleError::api(lang))?;
    let hash = found.as_ref().map_or(NO_USER_HASH.to_owned(), |u| u.password_hash.clone());
    let password = posted.password;
    // Hashing is slow and takes memory on purpose: a few at a time, the others wait their turn
    // (and are told to come back when the wait is long), so a flood of sign-ins cannot take
    // the threads the pages read with.
    let Ok(Ok(turn)) = tokio::time::timeout(HASHING_WAIT, keys.hashing.acquire()).await else {
        return Err(ConsoleError::Api(ApiError::new(ErrorCode::ServiceUnavailable, lang.t("busy")), lang));
    };
    let matched = state
        .compute(move |_| Ok(users::password_matches(&password, &hash)))
        .await
        .map_err(ConsoleError::api(lang))?;
    drop(turn);
    let Some(user) = found else { return Ok(refused(&req)) };
    // A session the browser still held (someone else's, on a shared computer) ends with it.
    let held = req.cookie(SESSION_COOKIE).and_then(|c| keys.session_of(c.value()));
    let outcome = state
        .write(move |conn, _| users::conclude_sign_in(conn, user, matched, held.as_deref()))
        .await
        .map_err(ConsoleError::api(lang))?;
    match outcome {
        SignIn::Session(session, user) => {
            let value = keys.issue(&user, &session).map_err(ConsoleError::api(lang))?;
            Ok(HttpResponse::SeeOther()
                .cookie(cookie(&req, SESSION_COOKIE, value, "/console"))
                .cookie(removal(&req, LOGIN_COOKIE, "/console/login"))
                .insert_header((header::LOCATION, next.as_deref().unwrap_or("/console/inbox")))
                .finish())
        }
        SignIn::Refused | SignIn::Locked => Ok(refused(&req)),
    }
}

#[post("/logout")]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    posted: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang = signed.lang;
    let id = signed.session_id.clone();
    state.write(move |conn, _| users::sign_out(conn, &id)).await.map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::SeeOther()
        .cookie(removal(&req, SESSION_COOKIE, "/console"))
        .insert_header((header::LOCATION, "/console/login"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::NO_USER_HASH;
    use argon2::password_hash::PasswordHash;

    /// The stand-in hash parses and costs what a real one costs, so an unknown user is refused
    /// after the same work; and no password matches it.
    #[test]
    fn an_unknown_user_costs_a_real_hash() {
        let real = crate::service::users::hash_password("mật-khẩu-đủ-dài").unwrap();
        let (stand_in, real) = (PasswordHash::new(NO_USER_HASH).unwrap(), PasswordHash::new(&real).unwrap());
        assert_eq!(stand_in.algorithm, real.algorithm);
        assert_eq!(stand_in.version, real.version);
        assert_eq!(stand_in.params, real.params);
        assert!(!crate::service::users::password_matches("", NO_USER_HASH));
        assert!(!crate::service::users::password_matches("mật-khẩu-đủ-dài", NO_USER_HASH));
    }
}
