//! An instance's page: where it stands on its diagram, its parties, data and deadlines, its
//! verified history, and a form for each step the user may take now; and the list of the
//! agency's instances in progress.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup, PreEscaped};
use serde_json::{Map, Value};

use super::forms;
use super::i18n::Lang;
use super::inbox::workflow_title;
use super::layout::{columns, page};
use super::posted::{keep_documents, Posted};
use super::session::{ConsoleError, ConsoleKeys, Signed};
use crate::engine::definition::{DataField, DataType, Definition};
use crate::engine::history::Verification;
use crate::engine::registry::Registry;
use crate::error::ApiError;
use crate::http::api::{parse_id, AppState};
use crate::service::history::{self, History};
use crate::service::instances::{self, AvailableTransition, FireTransition, Instance, ListQuery};
use crate::service::workflows::{self, DiagramFormat};

/// What the page shows of one instance, read on one connection.
struct Seen {
    instance: Instance,
    steps: Vec<AvailableTransition>,
    history: History,
    verified: Verification,
    diagram: String,
}

pub fn state_title(def: Option<&Definition>, lang: Lang, state: &str) -> String {
    def.and_then(|d| d.state(state))
        .map_or_else(|| state.to_owned(), |s| lang.pick(&s.title_vi, &s.title_en).to_owned())
}

/// Where an instance stands, named by its own definition.
pub fn state_of(registry: &Registry, lang: Lang, i: &Instance) -> String {
    state_title(registry.get(&i.workflow, i.workflow_version).map(AsRef::as_ref), lang, &i.state)
}

fn step_title(def: Option<&Definition>, lang: Lang, step: &str) -> String {
    match def.and_then(|d| d.transition(step)) {
        Some(t) => lang.pick(&t.title_vi, &t.title_en).to_owned(),
        None if step == "create" => lang.pick("Khởi tạo", "Started").to_owned(),
        None if step == crate::engine::migrate::MIGRATION => lang
            .pick("Chuyển sang phiên bản mới của quy trình", "Moved to a new version of the workflow")
            .to_owned(),
        None => step.to_owned(),
    }
}

/// The field of the data named `name`, from the create rule or any step.
fn field_of<'a>(def: Option<&'a Definition>, name: &str) -> Option<&'a DataField> {
    def.and_then(|d| {
        d.create.data.iter().chain(d.transitions.iter().flat_map(|t| &t.data)).find(|f| f.name == name)
    })
}

/// A value of the data, written as its field's type reads best; `all` is the data it is part
/// of, where a receipt finds the manifest it confirms.
fn shown(
    def: Option<&Definition>,
    lang: Lang,
    name: &str,
    value: &Value,
    all: &Map<String, Value>,
) -> Markup {
    let field = field_of(def, name);
    let kind = field.map(|f| f.kind);
    match (kind, value) {
        (Some(DataType::Receipt), Value::Array(lines)) => {
            let manifest =
                field.and_then(|f| f.of.as_deref()).and_then(|of| all.get(of)).and_then(Value::as_array);
            receipt(lang, lines, manifest.map(Vec::as_slice).unwrap_or_default())
        }
        (Some(DataType::Money), Value::String(s)) => html! { (lang.money(s)) " đ" },
        (Some(DataType::Date), Value::String(s)) => html! { (lang.day(s)) },
        (Some(DataType::Datetime), Value::String(s)) => html! { (lang.time(s)) },
        (Some(DataType::Items), Value::Array(items)) => html! {
            ol { @for item in items { li { (forms::describe(lang, item)) } } }
        },
        (Some(DataType::Choice), Value::String(s)) => html! { (lang.option(s)) },
        (Some(DataType::Document), Value::Array(list)) => {
            html! { ul.documents { @for d in list { li { (document(d)) } } } }
        }
        (Some(DataType::Document), Value::Object(_)) => document(value),
        (_, Value::String(s)) => html! { (s) },
        (_, Value::Bool(b)) => html! { (lang.t(if *b { "yes" } else { "no" })) },
        (_, other) => html! { (other.to_string()) },
    }
}

/// A document a step took: its name, a link to download it, its type, size and SHA-256.
fn document(d: &Value) -> Markup {
    let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default();
    let size = d.get("size").and_then(Value::as_u64).unwrap_or_default();
    html! {
        a href={ "/console/documents/" (text("id")) } download { (text("name")) }
        " " span.muted { (text("media_type")) ", " (size) " B" }
        br; code.hash title="SHA-256" { (text("sha256")) }
    }
}

/// A receipt, line by line against the manifest: what came, what is missing or damaged.
fn receipt(lang: Lang, lines: &[Value], manifest: &[Value]) -> Markup {
    html! {
        table.receipt {
            (columns(lang, &["item", "status", "note"]))
            tbody {
                @for line in lines {
                    @let n = line["item"].as_u64().unwrap_or_default();
                    @let status = line["status"].as_str().unwrap_or_default();
                    @let item = usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| manifest.get(i));
                    tr.discrepancy[status != "received"] {
                        td data-label=(lang.t("item")) {
                            (n) ". " @if let Some(item) = item { (forms::describe(lang, item)) }
                        }
                        td data-label=(lang.t("status")) {
                            span.badge.ok[status == "received"].late[status != "received"] {
                                (lang.t(match status { "missing" => "missing", "damaged" => "damaged", _ => "received" }))
                            }
                        }
                        td data-label=(lang.t("note")) { (line["note"].as_str().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

fn field_title(def: Option<&Definition>, lang: Lang, name: &str) -> String {
    field_of(def, name).map_or_else(|| name.to_owned(), |f| lang.pick(&f.title_vi, &f.title_en).to_owned())
}

/// `data` as a list of its fields; `all` is the instance's data, for the receipts in it.
fn data_list(
    def: Option<&Definition>,
    lang: Lang,
    data: &Map<String, Value>,
    all: &Map<String, Value>,
) -> Markup {
    html! {
        dl.data {
            @for (name, value) in data {
                @if !name.starts_with('_') {
                    dt { (field_title(def, lang, name)) }
                    dd { (shown(def, lang, name, value, all)) }
                }
            }
        }
    }
}

/// The joint steps under way: what was proposed, who signed, who has yet to; seen alike by
/// every party.
fn joint_steps(def: Option<&Definition>, lang: Lang, i: &Instance) -> Markup {
    html! {
        @for (step, joint) in &i.pending_signatures {
            @let signers = def.and_then(|d| d.transition(step)).map(|t| t.signed_by.clone()).unwrap_or_default();
            section.card.joint aria-labelledby={ "joint-" (step) } {
                h2 id={ "joint-" (step) } { (lang.t("joint_step")) ": " (step_title(def, lang, step)) }
                (data_list(def, lang, &joint.proposal, &i.data))
                ul.signatures {
                    @for slot in &signers {
                        @let party = def.and_then(|d| d.party(slot)).map_or(slot.clone(), |p| lang.pick(&p.title_vi, &p.title_en).to_owned());
                        @match joint.signatures.iter().find(|s| &s.slot == slot) {
                            Some(s) => li.signed { "✓ " (party) ": " (lang.t("signed_by")) " " (s.name) " · " (s.agency) ", " (lang.time(&s.at)) },
                            None => li.awaiting { "… " (party) ": " (lang.t("awaiting_signature")) },
                        }
                    }
                }
            }
        }
    }
}

#[get("/instances/{id}")]
pub async fn instance_page(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let id = parse_id(&id, "instance").map_err(ConsoleError::api(lang))?;
    let actor = signed.actor.clone();
    let seen = state
        .read(move |conn, rules| {
            let registry = &rules.registry;
            Ok(Seen {
                instance: instances::get(conn, registry, &actor, id)?,
                steps: instances::available(conn, registry, &actor, id)?,
                history: history::history(conn, registry, &actor, id)?,
                verified: history::verify(conn, registry, &actor, id)?,
                diagram: workflows::instance_diagram(conn, registry, &actor, id, DiagramFormat::Svg)?.body,
            })
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let registry = state.registry.clone();
    let i = &seen.instance;
    let def = registry.get(&i.workflow, i.workflow_version).map(AsRef::as_ref);
    let title = workflow_title(&registry, lang, &i.workflow);
    Ok(page(
        lang,
        Some(&signed),
        &title,
        html! {
            h1 { (title) }
            p {
                (lang.t("state")) ": " strong { (state_title(def, lang, &i.state)) } " "
                @if i.terminal { span.badge { (lang.t("ended")) } } @else { span.badge.ok { (lang.t("open")) } }
                " " span.muted { "v" (i.version) " · " (lang.time(&i.updated_at)) }
            }
            @if def.is_some_and(|d| d.handover.is_some()) {
                p { a href={ "/console/instances/" (i.id) "/record" } { (lang.t("print_record")) } }
            }
            (joint_steps(def, lang, i))
            section.card aria-labelledby="actions" {
                h2 #actions { (lang.t("actions")) }
                @if seen.steps.is_empty() { p.muted { (lang.t("no_actions")) } }
                @for t in &seen.steps { (forms::step_form(lang, &signed.csrf, i, t)) }
            }
            section.card.diagram aria-label=(lang.t("workflow")) { (PreEscaped(&seen.diagram)) }
            section.card aria-labelledby="parties" {
                h2 #parties { (lang.t("parties")) }
                dl.data {
                    @for (slot, agency) in &i.parties {
                        @let party = def.and_then(|d| d.party(slot));
                        dt { (party.map_or(slot.as_str(), |p| lang.pick(&p.title_vi, &p.title_en))) }
                        dd { (agency) }
                    }
                }
            }
            section.card aria-labelledby="data" {
                h2 #data { (lang.t("data")) }
                (data_list(def, lang, &i.data, &i.data))
            }
            section.card aria-labelledby="deadlines" {
                h2 #deadlines { (lang.t("deadlines")) }
                @let deadlines = i.deadlines.as_deref().unwrap_or_default();
                @if deadlines.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    table.stack {
                        (columns(lang, &["deadlines", "due", "responsible", "status"]))
                        tbody {
                            @for d in deadlines {
                                tr.overdue[d.overdue] {
                                    td data-label=(lang.t("deadlines")) { span.basis title=(super::layout::basis(lang, d)) { (super::inbox::deadline_title(&registry, lang, &d.workflow, &d.name, &d.title)) } }
                                    td data-label=(lang.t("due")) { (lang.day(&d.due_date)) }
                                    td data-label=(lang.t("responsible")) { (d.responsible) }
                                    td data-label=(lang.t("status")) {
                                        @if d.overdue { span.badge.late { (lang.t("overdue")) } }
                                        @else { (lang.t(match d.status.as_str() {
                                            "met" => "met", "missed" => "missed", "suspended" => "suspended", _ => "running",
                                        })) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="history" {
                h2 #history { (lang.t("history")) }
                @if seen.verified.valid { p.notice { "✓ " (lang.t("history_verified")) } }
                @else { p.problem role="alert" { (lang.t("history_broken")) ": " (seen.verified.reason.clone().unwrap_or_default()) } }
                table.stack {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (lang.t("when")) }
                        th scope="col" { (lang.t("who")) }
                        th scope="col" { (lang.t("step")) }
                    } }
                    tbody {
                        @for e in &seen.history.events {
                            tr {
                                td data-label="#" { (e.seq) }
                                td data-label=(lang.t("when")) { (lang.time(&e.occurred_at)) }
                                td data-label=(lang.t("who")) { (e.actor.name) " · " (e.actor.agency) " · " span.muted { (e.actor.role) } }
                                td data-label=(lang.t("step")) {
                                    (step_title(def, lang, &e.transition)) " → " (state_title(def, lang, &e.to_state))
                                    @if let Some(c) = &e.comment { br; span.muted { (c) } }
                                    @if let Value::Object(data) = &e.data { @if !data.is_empty() { (data_list(def, lang, data, &i.data)) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// A document an instance took, downloaded from its page.
#[get("/documents/{id}")]
pub async fn document_download(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let lang = signed.lang;
    crate::http::api::documents::send(&state, signed.actor.clone(), &id)
        .await
        .map_err(ConsoleError::api(lang))
}

#[post("/instances/{id}/steps")]
pub async fn take_step(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    id: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let lang = signed.lang;
    let get = |name: &str| super::forms::posted_value(&posted.fields, name);
    signed.check_csrf(&keys, &get("csrf"))?;
    let id = parse_id(&id, "instance").map_err(ConsoleError::api(lang))?;
    let transition = get("transition");
    let expected_version: i64 = get("expected_version")
        .parse()
        .map_err(|_| ConsoleError::Api(ApiError::bad_request("no version"), lang))?;
    // The fields the form was drawn from tell how to read it (a sum, a date, a manifest); the
    // step checks what they give against the instance's own definition.
    let fields = get("workflow_version")
        .parse()
        .ok()
        .and_then(|version| state.registry.get(&get("workflow"), version))
        .and_then(|d| d.transition(&transition))
        .map(|t| t.data.clone())
        .unwrap_or_default();
    let comment = Some(get("comment")).filter(|c| !c.trim().is_empty());
    // Read as the form was written, whatever the language is now.
    let mut data = forms::read(Lang::from_code(&get("lang")).unwrap_or(lang), &fields, &posted.fields)
        .map_err(ConsoleError::api(lang))?;
    // The files it carries are kept first, then named by their ids.
    let (documents, _) =
        keep_documents(&state, &signed.actor, &fields, &posted).await.map_err(ConsoleError::api(lang))?;
    data.extend(documents);
    let step = FireTransition { transition, expected_version: Some(expected_version), data, comment };
    let actor = signed.actor.clone();
    state
        .write(move |conn, rules| instances::fire(conn, rules, &actor, id, step, None, ""))
        .await
        .map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/console/instances/{id}")))
        .finish())
}

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    /// Where the page starts: the `next_cursor` of the one before.
    after: Option<String>,
}

/// Instances a page of the list shows.
const LISTED: i64 = 100;

#[get("/instances")]
pub async fn instances_page(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<PageQuery>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let actor = signed.actor.clone();
    let cursor = match q.into_inner().after.filter(|a| !a.is_empty()) {
        Some(a) => Some(
            a.parse()
                .map_err(|_| ConsoleError::Api(ApiError::bad_request("after is an instance id"), lang))?,
        ),
        None => None,
    };
    let listed = state
        .read(move |conn, rules| {
            let q = ListQuery { open: Some(true), cursor, limit: LISTED, ..Default::default() };
            instances::list(conn, &rules.registry, &actor, q)
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let registry = state.registry.clone();
    Ok(page(
        lang,
        Some(&signed),
        lang.t("instances"),
        html! {
            h1 { (lang.t("list_open")) }
            section.card {
                @if listed.items.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    table.stack {
                        (columns(lang, &["workflow", "state", "parties", "when"]))
                        tbody {
                            @for i in &listed.items {
                                tr {
                                    td data-label=(lang.t("workflow")) {
                                        a href={ "/console/instances/" (i.id) } { (workflow_title(&registry, lang, &i.workflow)) }
                                    }
                                    td data-label=(lang.t("state")) { (state_of(&registry, lang, i)) }
                                    td data-label=(lang.t("parties")) {
                                        (i.parties.values().cloned().collect::<Vec<_>>().join(", "))
                                    }
                                    td data-label=(lang.t("when")) { (lang.time(&i.updated_at)) }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &listed.next_cursor {
                    p { a href={ "/console/instances?after=" (next) } rel="next" { (lang.t("more")) " →" } }
                }
            }
        },
    ))
}
