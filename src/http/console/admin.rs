//! The admin page of users: who may sign in, for which agency and roles; add one, disable or
//! enable one, give one a new password. For admins only. Making an admin or an auditor, and
//! giving an admin a new password, wait for another admin's approval on the same page.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::i18n::Lang;
use super::layout::{columns, page};
use super::session::{ConsoleError, ConsoleKeys, Signed};
use crate::domain::{AgencyCode, Role};
use crate::error::{ApiError, FieldError};
use crate::http::api::AppState;
use crate::service::users::{self, NewUser, MAX_PASSWORD, MIN_PASSWORD};

fn admin_only(signed: &Signed) -> Result<(), ConsoleError> {
    if signed.actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(ConsoleError::Api(ApiError::forbidden(signed.lang.t("forbidden")), signed.lang))
    }
}

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Only this user's account events.
    events_of: Option<String>,
}

/// The account events the page shows, newest first.
const EVENTS_SHOWN: i64 = 100;

fn back() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/admin/users")).finish()
}

#[get("/admin/users")]
pub async fn users_page(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<EventsQuery>,
) -> Result<Markup, ConsoleError> {
    admin_only(&signed)?;
    let lang = signed.lang;
    // Only a name that could be a username is looked for.
    let of =
        q.into_inner().events_of.map(|u| u.trim().to_owned()).filter(|u| users::check_username(u).is_ok());
    let shown_for = of.clone();
    let (all, events, pending) = state
        .read(move |conn, _| {
            Ok((
                users::list(conn)?,
                users::latest_events(conn, of.as_deref(), EVENTS_SHOWN)?,
                users::pending_requests(conn)?,
            ))
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let csrf = signed.csrf.clone();
    Ok(page(
        lang,
        Some(&signed),
        lang.t("users"),
        html! {
            h1 { (lang.t("users")) }
            section.card aria-labelledby="pending" {
                h2 #pending { (lang.t("pending_requests")) " " span.badge { (pending.len()) } }
                p.muted { (lang.t("second_admin_explained")) }
                @if !pending.is_empty() {
                    table.stack {
                        (columns(lang, &["when", "username", "account_action", "requested_by", "actions"]))
                        tbody {
                            @for r in &pending {
                                tr {
                                    td data-label=(lang.t("when")) { (lang.time(&crate::domain::local_rfc3339(r.requested_at))) }
                                    td data-label=(lang.t("username")) { (r.username) }
                                    td data-label=(lang.t("account_action")) {
                                        (lang.t(if r.action == users::ADD_USER { "request_add_user" } else { "request_reset_password" }))
                                    }
                                    td data-label=(lang.t("requested_by")) { (r.requested_by) }
                                    td {
                                        @if r.requested_by == signed.actor.sub {
                                            span.muted { (lang.t("awaiting_another_admin")) }
                                        } @else {
                                            form.inline method="post" action={ "/console/admin/requests/" (r.id) } {
                                                input type="hidden" name="csrf" value=(csrf);
                                                button.plain type="submit" name="decision" value="approve" { (lang.t("approve")) }
                                                button.plain type="submit" name="decision" value="decline" { (lang.t("decline")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card {
                table.stack {
                    thead { tr {
                        th scope="col" { (lang.t("username")) }
                        th scope="col" { (lang.t("name")) }
                        th scope="col" { (lang.t("agency")) }
                        th scope="col" { (lang.t("roles")) }
                        th scope="col" { (lang.t("status")) }
                        th scope="col" { span.skip { (lang.t("actions")) } }
                    } }
                    tbody {
                        @for u in &all {
                            tr {
                                td data-label=(lang.t("username")) { (u.username) }
                                td data-label=(lang.t("name")) { (u.name) }
                                td data-label=(lang.t("agency")) { (u.agency_code) }
                                td data-label=(lang.t("roles")) { (u.roles.replace(',', ", ")) }
                                td data-label=(lang.t("status")) {
                                    @if u.disabled { span.badge.late { (lang.t("disabled")) } }
                                    @else { span.badge.ok { (lang.t("active")) } }
                                }
                                td {
                                    form method="post" action={ "/console/admin/users/" (u.username) (if u.disabled { "/enable" } else { "/disable" }) } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.plain type="submit" { (lang.t(if u.disabled { "enable" } else { "disable" })) }
                                    }
                                    form method="post" action={ "/console/admin/users/" (u.username) "/password" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        label for={ "pw-" (u.username) } { (lang.t("new_password")) }
                                        input type="password" id={ "pw-" (u.username) } name="password" autocomplete="new-password"
                                            required minlength=(MIN_PASSWORD) maxlength=(MAX_PASSWORD);
                                        button.plain type="submit" { (lang.t("reset_password")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="add" {
                h2 #add { (lang.t("add_user")) }
                form method="post" action="/console/admin/users" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="new-username" { (lang.t("username")) }
                    input type="text" id="new-username" name="username" required maxlength="64" autocapitalize="none";
                    label for="new-name" { (lang.t("name")) }
                    input type="text" id="new-name" name="name" required maxlength="200";
                    label for="new-agency" { (lang.t("agency")) }
                    input type="text" id="new-agency" name="agency" required maxlength="40";
                    fieldset {
                        legend { (lang.t("roles")) }
                        @for role in Role::ALL {
                            label.inline { input type="checkbox" name="role" value=(role.as_str()); " " (role.as_str()) }
                        }
                    }
                    label for="new-password" { (lang.t("password")) }
                    input type="password" id="new-password" name="password" autocomplete="new-password" required
                        minlength=(MIN_PASSWORD) maxlength=(MAX_PASSWORD);
                    button.primary type="submit" { (lang.t("add_user")) }
                }
            }
            section.card aria-labelledby="account-events" {
                h2 #account-events { (lang.t("account_events")) }
                form.filters method="get" action="/console/admin/users" {
                    label for="events-of" { (lang.t("username")) }
                    input type="text" id="events-of" name="events_of" value=(shown_for.unwrap_or_default())
                        maxlength="64" autocapitalize="none";
                    button type="submit" { (lang.t("show")) }
                }
                table.stack {
                    (columns(lang, &["when", "username", "account_action", "done_by"]))
                    tbody {
                        @for e in &events {
                            tr {
                                td data-label=(lang.t("when")) { (lang.time(&crate::domain::local_rfc3339(e.at))) }
                                td data-label=(lang.t("username")) { (e.username) }
                                td data-label=(lang.t("account_action")) { (lang.account_action(&e.action)) }
                                td data-label=(lang.t("done_by")) { (e.done_by) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[post("/admin/users")]
pub async fn add_user(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    posted: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    admin_only(&signed)?;
    let lang = signed.lang;
    let posted = posted.into_inner();
    let get = |name: &str| super::forms::posted_value(&posted, name);
    signed.check_csrf(&keys, &get("csrf"))?;
    let invalid = |field: &str, reason: String| {
        ConsoleError::Api(
            ApiError::validation("the user cannot be added", vec![FieldError::new(field, reason)]),
            lang,
        )
    };
    let agency = AgencyCode::parse(&get("agency")).map_err(|r| invalid("agency", r))?;
    let roles = posted
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.parse::<Role>().map_err(|r| invalid("roles", r.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let user =
        NewUser { username: get("username"), name: get("name"), agency, roles, password: get("password") };
    let second = users::needs_second_admin(&user.roles);
    let row = state.compute(move |_| users::prepare(&user)).await.map_err(ConsoleError::api(lang))?;
    // The admin chose the password: its user must change it at the first sign-in.
    let row = crate::store::users::UserRow { must_change_password: true, ..row };
    let by = signed.actor.sub.clone();
    state
        .write(move |conn, _| {
            if second {
                users::request_add(conn, &row, &by).map(drop)
            } else {
                users::add(conn, &row, &by)
            }
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    Ok(back())
}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// `approve` or `decline`.
    #[serde(default)]
    decision: String,
}

/// Approves or declines what another admin asked.
#[post("/admin/requests/{id}")]
pub async fn decide_request(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    id: web::Path<String>,
    posted: web::Form<DecisionForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin_only(&signed)?;
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang = signed.lang;
    let approve = match posted.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(ConsoleError::Api(ApiError::bad_request("decision is approve or decline"), lang)),
    };
    let (id, by) = (id.into_inner(), signed.actor.sub.clone());
    state
        .write(move |conn, _| users::decide(conn, &id, &by, approve))
        .await
        .map_err(ConsoleError::api(lang))?;
    Ok(back())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

async fn set_disabled(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    username: String,
    csrf: &str,
    disabled: bool,
) -> Result<HttpResponse, ConsoleError> {
    admin_only(&signed)?;
    signed.check_csrf(&keys, csrf)?;
    let lang = signed.lang;
    let by = signed.actor.sub.clone();
    state
        .write(move |conn, _| users::set_disabled(conn, &username, disabled, &by))
        .await
        .map_err(ConsoleError::api(lang))?;
    Ok(back())
}

#[post("/admin/users/{username}/disable")]
pub async fn disable_user(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    username: web::Path<String>,
    posted: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(state, keys, signed, username.into_inner(), &posted.csrf, true).await
}

#[post("/admin/users/{username}/enable")]
pub async fn enable_user(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    username: web::Path<String>,
    posted: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    set_disabled(state, keys, signed, username.into_inner(), &posted.csrf, false).await
}

#[post("/admin/users/{username}/password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    username: web::Path<String>,
    posted: web::Form<PasswordForm>,
) -> Result<HttpResponse, ConsoleError> {
    admin_only(&signed)?;
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang: Lang = signed.lang;
    let password = posted.into_inner().password;
    users::check_password(&password).map_err(|r| {
        ConsoleError::Api(
            ApiError::validation("the password cannot be set", vec![FieldError::new("password", r)]),
            lang,
        )
    })?;
    let hash =
        state.compute(move |_| users::hash_password(&password)).await.map_err(ConsoleError::api(lang))?;
    let username = username.into_inner();
    let by = signed.actor.sub.clone();
    state
        .write(move |conn, _| {
            if users::reset_needs_second_admin(conn, &username)? {
                users::request_reset(conn, &username, &hash, &by).map(drop)
            } else {
                users::reset_password(conn, &username, &hash, &by)
            }
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    Ok(back())
}
