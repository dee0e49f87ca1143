//! The procuracy's view: the requests, recommendations and protests its inspectors issued,
//! the replies due from the offices (late ones first, in red), and the replies waiting for the
//! inspector to accept or reject them, each a link to its instance, where the forms are.

use std::collections::BTreeSet;

use actix_web::{get, web};
use maud::{html, Markup};
use serde_json::Value;

use super::instance::state_of;
use super::layout::{columns, due, page};
use super::session::{ConsoleError, Signed};
use crate::engine::definition::Supervision;
use crate::engine::registry::Registry;
use crate::http::api::AppState;
use crate::service::deadlines::{self, StatusFilter};
use crate::service::instances::{self, Instance, ListQuery};

/// Most instruments and replies the page shows.
const SHOWN: i64 = 200;

/// What the procuracy's page reads of an instrument, as its definition's `[supervision]`
/// declares.
struct Instrument<'a> {
    instance: &'a Instance,
    supervision: &'a Supervision,
}

impl<'a> Instrument<'a> {
    fn of(registry: &'a Registry, instance: &'a Instance) -> Option<Self> {
        let def = registry.get(&instance.workflow, instance.workflow_version)?;
        Some(Instrument { instance, supervision: def.supervision.as_ref()? })
    }

    fn all(registry: &'a Registry, list: &'a [Instance]) -> Vec<Self> {
        list.iter().filter_map(|i| Self::of(registry, i)).collect()
    }

    fn text(&self, field: Option<&str>) -> &'a str {
        field.and_then(|f| self.instance.data.get(f)).and_then(Value::as_str).unwrap_or_default()
    }

    fn kind(&self) -> &'a str {
        self.text(Some(&self.supervision.instrument))
    }

    fn number(&self) -> &'a str {
        self.text(Some(&self.supervision.number))
    }

    fn issued_on(&self) -> &'a str {
        self.text(Some(&self.supervision.issued_on))
    }

    fn reply_number(&self) -> &'a str {
        self.text(self.supervision.reply_number.as_deref())
    }

    fn office(&self) -> String {
        self.instance.parties.get(&self.supervision.supervised).cloned().unwrap_or_default()
    }
}

#[get("/procuracy")]
pub async fn procuracy_page(state: web::Data<AppState>, signed: Signed) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let actor = signed.actor.clone();
    let (issued, to_assess, replies) = state
        .read(move |conn, rules| {
            let (mut issued, mut answered, mut replies) = (Vec::new(), Vec::new(), Vec::new());
            for workflow in rules.registry.supervision_workflows() {
                let q = ListQuery {
                    workflow: Some(workflow.to_owned()),
                    party: Some(actor.agency.clone()),
                    limit: SHOWN,
                    ..Default::default()
                };
                issued.extend(instances::list(conn, &rules.registry, &actor, q)?.items);
                // Answers waiting for the inspector, however old the instrument.
                let waiting: BTreeSet<&str> = rules
                    .registry
                    .versions(workflow)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.supervision.as_ref())
                    .flat_map(|s| s.awaiting_assessment.iter().map(String::as_str))
                    .collect();
                for state in waiting {
                    let q = ListQuery {
                        workflow: Some(workflow.to_owned()),
                        state: Some(state.to_owned()),
                        party: Some(actor.agency.clone()),
                        limit: SHOWN,
                        ..Default::default()
                    };
                    answered.extend(instances::list(conn, &rules.registry, &actor, q)?.items);
                }
                let q = deadlines::Query {
                    status: Some(StatusFilter::Open),
                    workflow: Some(workflow.to_owned()),
                    limit: SHOWN,
                    ..Default::default()
                };
                replies.extend(deadlines::list(conn, &actor, q)?.items);
            }
            Ok((issued, answered, replies))
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let registry = state.registry.clone();
    let (issued, to_assess) = (Instrument::all(&registry, &issued), Instrument::all(&registry, &to_assess));
    let issued_by_id = |id: &str| issued.iter().chain(&to_assess).find(|i| i.instance.id == id);
    let new_instrument = registry.supervision_workflows().first().map(|w| format!("/console/new/{w}"));
    let late = replies.iter().filter(|d| d.overdue).count();
    Ok(page(
        lang,
        Some(&signed),
        lang.t("procuracy"),
        html! {
            h1 { (lang.t("procuracy")) }
            @if let Some(href) = &new_instrument {
                p { a.button href=(href) { (lang.t("issue_instrument")) } }
            }
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
                                                Some(i) => { (lang.option(i.kind())) " " (i.number()) },
                                                None => { (d.title) },
                                            }
                                        }
                                    }
                                    td data-label=(lang.t("office")) { (d.responsible) }
                                    td data-label=(lang.t("deadlines")) { (super::inbox::deadline_title(&state.registry, lang, &d.workflow, &d.name, &d.title)) }
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
                                a href={ "/console/instances/" (i.instance.id) } {
                                    (lang.option(i.kind())) " " (i.number())
                                }
                                " · " (i.office())
                                " · " (lang.t("reply")) " " (i.reply_number())
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
                                        a href={ "/console/instances/" (i.instance.id) } {
                                            (lang.option(i.kind())) " " (i.number())
                                        }
                                    }
                                    td data-label=(lang.t("issued_on")) { (lang.day(i.issued_on())) }
                                    td data-label=(lang.t("office")) { (i.office()) }
                                    td data-label=(lang.t("state")) { (state_of(&registry, lang, i.instance)) }
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
