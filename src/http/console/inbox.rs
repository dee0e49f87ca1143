//! The inbox first: what the user's agency and roles must do now, soonest due first, overdue in
//! red with the legal basis of each deadline; and the notifications not yet read.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::i18n::Lang;
use super::layout::{columns, due, page};
use super::session::{ConsoleError, ConsoleKeys, Signed};
use crate::engine::registry::Registry;
use crate::engine::step::Actor;
use crate::http::api::AppState;
use crate::service::deadlines::{self, Deadline, StatusFilter};
use crate::service::inbox::{self, Notification};

/// Most deadlines and notifications the page shows.
const SHOWN: i64 = 200;
/// Most pages of the agency's deadlines read to find the user's.
const PAGES: usize = 10;

/// Whether the deadline waits on someone with the actor's roles (no roles named: anyone there).
fn mine(actor: &Actor, d: &Deadline) -> bool {
    d.responsible == actor.agency.as_str()
        && (d.responsible_roles.is_empty()
            || actor.roles.iter().any(|r| d.responsible_roles.iter().any(|x| x == r.as_str())))
}

/// The title of a workflow in the user's language.
pub fn workflow_title(registry: &Registry, lang: Lang, id: &str) -> String {
    registry
        .versions(id)
        .and_then(|v| v.last())
        .map_or_else(|| id.to_owned(), |d| lang.pick(&d.title_vi, &d.title_en).to_owned())
}

/// A deadline's title in the page's language, as its definition declares it; `fallback` (the
/// title it was opened with) when no loaded definition has it.
pub fn deadline_title(registry: &Registry, lang: Lang, workflow: &str, name: &str, fallback: &str) -> String {
    registry
        .deadline(workflow, name)
        .map_or_else(|| fallback.to_owned(), |d| lang.pick(&d.title_vi, &d.title_en).to_owned())
}

#[get("/inbox")]
pub async fn inbox_page(state: web::Data<AppState>, signed: Signed) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let actor = signed.actor.clone();
    let (deadlines, unread) = state
        .read(move |conn, _| {
            // The agency's open deadlines, soonest first, page by page until the page is full
            // of those waiting on the user's roles.
            let mut due = Vec::new();
            let mut cursor = None;
            for _ in 0..PAGES {
                let q = deadlines::Query {
                    status: Some(StatusFilter::Open),
                    agency: Some(actor.agency.clone()),
                    cursor,
                    limit: SHOWN,
                    ..Default::default()
                };
                let page = deadlines::list(conn, &actor, q)?;
                due.extend(page.items.into_iter().filter(|d| mine(&actor, d)));
                cursor = page.next_cursor;
                if cursor.is_none() || due.len() >= SHOWN as usize {
                    break;
                }
            }
            due.truncate(SHOWN as usize);
            let unread = inbox::list(conn, &actor, true, None, SHOWN)?.items;
            Ok((due, unread))
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let registry = state.registry.clone();
    Ok(page(
        lang,
        Some(&signed),
        lang.t("inbox"),
        html! {
            h1 { (lang.t("inbox")) }
            section.card aria-labelledby="due" {
                h2 #due { (lang.t("deadlines_due")) " " span.badge { (deadlines.len()) } }
                @if deadlines.is_empty() { p.muted { (lang.t("no_deadlines")) } } @else {
                    table.stack {
                        (columns(lang, &["due", "workflow", "deadlines", "legal_basis"]))
                        tbody {
                            @for d in &deadlines {
                                tr.overdue[d.overdue] {
                                    td data-label=(lang.t("due")) {
                                        (due(lang, d))
                                    }
                                    td data-label=(lang.t("workflow")) {
                                        a href={ "/console/instances/" (d.instance_id) } { (workflow_title(&registry, lang, &d.workflow)) }
                                    }
                                    td data-label=(lang.t("deadlines")) { (deadline_title(&registry, lang, &d.workflow, &d.name, &d.title)) }
                                    td.muted data-label=(lang.t("legal_basis")) { (super::layout::basis(lang, d)) }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="unread" {
                h2 #unread { (lang.t("unread")) " " span.badge { (unread.len()) } }
                @if unread.is_empty() { p.muted { (lang.t("no_unread")) } } @else {
                    table.stack {
                        tbody {
                            @for n in &unread { (notification(lang, &signed.csrf, n)) }
                        }
                    }
                }
            }
        },
    ))
}

fn notification(lang: Lang, csrf: &str, n: &Notification) -> Markup {
    html! {
        tr {
            td { (lang.time(&n.created_at)) }
            td {
                @if let Some(id) = &n.instance_id { a href={ "/console/instances/" (id) } { (n.subject) } }
                @else { (n.subject) }
            }
            td {
                form method="post" action={ "/console/inbox/" (n.id) "/read" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button.plain type="submit" { (lang.t("mark_read")) }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[post("/inbox/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    id: web::Path<String>,
    posted: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang = signed.lang;
    let id = crate::http::api::parse_id(&id, "notification").map_err(ConsoleError::api(lang))?;
    let actor = signed.actor.clone();
    state.write(move |conn, _| inbox::mark_read(conn, &actor, id)).await.map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/inbox")).finish())
}
