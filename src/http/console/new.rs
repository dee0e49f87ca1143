//! Starting an instance from the console: the workflows the user's agency and roles may start,
//! and for one of them a form of its parties and of the data its create rule asks for.
//!
//! The form carries a key of its own, sent as the request's idempotency key: a form posted
//! twice (a double click, a reload) starts one instance, and the second post lands on it.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use maud::{html, Markup};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::forms;
use super::i18n::Lang;
use super::inbox::workflow_title;
use super::layout::page;
use super::posted::{keep_documents, Posted};
use super::session::{ConsoleError, ConsoleKeys, Signed};
use crate::domain::{today_local, AgencyKind};
use crate::engine::definition::Definition;
use crate::engine::step::Actor;
use crate::error::ApiError;
use crate::http::api::AppState;
use crate::service::agencies;
use crate::service::idempotency::{self, Body, IdempotencyKey};
use crate::service::instances::CreateInstance;

/// Most agencies of one kind offered as a party (the field takes any code typed in).
const OFFERED: i64 = 1000;

/// Whether the actor may start `def`: one of its roles, from an agency of the kind of the
/// slot that starts it.
fn may_start(def: &Definition, actor: &Actor, kind: AgencyKind) -> bool {
    def.party(&def.create.party).is_some_and(|p| p.kind == kind)
        && def.create.roles.iter().any(|r| actor.has_role(*r))
}

/// The kind of the actor's agency.
async fn kind_of(state: &AppState, actor: &Actor, lang: Lang) -> Result<AgencyKind, ConsoleError> {
    let code = actor.agency.to_string();
    let row = state
        .read(move |conn, _| Ok(crate::store::agencies::find(conn, &code)?))
        .await
        .map_err(ConsoleError::api(lang))?
        .ok_or_else(|| ConsoleError::Api(ApiError::not_found("your agency is not registered"), lang))?;
    row.kind.parse::<AgencyKind>().map_err(|e| ConsoleError::Api(ApiError::internal(e), lang))
}

#[get("/new")]
pub async fn choose(state: web::Data<AppState>, signed: Signed) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let kind = kind_of(&state, &signed.actor, lang).await?;
    let today = today_local();
    let mut startable: Vec<&Definition> = state
        .registry
        .all()
        .filter_map(|d| state.registry.in_force(&d.id, today).filter(|f| f.version == d.version))
        .map(AsRef::as_ref)
        .filter(|d| may_start(d, &signed.actor, kind))
        .collect();
    startable.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(page(
        lang,
        Some(&signed),
        lang.t("new_instance"),
        html! {
            h1 { (lang.t("new_instance")) }
            section.card {
                @if startable.is_empty() { p.muted { (lang.t("nothing_to_start")) } }
                ul.links {
                    @for d in &startable {
                        li { a href={ "/console/new/" (d.id) } { (lang.pick(&d.title_vi, &d.title_en)) } }
                    }
                }
            }
        },
    ))
}

#[get("/new/{workflow}")]
pub async fn form_page(
    state: web::Data<AppState>,
    signed: Signed,
    workflow: web::Path<String>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let kind = kind_of(&state, &signed.actor, lang).await?;
    let def = in_force(&state, &workflow, lang)?;
    if !may_start(&def, &signed.actor, kind) {
        return Err(ConsoleError::Api(ApiError::forbidden(lang.t("may_not_start")), lang));
    }
    // The agencies each other slot may name, for the field's suggestions.
    let kinds: Vec<AgencyKind> =
        def.parties.iter().filter(|p| p.slot != def.create.party).map(|p| p.kind).collect();
    let offered = state
        .read(move |conn, _| {
            let mut offered = Vec::new();
            for kind in kinds {
                offered.push((kind, agencies::list(conn, Some(kind), None, OFFERED)?.items));
            }
            Ok(offered)
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let mut key = [0u8; 16];
    rand::rng().fill_bytes(&mut key);
    let title = workflow_title(&state.registry, lang, &def.id);
    Ok(page(
        lang,
        Some(&signed),
        &title,
        html! {
            h1 { (title) }
            form.card.step method="post" action={ "/console/new/" (def.id) }
                enctype=[forms::carries_files(&def.create.data).then_some("multipart/form-data")] {
                input type="hidden" name="csrf" value=(signed.csrf);
                input type="hidden" name="form_key" value=(hex::encode(key));
                input type="hidden" name="lang" value=(lang.code());
                fieldset {
                    legend { (lang.t("parties")) }
                    @for p in &def.parties {
                        @let id = format!("p-{}", p.slot);
                        label for=(id) {
                            (lang.pick(&p.title_vi, &p.title_en))
                            @if p.required { " " abbr title="*" aria-hidden="true" { "*" } }
                        }
                        @if p.slot == def.create.party {
                            input type="text" id=(id) name={ "p." (p.slot) } value=(signed.actor.agency) readonly;
                        } @else {
                            @let list = format!("{id}-list");
                            input type="text" id=(id) name={ "p." (p.slot) } list=(list) required[p.required]
                                autocapitalize="characters" maxlength="32" autocomplete="off";
                            datalist id=(list) {
                                @for (k, items) in &offered {
                                    @if *k == p.kind {
                                        @for a in items { option value=(a.code) { (a.name) } }
                                    }
                                }
                            }
                        }
                    }
                }
                (forms::fields(lang, &def.create.data, "create", &Default::default()))
                button.primary type="submit" { (lang.t("start")) }
            }
        },
    ))
}

fn in_force(
    state: &AppState,
    workflow: &str,
    lang: Lang,
) -> Result<std::sync::Arc<Definition>, ConsoleError> {
    state.registry.in_force(workflow, today_local()).cloned().ok_or_else(|| {
        ConsoleError::Api(ApiError::not_found(format!("no workflow {workflow:?} in force")), lang)
    })
}

#[post("/new/{workflow}")]
pub async fn start(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    workflow: web::Path<String>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let lang = signed.lang;
    let get = |name: &str| super::forms::posted_value(&posted.fields, name);
    signed.check_csrf(&keys, &get("csrf"))?;
    let def = in_force(&state, &workflow, lang)?;
    let mut parties = std::collections::BTreeMap::new();
    for p in &def.parties {
        let code = if p.slot == def.create.party {
            signed.actor.agency.to_string()
        } else {
            get(&format!("p.{}", p.slot))
        };
        if !code.is_empty() {
            parties.insert(p.slot.clone(), code.to_uppercase());
        }
    }
    let mut req = CreateInstance {
        workflow: def.id.clone(),
        parties,
        // Read as the form was written, whatever the language is now.
        data: forms::read(Lang::from_code(&get("lang")).unwrap_or(lang), &def.create.data, &posted.fields)
            .map_err(ConsoleError::api(lang))?,
        case_id: None,
        reference_date: None,
    };
    // The files it carries are kept first, then named by their ids. The same form posted
    // again is the same request: it is told by the files' contents, not by the new ids their
    // second upload gets (which no step then takes).
    let (documents, digests) = keep_documents(&state, &signed.actor, &def.create.data, &posted)
        .await
        .map_err(ConsoleError::api(lang))?;
    let mut as_posted =
        serde_json::to_value(&req).map_err(|e| ConsoleError::Api(ApiError::internal(e), lang))?;
    if let Some(data) = as_posted.get_mut("data").and_then(Value::as_object_mut) {
        data.extend(digests);
    }
    req.data.extend(documents);
    let fingerprint = idempotency::fingerprint("POST /api/v1/instances", &as_posted);
    // The key is the form's and what it holds: the same form posted twice is one request, and
    // a form corrected after a refusal is a new one.
    let form_key = get("form_key");
    if form_key.len() != 32 || !form_key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ConsoleError::Api(ApiError::forbidden(lang.t("form_expired")), lang));
    }
    let digest =
        Sha256::new().chain_update(&form_key).chain_update(b"\0").chain_update(&fingerprint).finalize();
    let key = IdempotencyKey::parse(&format!("console-{}", &hex::encode(digest)[..40]))
        .map_err(ConsoleError::api(lang))?;
    let actor = signed.actor.clone();
    let reply = state
        .write(move |conn, rules| {
            crate::service::instances::create(conn, rules, &actor, req, Some(&key), &fingerprint)
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let id = match reply.body {
        Body::Fresh { value, .. } => value.id,
        // The first post's answer: the instance it started, or the refusal it got.
        Body::Replayed(json) => match serde_json::from_str::<Value>(&json) {
            Ok(v) if (200..300).contains(&reply.status) && v["id"].is_string() => {
                v["id"].as_str().unwrap_or_default().to_owned()
            }
            Ok(v) if !(200..300).contains(&reply.status) => {
                return Err(ConsoleError::Api(ApiError::from_problem(&v), lang))
            }
            Ok(_) => return Err(ConsoleError::Api(ApiError::internal("a kept answer without an id"), lang)),
            Err(e) => return Err(ConsoleError::Api(ApiError::internal(e), lang)),
        },
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/console/instances/{id}")))
        .finish())
}
