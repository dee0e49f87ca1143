//! The search box of every page, and what it finds: the same search as the API's, as the
//! signed-in user.

use actix_web::{get, web};
use maud::{html, Markup};

use super::inbox::workflow_title;
use super::instance::state_title;
use super::layout::{columns, page};
use super::session::{ConsoleError, Signed};
use crate::http::api::AppState;
use crate::service::cases;
use crate::service::search::{self, HitKind, SearchQuery};

/// The route that may show personal data, as the record of a read names it.
const ROUTE: &str = "GET /console/search";

#[get("/search")]
pub async fn search_page(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<SearchQuery>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let actor = signed.actor.clone();
    let q = q.into_inner();
    let asked = q.q.clone();
    let shown = state
        .read(move |conn, rules| search::search(conn, &rules.registry, &actor, &q, ROUTE))
        .await
        .map_err(ConsoleError::api(lang))?;
    if !shown.reads.is_empty() {
        let reads = shown.reads;
        state
            .write(move |conn, _| cases::record_reads(conn, &reads))
            .await
            .map_err(ConsoleError::api(lang))?;
    }
    let registry = state.registry.clone();
    let found = shown.value;
    Ok(page(
        lang,
        Some(&signed),
        lang.t("search"),
        html! {
            h1 { (lang.t("search_results")) ": " q.query { (asked) } }
            section.card {
                @if found.items.is_empty() { p.muted { (lang.t("nothing_found")) } } @else {
                    table.stack {
                        (columns(lang, &["found", "state", "numbers", "parties"]))
                        tbody {
                            @for hit in &found.items {
                                tr {
                                    td data-label=(lang.t("found")) {
                                        @match (hit.kind, &hit.workflow) {
                                            (HitKind::Instance, Some(workflow)) => {
                                                a href={ "/console/instances/" (hit.id) } { (workflow_title(&registry, lang, workflow)) }
                                            }
                                            _ => { (lang.t("case")) " " strong { (hit.title) } }
                                        }
                                        @if hit.matched_personal_data {
                                            " " span.badge { (lang.t("found_by_personal_data")) }
                                        }
                                    }
                                    td data-label=(lang.t("state")) {
                                        @match (&hit.workflow, hit.workflow_version) {
                                            (Some(workflow), Some(version)) => {
                                                (state_title(registry.get(workflow, version).map(AsRef::as_ref), lang, &hit.state))
                                            }
                                            _ => (case_status(lang, &hit.state)),
                                        }
                                    }
                                    td data-label=(lang.t("numbers")) { (hit.numbers.join(" · ")) }
                                    td data-label=(lang.t("parties")) { (hit.agencies.join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// The words of a case's status.
fn case_status(lang: super::i18n::Lang, status: &str) -> String {
    let key = match status {
        "open" => "case_open",
        "suspended" => "case_suspended",
        "completed" => "case_completed",
        "terminated" => "case_terminated",
        "entrusted" => "case_entrusted",
        other => return other.to_owned(),
    };
    lang.t(key).to_owned()
}

/// The search box, in the header of every page.
pub fn search_box(lang: super::i18n::Lang) -> Markup {
    html! {
        form.search role="search" method="get" action="/console/search" {
            input type="search" name="q" required maxlength="200" aria-label=(lang.t("search"))
                placeholder=(lang.t("search_placeholder"));
            button type="submit" { (lang.t("search")) }
        }
    }
}
