//! Changing a password someone else set: an admin's reset, an approved new account, the
//! command line. Until it is changed, this page and signing out are all a session opens.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::i18n::Lang;
use super::layout::page;
use super::session::{ConsoleError, ConsoleKeys, Signed, PASSWORD_PAGE};
use crate::error::{ApiError, FieldError};
use crate::http::api::AppState;
use crate::service::users::{self, MAX_PASSWORD, MIN_PASSWORD};

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

fn form(lang: Lang, signed: &Signed, problem: Option<&str>) -> Markup {
    page(
        lang,
        Some(signed),
        lang.t("change_password"),
        html! {
            section.card.login {
                h1 { (lang.t("change_password")) }
                p { (lang.t("change_password_why")) }
                @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
                form method="post" action=(PASSWORD_PAGE) {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    label for="current" { (lang.t("current_password")) }
                    input type="password" id="current" name="current" autocomplete="current-password"
                        required maxlength=(MAX_PASSWORD);
                    label for="new" { (lang.t("new_password")) }
                    input type="password" id="new" name="new" autocomplete="new-password" required
                        minlength=(MIN_PASSWORD) maxlength=(MAX_PASSWORD);
                    label for="again" { (lang.t("new_password_again")) }
                    input type="password" id="again" name="again" autocomplete="new-password" required
                        minlength=(MIN_PASSWORD) maxlength=(MAX_PASSWORD);
                    button.primary type="submit" { (lang.t("change_password")) }
                }
            }
        },
    )
}

#[get("/password")]
pub async fn password_page(signed: Signed) -> Markup {
    form(signed.lang, &signed, None)
}

/// Sets the user's own password: the current one checked, the new one twice, not the same.
#[post("/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    posted: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang = signed.lang;
    let PasswordForm { current, new, again, .. } = posted.into_inner();
    let refused = |reason: String| {
        ConsoleError::Api(
            ApiError::validation("the password cannot be changed", vec![FieldError::new("new", reason)]),
            lang,
        )
    };
    if new != again {
        return Err(refused(lang.t("passwords_differ").to_owned()));
    }
    if new == current {
        return Err(refused(lang.t("password_unchanged").to_owned()));
    }
    users::check_password(&new).map_err(refused)?;
    let username = signed.actor.sub.clone();
    let found =
        state.read(move |conn, _| users::find(conn, &username)).await.map_err(ConsoleError::api(lang))?;
    let Some(user) = found else { return Err(ConsoleError::SignIn(None)) };
    let hash = state
        .compute(move |_| {
            if users::password_matches(&current, &user.password_hash) {
                users::hash_password(&new).map(Some)
            } else {
                Ok(None)
            }
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let Some(hash) = hash else {
        let error = FieldError::new("current", lang.t("current_password_wrong"));
        return Err(ConsoleError::Api(
            ApiError::validation("the password cannot be changed", vec![error]),
            lang,
        ));
    };
    let (username, session) = (signed.actor.sub.clone(), signed.session_id.clone());
    state
        .write(move |conn, _| users::choose_password(conn, &username, &session, &hash))
        .await
        .map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/inbox")).finish())
}
