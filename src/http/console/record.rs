//! The printable handover record (biên bản giao nhận) of a workflow that declares itself a
//! two-party handover (`[handover]`): the parties, the items as sent and as received, every
//! signature, the documents with their SHA-256, and the head of the history's hash chain, laid
//! out for an A4 page. The same record as the API's `GET /api/v1/instances/{id}/handover`.

use std::collections::BTreeMap;

use actix_web::{get, web};
use maud::{html, Markup};

use super::i18n::Lang;
use super::inbox::workflow_title;
use super::instance::state_title;
use super::layout::page;
use super::session::{ConsoleError, Signed};
use crate::engine::data::ReceiptStatus;
use crate::engine::definition::Definition;
use crate::http::api::{parse_id, AppState};
use crate::service::history::{self, HandoverParty, HandoverRecord, SignedBy};
use crate::service::{agencies, instances};

struct Seen {
    record: HandoverRecord,
    names: BTreeMap<String, String>,
    printed_at: String,
}

#[get("/instances/{id}/record")]
pub async fn record_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let id = parse_id(&id, "instance").map_err(ConsoleError::api(lang))?;
    let actor = signed.actor.clone();
    let seen = state
        .read(move |conn, rules| {
            // Read through the instance first: one the caller may not see is not found.
            instances::get(conn, &rules.registry, &actor, id)?;
            let record = history::handover(conn, &rules.registry, &actor, id)?;
            let mut codes: Vec<&str> = Vec::new();
            codes.extend(record.sending_party.agency.as_deref());
            codes.extend(record.receiving_party.agency.as_deref());
            let signers = record.sender.iter().chain(&record.receiver).chain(&record.resolution);
            codes.extend(signers.map(|s| s.agency.as_str()));
            let names = agencies::names(conn, &codes)?;
            Ok(Seen {
                record,
                names,
                printed_at: crate::domain::local_rfc3339(crate::domain::now().timestamp_micros()),
            })
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let registry = state.registry.clone();
    let r = &seen.record;
    let def = registry.get(&r.workflow, r.workflow_version).map(AsRef::as_ref);
    let title = lang.t("handover_record");
    let agency = |code: &str| match seen.names.get(code) {
        Some(name) => format!("{name} ({code})"),
        None => code.to_owned(),
    };
    Ok(page(
        lang,
        Some(&signed),
        title,
        html! {
            p.no-print {
                a href={ "/console/instances/" (r.instance_id) } { "← " (lang.t("back")) } " "
                button type="button" data-print { (lang.t("print")) }
            }
            article.record {
                header.record-head {
                    p.nation { strong { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" } br; "Độc lập - Tự do - Hạnh phúc" }
                    h1 { (title) }
                    p.subtitle { (workflow_title(&registry, lang, &r.workflow)) }
                    p.muted { (lang.t("record_of")) " " code { (r.instance_id) } " · " (lang.t("state")) ": " (state_title(def, lang, &r.state)) }
                }
                section {
                    h2 { (lang.t("parties")) }
                    dl.data {
                        (party(def, lang, lang.t("sending_party"), &r.sending_party, &agency))
                        (party(def, lang, lang.t("receiving_party"), &r.receiving_party, &agency))
                    }
                }
                section {
                    h2 { (lang.t("items_sent_received")) }
                    @if r.items.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                        table.record-items {
                            thead { tr {
                                th scope="col" { "#" }
                                th scope="col" { (lang.t("description")) }
                                th scope="col" { (lang.t("quantity")) }
                                th scope="col" { (lang.t("unit")) }
                                th scope="col" { (lang.t("seal")) }
                                th scope="col" { (lang.t("declared_value")) }
                                th scope="col" { (lang.t("as_received")) }
                            } }
                            tbody {
                                @for item in &r.items {
                                    tr {
                                        td { (item.item) }
                                        td { (item.description) }
                                        td.num { (item.quantity) }
                                        td { (item.unit) }
                                        td { (item.seal.as_deref().unwrap_or("")) }
                                        td.num { @if let Some(v) = &item.declared_value { (lang.money(v)) } }
                                        td {
                                            (received(lang, item.status))
                                            @if let Some(note) = &item.note { br; span.muted { (note) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if r.discrepancy { p.problem { (lang.t("record_discrepancy")) } }
                }
                section {
                    h2 { (lang.t("signatures")) }
                    table.record-signatures {
                        thead { tr {
                            th scope="col" { (lang.t("signed_as")) }
                            th scope="col" { (lang.t("who")) }
                            th scope="col" { (lang.t("agency")) }
                            th scope="col" { (lang.t("role")) }
                            th scope="col" { (lang.t("when")) }
                        } }
                        tbody {
                            @if let Some(s) = &r.sender { (signature(lang, lang.t("sending_party"), s, &agency)) }
                            @if let Some(s) = &r.receiver { (signature(lang, lang.t("receiving_party"), s, &agency)) }
                            @for s in &r.resolution { (signature(lang, lang.t("settlement"), s, &agency)) }
                        }
                    }
                    @if r.sender.is_none() || r.receiver.is_none() { p.muted { (lang.t("record_unsigned")) } }
                }
                section {
                    h2 { (lang.t("documents")) }
                    @if r.documents.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                        table.record-documents {
                            thead { tr {
                                th scope="col" { (lang.t("document")) }
                                th scope="col" { (lang.t("media_type")) }
                                th scope="col" { (lang.t("size")) }
                                th scope="col" { "SHA-256" }
                            } }
                            tbody {
                                @for d in &r.documents {
                                    tr {
                                        td { (d.name) }
                                        td { (d.media_type) }
                                        td.num { (d.size) " B" }
                                        td { code.hash { (d.sha256) } }
                                    }
                                }
                            }
                        }
                    }
                }
                footer.record-foot {
                    p { (lang.t("chain_head")) ": " code.hash { (r.head_hash) } }
                    @if r.verified { p { "✓ " (lang.t("history_verified")) } }
                    @else { p.problem role="alert" { (lang.t("history_broken")) } }
                    p.muted { (lang.t("printed_at")) " " (lang.time(&seen.printed_at)) }
                }
            }
        },
    ))
}

fn party(
    def: Option<&Definition>,
    lang: Lang,
    side: &str,
    p: &HandoverParty,
    agency: &dyn Fn(&str) -> String,
) -> Markup {
    let slot =
        def.and_then(|d| d.party(&p.slot)).map_or(p.slot.as_str(), |s| lang.pick(&s.title_vi, &s.title_en));
    html! {
        dt { (side) " (" (slot) ")" }
        dd { (p.agency.as_deref().map(agency).unwrap_or_default()) }
    }
}

fn signature(lang: Lang, side: &str, s: &SignedBy, agency: &dyn Fn(&str) -> String) -> Markup {
    html! {
        tr {
            td { (side) }
            td { (s.name) br; span.muted { (s.sub) } }
            td { (agency(&s.agency)) }
            td { (s.role) }
            td { (lang.time(&s.at)) }
        }
    }
}

fn received(lang: Lang, status: Option<ReceiptStatus>) -> &'static str {
    match status {
        Some(ReceiptStatus::Received) => lang.t("received"),
        Some(ReceiptStatus::Missing) => lang.t("missing"),
        Some(ReceiptStatus::Damaged) => lang.t("damaged"),
        None => lang.t("not_yet_received"),
    }
}
