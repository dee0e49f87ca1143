//! The form of a step, generated from the data its definition asks for, and the step's data
//! read back from what the form posts: dates with a date picker, money as the language writes
//! it, manifests as tables of lines, receipts as one choice per line of the manifest.

use std::collections::HashMap;

use maud::{html, Markup};
use serde_json::{json, Map, Value};

use super::i18n::Lang;
use super::layout::columns;
use crate::engine::definition::{DataField, DataType};
use crate::error::{ApiError, FieldError};
use crate::service::instances::{AvailableTransition, Instance};

/// Empty lines a new manifest offers before its script adds more.
const BLANK_LINES: usize = 3;
/// Most lines a posted manifest is read for.
const MAX_LINES: usize = crate::engine::data::MAX_ITEMS;

/// The value posted for `name`, trimmed; empty when there is none.
pub fn posted_value(posted: &[(String, String)], name: &str) -> String {
    posted.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

/// The parts of a manifest's line, as its table's columns.
const ITEM_PARTS: [&str; 5] = ["description", "quantity", "unit", "seal", "declared_value"];

/// Whether a form of these fields carries files, and so is posted as `multipart/form-data`.
pub fn carries_files(fields: &[DataField]) -> bool {
    fields.iter().any(|f| f.kind == DataType::Document)
}

/// The posted name of a field of the step's data.
fn name_of(field: &str) -> String {
    format!("d.{field}")
}

fn line_name(field: &str, i: usize, part: &str) -> String {
    format!("d.{field}[{i}].{part}")
}

/// The form that fires `t` on the instance `i` as the user sees it; its data is where a receipt
/// finds the manifest it confirms.
///
/// The form names the definition it was drawn from, for its answer to be read by the same fields;
/// the step itself is checked against the instance's own definition.
pub fn step_form(lang: Lang, csrf: &str, i: &Instance, t: &AvailableTransition) -> Markup {
    let id = |field: &str| format!("f-{}-{field}", t.name);
    html! {
        form.step method="post" action={ "/console/instances/" (i.id) "/steps" }
            enctype=[carries_files(&t.data).then_some("multipart/form-data")] {
            h3 { (lang.pick(&t.title_vi, &t.title_en)) }
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="lang" value=(lang.code());
            input type="hidden" name="workflow" value=(i.workflow);
            input type="hidden" name="workflow_version" value=(i.workflow_version);
            input type="hidden" name="transition" value=(t.name);
            input type="hidden" name="expected_version" value=(i.version);
            (fields(lang, &t.data, &t.name, &i.data))
            label for=(id("comment")) { (lang.t("comment")) }
            textarea id=(id("comment")) name="comment" maxlength="4000" {}
            button.primary type="submit" { (lang.pick(&t.title_vi, &t.title_en)) }
        }
    }
}

/// The inputs of `data`, their ids prefixed with `prefix`.
pub fn fields(lang: Lang, data: &[DataField], prefix: &str, prior: &Map<String, Value>) -> Markup {
    html! {
        @for f in data { (field(lang, f, &format!("f-{prefix}-{}", f.name), prior)) }
    }
}

fn title(lang: Lang, f: &DataField) -> Markup {
    html! {
        (lang.pick(&f.title_vi, &f.title_en))
        @if f.required { " " abbr title="*" aria-hidden="true" { "*" } }
    }
}

fn field(lang: Lang, f: &DataField, id: &str, prior: &Map<String, Value>) -> Markup {
    let name = name_of(&f.name);
    match f.kind {
        DataType::Text => html! {
            label for=(id) { (title(lang, f)) }
            textarea id=(id) name=(name) required[f.required] maxlength="4000" {}
        },
        DataType::Date => html! {
            label for=(id) { (title(lang, f)) }
            input type="date" id=(id) name=(name) required[f.required];
        },
        DataType::Datetime => html! {
            label for=(id) { (title(lang, f)) " " span.muted { "(GMT+7)" } }
            input type="datetime-local" id=(id) name=(name) required[f.required];
        },
        DataType::Money => html! {
            label for=(id) { (title(lang, f)) " " span.muted { "(đồng)" } }
            input type="text" inputmode="decimal" data-money id=(id) name=(name) required[f.required] autocomplete="off";
        },
        DataType::Integer => html! {
            label for=(id) { (title(lang, f)) }
            input type="number" step="1" id=(id) name=(name) required[f.required];
        },
        DataType::Boolean | DataType::Choice => {
            let options: Vec<(String, String)> = if f.kind == DataType::Boolean {
                vec![("true".into(), lang.t("yes").into()), ("false".into(), lang.t("no").into())]
            } else {
                f.options.iter().map(|o| (o.clone(), lang.option(o))).collect()
            };
            html! {
                label for=(id) { (title(lang, f)) }
                select id=(id) name=(name) required[f.required] {
                    option value="" { (lang.t("choose")) }
                    @for (value, shown) in &options { option value=(value) { (shown) } }
                }
            }
        }
        DataType::Items => items_table(lang, f, id),
        DataType::Receipt => receipt_table(lang, f, id, prior),
        DataType::Document => document_input(lang, f, id, &name),
        // The agency's code, as on the agencies page (THADS-HN-KV1).
        DataType::Party => html! {
            label for=(id) { (title(lang, f)) " " span.muted { "(" (lang.t("agency_code")) ")" } }
            input type="text" id=(id) name=(name) required[f.required] autocomplete="off" autocapitalize="characters"
                pattern="[A-Z0-9][A-Z0-9._\\-]{1,39}" maxlength="40";
        },
    }
}

/// A file input, with what the field takes said before anything is uploaded.
fn document_input(lang: Lang, f: &DataField, id: &str, name: &str) -> Markup {
    let types: Vec<&str> = f.media_types.iter().map(|t| short_type(t)).collect();
    let mut limits = types.join(", ");
    if let Some(max) = f.max_bytes {
        if !limits.is_empty() {
            limits.push_str(", ");
        }
        limits.push_str(&format!("≤ {} MB", max / (1024 * 1024)));
    }
    html! {
        label for=(id) { (title(lang, f)) @if !limits.is_empty() { " " span.muted { "(" (limits) ")" } } }
        input type="file" id=(id) name=(name) accept=(f.media_types.join(",")) multiple[f.multiple]
            required[f.required] data-max-bytes=[f.max_bytes];
    }
}

/// What a reader calls a media type.
fn short_type(media_type: &str) -> &str {
    match media_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "image/tiff" => "TIFF",
        "text/plain" => "TXT",
        "application/zip" => "ZIP",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "DOCX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "XLSX",
        other => other,
    }
}

fn items_table(lang: Lang, f: &DataField, id: &str) -> Markup {
    let body = format!("{id}-lines");
    let parts = [
        ("description", "description", "text"),
        ("quantity", "quantity", "decimal"),
        ("unit", "unit", "text"),
        ("seal", "seal", "text"),
        ("declared_value", "declared_value", "money"),
    ];
    html! {
        fieldset {
            legend { (title(lang, f)) }
            table.items.stack {
                thead { tr { @for (_, key, _) in &parts { th scope="col" { (lang.t(key)) } } } }
                tbody id=(body) {
                    @for i in 0..BLANK_LINES {
                        tr {
                            @for (part, key, kind) in &parts {
                                td data-label=(lang.t(key)) {
                                    input type="text"
                                        id={ (id) "-" (i) "-" (part) }
                                        name=(line_name(&f.name, i, part))
                                        aria-label={ (lang.t(key)) " " (i + 1) }
                                        inputmode=[(*kind != "text").then_some("decimal")]
                                        data-money=[(*kind == "money").then_some("")];
                                }
                            }
                        }
                    }
                }
            }
            button.plain type="button" data-add-row=(body) { (lang.t("add_row")) }
        }
    }
}

fn receipt_table(lang: Lang, f: &DataField, id: &str, prior: &Map<String, Value>) -> Markup {
    let manifest =
        f.of.as_deref().and_then(|of| prior.get(of)).and_then(Value::as_array).cloned().unwrap_or_default();
    html! {
        fieldset {
            legend { (title(lang, f)) }
            table.stack {
                (columns(lang, &["item", "status", "note"]))
                tbody {
                    @for (i, item) in manifest.iter().enumerate() {
                        @let n = i + 1;
                        @let shown = describe(lang, item);
                        tr {
                            td data-label=(lang.t("item")) { (n) ". " (shown) }
                            td data-label=(lang.t("status")) {
                                @for status in ["received", "missing", "damaged"] {
                                    label.inline {
                                        input type="radio" name=(line_name(&f.name, n, "status")) value=(status)
                                            checked[status == "received"] required;
                                        " " (lang.t(status))
                                    }
                                }
                            }
                            td data-label=(lang.t("note")) {
                                input type="text" id={ (id) "-" (n) "-note" } name=(line_name(&f.name, n, "note"))
                                    aria-label={ (lang.t("note")) " " (n) } maxlength="1000";
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One line of a manifest as a person reads it: `Xe máy Honda — 1 chiếc, niêm phong CA-12`.
pub fn describe(lang: Lang, item: &Value) -> String {
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut out = format!("{} — {} {}", text("description"), text("quantity"), text("unit"));
    if !text("seal").is_empty() {
        out.push_str(&format!(", {} {}", lang.t("seal").to_lowercase(), text("seal")));
    }
    if !text("declared_value").is_empty() {
        out.push_str(&format!(", {} đ", lang.money(&text("declared_value"))));
    }
    out
}

/// The step's data, read from the posted pairs as the fields ask. What is left empty is left
/// out; what does not read as its type is passed on as typed, for the step's own checks to
/// refuse with their reason.
pub fn read(
    lang: Lang,
    fields: &[DataField],
    posted: &[(String, String)],
) -> Result<Map<String, Value>, ApiError> {
    // Each posted name once, the first value it was given.
    let mut by_name: HashMap<&str, &str> = HashMap::with_capacity(posted.len());
    for (k, v) in posted {
        by_name.entry(k.as_str()).or_insert(v.trim());
    }
    let get = |name: &str| by_name.get(name).copied().filter(|v| !v.is_empty());
    let mut data = Map::new();
    let mut unread = Vec::new();
    let mut money = |path: String, typed: &str| match lang.read_money(typed) {
        Ok(v) => json!(v),
        Err(reason) => {
            unread.push(FieldError::new(path, reason));
            json!(typed)
        }
    };
    for f in fields {
        let name = name_of(&f.name);
        let value = match f.kind {
            DataType::Text | DataType::Date | DataType::Choice => get(&name).map(|v| json!(v)),
            // Uploaded with the form, then named by id (see the console's upload).
            DataType::Document | DataType::Party => get(&name).map(|v| json!(v)),
            DataType::Datetime => get(&name).map(|v| {
                // A datetime-local input gives the local time without seconds or offset.
                let with_seconds = if v.len() == 16 { format!("{v}:00") } else { v.to_owned() };
                json!(format!("{with_seconds}+07:00"))
            }),
            DataType::Money => get(&name).map(|v| money(format!("data.{}", f.name), v)),
            DataType::Integer => get(&name).map(|v| v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n))),
            DataType::Boolean => get(&name).map(|v| match v {
                "true" => json!(true),
                "false" => json!(false),
                other => json!(other),
            }),
            DataType::Items => {
                // Every line the form has, in order; one past the most allowed is kept, for the
                // step's check to refuse the manifest as too long rather than cut it.
                let mut lines = Vec::new();
                for i in 0..=MAX_LINES {
                    let part = |p: &str| get(&line_name(&f.name, i, p));
                    if ITEM_PARTS.iter().all(|p| !by_name.contains_key(line_name(&f.name, i, p).as_str())) {
                        break;
                    }
                    let mut line = Map::new();
                    for p in ITEM_PARTS {
                        if let Some(v) = part(p) {
                            let value = match p {
                                "quantity" | "declared_value" => {
                                    money(format!("data.{}[{i}].{p}", f.name), v)
                                }
                                _ => json!(v),
                            };
                            line.insert(p.into(), value);
                        }
                    }
                    if !line.is_empty() {
                        lines.push(Value::Object(line));
                    }
                }
                (!lines.is_empty()).then_some(Value::Array(lines))
            }
            DataType::Receipt => {
                let mut lines = Vec::new();
                for n in 1..=MAX_LINES + 1 {
                    let Some(status) = get(&line_name(&f.name, n, "status")) else { break };
                    let mut line = json!({"item": n, "status": status});
                    if let Some(note) = get(&line_name(&f.name, n, "note")) {
                        line["note"] = json!(note);
                    }
                    lines.push(line);
                }
                (!lines.is_empty()).then_some(Value::Array(lines))
            }
        };
        if let Some(value) = value {
            data.insert(f.name.clone(), value);
        }
    }
    if unread.is_empty() {
        Ok(data)
    } else {
        Err(ApiError::validation("the form cannot be read", unread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: DataType) -> DataField {
        DataField {
            name: name.into(),
            kind,
            required: false,
            required_when: None,
            title_vi: name.into(),
            title_en: name.into(),
            options: vec![],
            of: (kind == DataType::Receipt).then(|| "items".into()),
            time_rule: None,
            tet_window_unless: None,
            media_types: vec![],
            max_bytes: None,
            multiple: false,
            searchable: false,
            follow_up_only: false,
            binds: None,
            visible_to: vec![],
        }
    }

    #[test]
    fn a_posted_form_reads_as_the_step_data() {
        let fields = [
            field("amount", DataType::Money),
            field("on", DataType::Date),
            field("at", DataType::Datetime),
            field("count", DataType::Integer),
            field("items", DataType::Items),
            field("receipt", DataType::Receipt),
            field("left_empty", DataType::Text),
        ];
        let posted: Vec<(String, String)> = [
            ("d.amount", "1.302.149.296.000"),
            ("d.on", "2026-12-01"),
            ("d.at", "2026-12-01T08:30"),
            ("d.count", "3"),
            ("d.items[0].description", "Xe máy"),
            ("d.items[0].quantity", "1"),
            ("d.items[0].unit", "chiếc"),
            ("d.items[0].declared_value", "15.000.000"),
            ("d.items[1].description", ""),
            ("d.items[1].quantity", ""),
            ("d.receipt[1].status", "received"),
            ("d.receipt[2].status", "missing"),
            ("d.receipt[2].note", "Không có trong kho"),
            ("d.left_empty", "  "),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let data = read(Lang::Vi, &fields, &posted).unwrap();
        // A sum written the other language's way is refused with where it is.
        let wrong: Vec<(String, String)> =
            [("d.amount", "1.5"), ("d.items[0].description", "Xe"), ("d.items[0].declared_value", "1000.50")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let refused = read(Lang::Vi, &fields, &wrong).unwrap_err();
        let paths: Vec<&str> = refused.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(paths, ["data.amount", "data.items[0].declared_value"]);
        assert_eq!(
            Value::Object(data),
            json!({
                "amount": "1302149296000",
                "on": "2026-12-01",
                "at": "2026-12-01T08:30:00+07:00",
                "count": 3,
                "items": [{"description": "Xe máy", "quantity": "1", "unit": "chiếc", "declared_value": "15000000"}],
                "receipt": [{"item": 1, "status": "received"}, {"item": 2, "status": "missing", "note": "Không có trong kho"}],
            })
        );
    }
}
