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
use crate::api::AppState;
use crate::service::users::{self, SignIn, MAX_PASSWORD};

/// A hash no password matches, checked when the username is unknown so that an unknown user
/// takes as long to refuse as a known one.
const NO_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$2Pfr1vt8hcyxHbvUhD5Y5zPbxPW5mGFpZ0mMkKRRf3Y";

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn form(lang: Lang, token: &str, problem: Option<String>) -> maud::Markup {
    page(
        lang,
        None,
        lang.t("sign_in"),
        html! {
            section.card.login {
                h1 { (lang.t("sign_in")) }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(token);
                    label for="username" { (lang.t("username")) }
                    input type="text" id="username" name="username" autocomplete="username" required
                        autocapitalize="none" maxlength="64";
                    label for="password" { (lang.t("password")) }
                    input type="password" id="password" name="password" autocomplete="current-password"
                        required maxlength=(MAX_PASSWORD);
                    button.primary type="submit" { (lang.t("sign_in")) }
                }
            }
        },
    )
}

/// The sign-in form, with a fresh token that its cookie must repeat.
fn show(
    req: &HttpRequest,
    lang: Lang,
    status: actix_web::http::StatusCode,
    problem: Option<String>,
) -> HttpResponse {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    HttpResponse::build(status)
        .cookie(cookie(req, LOGIN_COOKIE, token.clone(), "/console/login"))
        .content_type("text/html; charset=utf-8")
        .body(form(lang, &token, problem).into_string())
}

#[get("/login")]
pub async fn login_page(req: HttpRequest) -> HttpResponse {
    show(&req, Lang::of(&req), actix_web::http::StatusCode::OK, None)
}

#[post("/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    posted: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = Lang::of(&req);
    let posted = posted.into_inner();
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || expected != posted.csrf {
        return Ok(show(
            &req,
            lang,
            actix_web::http::StatusCode::FORBIDDEN,
            Some(lang.t("form_expired").into()),
        ));
    }
    let refused = |req: &HttpRequest| {
        show(req, lang, actix_web::http::StatusCode::UNAUTHORIZED, Some(lang.t("refused").into()))
    };
    let username = posted.username.trim().to_owned();
    if users::check_username(&username).is_err() || posted.password.chars().count() > MAX_PASSWORD {
        return Ok(refused(&req));
    }
    let found =
        state.read(move |conn, _| users::find(conn, &username)).await.map_err(ConsoleError::api(lang))?;
    let now = crate::domain::now().timestamp_micros();
    if let Some(until) = found.as_ref().and_then(|u| u.locked_until).filter(|u| *u > now) {
        return Ok(locked(&req, lang, until));
    }
    let hash = found.as_ref().map_or(NO_USER_HASH.to_owned(), |u| u.password_hash.clone());
    let password = posted.password;
    let matched = state
        .compute(move |_| Ok(users::password_matches(&password, &hash)))
        .await
        .map_err(ConsoleError::api(lang))?;
    let Some(user) = found else { return Ok(refused(&req)) };
    let outcome = state
        .write(move |conn, _| users::conclude_sign_in(conn, user, matched))
        .await
        .map_err(ConsoleError::api(lang))?;
    match outcome {
        SignIn::Session(session, user) => {
            let value = keys.issue(&user, &session).map_err(ConsoleError::api(lang))?;
            Ok(HttpResponse::SeeOther()
                .cookie(cookie(&req, SESSION_COOKIE, value, "/console"))
                .cookie(removal(&req, LOGIN_COOKIE, "/console/login"))
                .insert_header((header::LOCATION, "/console/inbox"))
                .finish())
        }
        SignIn::Refused => Ok(refused(&req)),
        SignIn::Locked(until) => Ok(locked(&req, lang, until)),
    }
}

fn locked(req: &HttpRequest, lang: Lang, until: i64) -> HttpResponse {
    let at = lang.time(&crate::domain::local_rfc3339(until));
    show(
        req,
        lang,
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        Some(format!("{} {at}.", lang.t("locked"))),
    )
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
