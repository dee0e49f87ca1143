//! The procuracy's view: the requests, recommendations and protests its inspectors issued,
//! the replies due from the offices (late ones first, in red), and the replies waiting for the
//! inspector to accept or reject them, each a link to its instance, where the forms are.

use actix_web::{get, web};
use maud::{html, Markup};
use serde_json::Value;

use super::instance::state_of;
use super::layout::{columns, due, page};
use super::session::{ConsoleError, Signed};
use crate::api::AppState;
use crate::service::deadlines::{self, Deadline, StatusFilter};
use crate::service::instances::{self, Instance, ListQuery};

const WORKFLOW: &str = "procuracy_supervision";
/// Most instruments and replies the page shows.
const SHOWN: i64 = 200;

fn text<'a>(i: &'a Instance, key: &str) -> &'a str {
    i.data.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[get("/procuracy")]
pub async fn procuracy_page(state: web::Data<AppState>, signed: Signed) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let actor = signed.actor.clone();
    let (issued, to_assess, replies) = state
        .read(move |conn, rules| {
            let q = ListQuery {
                workflow: Some(WORKFLOW.into()),
                party: Some(actor.agency.clone()),
                limit: SHOWN,
                ..Default::default()
            };
            let issued = instances::list(conn, &rules.registry, &actor, q)?.items;
            // Answers waiting for the inspector, however old the instrument.
            let q = ListQuery {
                workflow: Some(WORKFLOW.into()),
                state: Some("answered".into()),
                party: Some(actor.agency.clone()),
                limit: SHOWN,
                ..Default::default()
            };
            let answered = instances::list(conn, &rules.registry, &actor, q)?.items;
            let q = deadlines::Query {
                status: Some(StatusFilter::Open),
                workflow: Some(WORKFLOW.into()),
                limit: SHOWN,
                ..Default::default()
            };
            let replies: Vec<Deadline> = deadlines::list(conn, &actor, q)?.items;
            Ok((issued, answered, replies))
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let registry = state.registry.clone();
    let issued_by_id = |id: &str| issued.iter().chain(&to_assess).find(|i| i.id == id);
    let late = replies.iter().filter(|d| d.overdue).count();
    Ok(page(
        lang,
        Some(&signed),
        lang.t("procuracy"),
        html! {
            h1 { (lang.t("procuracy")) }
            p { a.button href={ "/console/new/" (WORKFLOW) } { (lang.t("issue_instrument")) } }
            section.card aria-labelledby="replies-due" {
                h2 #replies-due {
                    (lang.t("replies_due")) " " span.badge { (replies.len()) }
                    @if late > 0 { " " span.badge.late { (late) " " (lang.t("overdue")) } }
                }
                @if replies.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    table.stack {
                        (columns(lang, &["due", "document", "office", "deadlines"]))
                        tbody {
                            @for d in &replies {
                                @let instance = issued_by_id(&d.instance_id);
                                tr.overdue[d.overdue] {
                                    td data-label=(lang.t("due")) {
                                        (due(lang, d))
                                    }
                                    td data-label=(lang.t("document")) {
                                        a href={ "/console/instances/" (d.instance_id) } {
                                            @match instance {
                                                Some(i) => { (lang.option(text(i, "instrument"))) " " (text(i, "document_number")) },
                                                None => { (d.title) },
                                            }
                                        }
                                    }
                                    td data-label=(lang.t("office")) { (d.responsible) }
                                    td data-label=(lang.t("deadlines")) { (d.title) }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="to-assess" {
                h2 #to-assess { (lang.t("replies_to_assess")) " " span.badge { (to_assess.len()) } }
                @if to_assess.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    ul.links {
                        @for i in &to_assess {
                            li {
                                a href={ "/console/instances/" (i.id) } {
                                    (lang.option(text(i, "instrument"))) " " (text(i, "document_number"))
                                }
                                " · " (i.parties.get("enforcement").cloned().unwrap_or_default())
                                " · " (lang.t("reply")) " " (text(i, "reply_number"))
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="issued" {
                h2 #issued { (lang.t("instruments_issued")) " " span.badge { (issued.len()) } }
                @if issued.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    table.stack {
                        (columns(lang, &["document", "issued_on", "office", "state"]))
                        tbody {
                            @for i in &issued {
                                tr {
                                    td data-label=(lang.t("document")) {
                                        a href={ "/console/instances/" (i.id) } {
                                            (lang.option(text(i, "instrument"))) " " (text(i, "document_number"))
                                        }
                                    }
                                    td data-label=(lang.t("issued_on")) { (lang.day(text(i, "issued_on"))) }
                                    td data-label=(lang.t("office")) { (i.parties.get("enforcement").cloned().unwrap_or_default()) }
                                    td data-label=(lang.t("state")) { (state_of(&registry, lang, i)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::i18n::Lang;

    #[test]
    fn instruments_are_named_in_both_languages() {
        assert_eq!(Lang::Vi.option("recommendation"), "Kiến nghị");
        assert_eq!(Lang::En.option("protest"), "Protest");
        assert_eq!(Lang::Vi.option("no_such_option"), "no_such_option");
    }
}
