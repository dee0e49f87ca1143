//! Checks the data a step is given against the fields its definition declares, and returns
//! it in one normal form (money as a normalized decimal string, datetimes at +07:00), so that
//! what is stored and hashed does not depend on how a client spelled it.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Ho_Chi_Minh;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::checks::holds;
use super::definition::{Condition, DataField, DataType, TimeRule};
use crate::domain::{check_text, AgencyCode, Money};
use crate::engine::calendar::Calendar;
use crate::error::FieldError;

/// Longest text value accepted, in characters.
pub const MAX_TEXT: usize = 4000;
/// Most items accepted in one list.
pub const MAX_ITEMS: usize = 2000;

/// One line of a manifest, as an `items` field holds it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub description: String,
    /// A positive decimal string, such as "2" or "1.5".
    #[schema(value_type = String, example = "2")]
    pub quantity: String,
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    /// Declared value in VND, a decimal string.
    #[schema(value_type = Option<String>, example = "15000000")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_value: Option<String>,
}

/// One line of a receipt: what became of one item of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLine {
    /// The item's position in the manifest, counted from 1.
    pub item: u32,
    pub status: ReceiptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Received,
    Missing,
    Damaged,
}

/// Validates `given` against `fields`; on success returns the normalized data. `prior` is the
/// instance's data before the step, where a receipt finds the manifest it confirms.
pub fn validate(
    fields: &[DataField],
    given: &Map<String, Value>,
    prior: &Map<String, Value>,
    calendar: &Calendar,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    for key in given.keys() {
        if !fields.iter().any(|f| &f.name == key) {
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let reason = if known.is_empty() {
                "this step takes no data".to_owned()
            } else {
                format!("not a field of this step; it takes {}", known.join(", "))
            };
            errors.push(FieldError::new(format!("data.{key}"), reason));
        }
    }
    // A field required only in some cases is judged on the data as it would stand.
    let mut as_it_stands = prior.clone();
    as_it_stands.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    for field in fields {
        let path = format!("data.{}", field.name);
        match given.get(&field.name) {
            None | Some(Value::Null) => {
                let required_now = field.required_when.as_ref().filter(|c| holds(c, &as_it_stands));
                if field.required {
                    errors.push(FieldError::new(path, format!("required ({})", describe(field))));
                } else if let Some(condition) = required_now {
                    errors.push(FieldError::new(
                        path,
                        format!("required here, {} ({})", describe_condition(condition), describe(field)),
                    ));
                }
            }
            Some(value) => {
                if let Some(v) = normalize(field, value, &path, calendar, &mut errors) {
                    out.insert(field.name.clone(), v);
                }
            }
        }
    }
    // The Tết window, unless the data says the coercion mobilises no forces.
    as_it_stands.extend(out.iter().map(|(k, v)| (k.clone(), v.clone())));
    for field in fields.iter().filter(|f| f.time_rule.is_some()) {
        if field.tet_window_unless.as_ref().is_some_and(|c| holds(c, &as_it_stands)) {
            continue;
        }
        let Some(day) = out.get(&field.name).and_then(Value::as_str).and_then(|s| s.get(..10)) else {
            continue;
        };
        if let Err(reason) =
            day.parse::<NaiveDate>().map_err(|e| e.to_string()).and_then(|d| calendar.check_tet_window(d))
        {
            errors.push(FieldError::new(format!("data.{}", field.name), reason));
        }
    }
    for field in fields.iter().filter(|f| f.kind == DataType::Receipt) {
        let (Some(lines), Some(of)) = (out.get(&field.name), &field.of) else { continue };
        let manifest = out.get(of).or_else(|| prior.get(of)).and_then(Value::as_array).map_or(0, Vec::len);
        if let Err(reason) = check_receipt_covers(lines, manifest) {
            errors.push(FieldError::new(format!("data.{}", field.name), reason));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A receipt has exactly one line for each of the manifest's `items` items.
fn check_receipt_covers(lines: &Value, items: usize) -> Result<(), String> {
    if items == 0 {
        return Err("there is no manifest to confirm".into());
    }
    let mut seen = vec![false; items];
    for line in lines.as_array().into_iter().flatten() {
        let item = line.get("item").and_then(Value::as_u64).unwrap_or(0) as usize;
        match seen.get_mut(item.wrapping_sub(1)) {
            None => return Err(format!("item {item} is not on the manifest of {items} item(s)")),
            Some(true) => return Err(format!("item {item} is confirmed twice")),
            Some(slot) => *slot = true,
        }
    }
    match seen.iter().position(|s| !s) {
        Some(i) => Err(format!("item {} of the manifest is not confirmed", i + 1)),
        None => Ok(()),
    }
}

/// Whether a normalized receipt records any item not received as sent.
pub fn has_discrepancy(receipt: &Value) -> bool {
    receipt
        .as_array()
        .into_iter()
        .flatten()
        .any(|line| line.get("status").and_then(Value::as_str) != Some("received"))
}

fn describe_condition(c: &Condition) -> String {
    match c {
        Condition::FieldIn { field, values } => format!("as {field} is {}", values.join(" or ")),
        Condition::FieldIs { field, is } => format!("as {field} is {is}"),
        Condition::Discrepancy { discrepancy_in } => format!("as {discrepancy_in} records a discrepancy"),
    }
}

fn describe(field: &DataField) -> String {
    match field.kind {
        DataType::Text => "text".into(),
        DataType::Date => "a date YYYY-MM-DD".into(),
        DataType::Datetime => "an RFC 3339 date and time with offset".into(),
        DataType::Money => "a decimal string in VND, such as \"1500000\"".into(),
        DataType::Integer => "an integer".into(),
        DataType::Boolean => "true or false".into(),
        DataType::Items => "a list of items".into(),
        DataType::Receipt => "a list of {item, status: received|missing|damaged, note}".into(),
        DataType::Choice => format!("one of {}", field.options.join(", ")),
        DataType::Document if field.multiple => {
            "a list of document ids, each uploaded first with POST /api/v1/documents".into()
        }
        DataType::Document => "a document id, uploaded first with POST /api/v1/documents".into(),
        DataType::Party => "an agency's code, such as \"THADS-HN\"".into(),
    }
}

fn text(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match value.as_str().map(str::trim) {
        Some("") => errors.push(FieldError::new(path, "must not be empty")),
        Some(s) if s.chars().count() > MAX_TEXT => {
            errors.push(FieldError::new(path, format!("longer than {MAX_TEXT} characters")))
        }
        Some(s) if check_text(s).is_err() => {
            errors.push(FieldError::new(path, check_text(s).err().unwrap_or_default()))
        }
        Some(s) => return Some(s.to_owned()),
        None => errors.push(FieldError::new(path, "must be a string")),
    }
    None
}

fn normalize(
    field: &DataField,
    value: &Value,
    path: &str,
    calendar: &Calendar,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let fail = |errors: &mut Vec<FieldError>| {
        errors.push(FieldError::new(path, format!("must be {}", describe(field))));
        None
    };
    match field.kind {
        DataType::Text => text(value, path, errors).map(Value::String),
        DataType::Date => match value.as_str().map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d")) {
            Some(Ok(d)) => match field.time_rule.map(|_| calendar.check_coercion_rest_day(d)) {
                Some(Err(reason)) => {
                    errors.push(FieldError::new(path, reason));
                    None
                }
                _ => Some(Value::String(d.format("%Y-%m-%d").to_string())),
            },
            _ => fail(errors),
        },
        DataType::Datetime => match value.as_str().map(DateTime::parse_from_rfc3339) {
            Some(Ok(t)) => {
                let rule = match field.time_rule {
                    Some(TimeRule::Coercion) => calendar.check_coercion_hours(&t),
                    None => Ok(()),
                };
                match rule {
                    Ok(()) => Some(Value::String(
                        t.with_timezone(&Ho_Chi_Minh).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
                    )),
                    Err(reason) => {
                        errors.push(FieldError::new(path, reason));
                        None
                    }
                }
            }
            _ => fail(errors),
        },
        DataType::Money => match value.as_str() {
            Some(s) => match Money::parse(s) {
                Ok(m) => Some(Value::String(m.to_string())),
                Err(reason) => {
                    errors.push(FieldError::new(path, reason));
                    None
                }
            },
            None => fail(errors),
        },
        DataType::Integer => match value.as_i64() {
            Some(i) => Some(Value::from(i)),
            None => fail(errors),
        },
        DataType::Boolean => match value.as_bool() {
            Some(b) => Some(Value::Bool(b)),
            None => fail(errors),
        },
        DataType::Receipt => receipt(value, path, errors),
        DataType::Choice => match value.as_str() {
            Some(s) if field.options.iter().any(|o| o == s) => Some(Value::String(s.to_owned())),
            _ => fail(errors),
        },
        DataType::Items => items(value, path, errors),
        DataType::Document => document_ids(field, value, path, errors),
        DataType::Party => match value.as_str().map(AgencyCode::parse) {
            Some(Ok(code)) => Some(Value::String(code.to_string())),
            _ => fail(errors),
        },
    }
}

/// A document's id as written once (a UUID in lower case), or a list of them for a field that
/// takes several; which documents they are is checked against the store's (see
/// [`super::documents`]).
fn document_ids(field: &DataField, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let id = |v: &Value| {
        v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()).map(|u| Value::String(u.to_string()))
    };
    let fail = |errors: &mut Vec<FieldError>| {
        errors.push(FieldError::new(path, format!("must be {}", describe(field))));
        None
    };
    if !field.multiple {
        return id(value).or_else(|| fail(errors));
    }
    let list = list_of(value, path, "document ids", errors)?;
    let ids: Option<Vec<Value>> = list.iter().map(id).collect();
    match ids {
        None => fail(errors),
        Some(ids) if (1..ids.len()).any(|i| ids[..i].contains(&ids[i])) => {
            errors.push(FieldError::new(path, "names a document twice"));
            None
        }
        Some(ids) => Some(Value::Array(ids)),
    }
}

/// A list of 1 to `MAX_ITEMS` entries, or an error saying what was expected.
fn list_of<'v>(
    value: &'v Value,
    path: &str,
    what: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'v Vec<Value>> {
    match value.as_array() {
        Some(list) if !list.is_empty() && list.len() <= MAX_ITEMS => Some(list),
        Some(_) => {
            errors.push(FieldError::new(path, format!("must hold 1 to {MAX_ITEMS} {what}")));
            None
        }
        None => {
            errors.push(FieldError::new(path, format!("must be a list of {what}")));
            None
        }
    }
}

fn receipt(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let list = list_of(value, path, "receipt lines", errors)?;
    let before = errors.len();
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        match serde_json::from_value::<ReceiptLine>(raw.clone()) {
            Ok(mut line) => {
                line.note = line.note.and_then(|n| text(&Value::String(n), &format!("{at}.note"), errors));
                out.push(line);
            }
            Err(e) => errors.push(FieldError::new(at, format!("not a receipt line: {e}"))),
        }
    }
    if errors.len() > before {
        return None;
    }
    out.sort_by_key(|l| l.item);
    serde_json::to_value(out).ok()
}

fn items(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let list = list_of(value, path, "items", errors)?;
    let before = errors.len();
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let item: Item = match serde_json::from_value(raw.clone()) {
            Ok(item) => item,
            Err(e) => {
                errors.push(FieldError::new(at, format!("not an item: {e}")));
                continue;
            }
        };
        let description = text(&Value::String(item.description), &format!("{at}.description"), errors);
        let unit = text(&Value::String(item.unit), &format!("{at}.unit"), errors);
        let quantity = match Decimal::from_str_exact(item.quantity.trim()) {
            Ok(q) if q > Decimal::ZERO => Some(q.normalize().to_string()),
            _ => {
                errors.push(FieldError::new(format!("{at}.quantity"), "must be a positive decimal string"));
                None
            }
        };
        let seal = item.seal.and_then(|s| text(&Value::String(s), &format!("{at}.seal"), errors));
        let declared_value = match item.declared_value.map(|v| Money::parse(&v)) {
            None => None,
            Some(Ok(m)) => Some(m.to_string()),
            Some(Err(reason)) => {
                errors.push(FieldError::new(format!("{at}.declared_value"), reason));
                None
            }
        };
        if let (Some(description), Some(unit), Some(quantity)) = (description, unit, quantity) {
            out.push(Item { description, quantity, unit, seal, declared_value });
        }
    }
    if errors.len() > before {
        return None;
    }
    serde_json::to_value(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: DataType, required: bool) -> DataField {
        DataField {
            name: name.into(),
            kind,
            required,
            required_when: None,
            title_vi: name.into(),
            title_en: name.into(),
            options: if kind == DataType::Choice { vec!["a".into(), "b".into()] } else { vec![] },
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

    fn test_calendar() -> Calendar {
        Calendar::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml"),
        )
        .unwrap()
    }

    fn check(fields: &[DataField], given: Value) -> Result<Map<String, Value>, Vec<FieldError>> {
        validate(fields, given.as_object().unwrap(), &Map::new(), &test_calendar())
    }

    #[test]
    fn normalizes_valid_data() {
        let fields = [
            field("d", DataType::Date, true),
            field("m", DataType::Money, true),
            field("t", DataType::Datetime, true),
            field("c", DataType::Choice, false),
            field("n", DataType::Integer, false),
            field("b", DataType::Boolean, true),
        ];
        let given = json!({"d": "2026-07-01", "m": "1302149296000.00", "t": "2026-07-01T01:00:00Z", "n": 3, "b": false});
        let out = check(&fields, given).unwrap();
        assert_eq!(out["m"], "1302149296000");
        assert_eq!(out["t"], "2026-07-01T08:00:00+07:00");
        assert_eq!(out["b"], false);
        assert!(!out.contains_key("c"));
    }

    #[test]
    fn refuses_floats_unknown_and_missing_fields() {
        let fields = [field("m", DataType::Money, true), field("c", DataType::Choice, true)];
        let errors = check(&fields, json!({"m": 12.5, "x": 1})).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(paths, ["data.x", "data.m", "data.c"]);
    }

    #[test]
    fn checks_each_item() {
        let fields = [field("items", DataType::Items, true)];
        let ok = json!({"items": [{"description": "Xe máy", "quantity": "1", "unit": "chiếc", "declared_value": "15000000"}]});
        assert!(check(&fields, ok).is_ok());
        let bad = json!({"items": [{"description": "", "quantity": "0", "unit": "kg", "colour": "red"}, {"description": "x", "quantity": "-1", "unit": "kg"}]});
        let errors = check(&fields, bad).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[1].field, "data.items[1].quantity");
    }

    #[test]
    fn a_receipt_confirms_every_item_once() {
        let fields = [field("items", DataType::Items, false), field("receipt", DataType::Receipt, true)];
        let two = json!([{"description": "A", "quantity": "1", "unit": "cái"}, {"description": "B", "quantity": "2", "unit": "cái"}]);
        let prior = json!({"items": two}).as_object().cloned().unwrap();
        let cal = test_calendar();
        let confirm =
            |lines: Value| validate(&fields, json!({"receipt": lines}).as_object().unwrap(), &prior, &cal);

        let out = confirm(
            json!([{"item": 2, "status": "missing", "note": "không có"}, {"item": 1, "status": "received"}]),
        )
        .unwrap();
        assert_eq!(out["receipt"][0]["item"], 1, "sorted by item");
        assert!(has_discrepancy(&out["receipt"]));
        let all =
            confirm(json!([{"item": 1, "status": "received"}, {"item": 2, "status": "received"}])).unwrap();
        assert!(!has_discrepancy(&all["receipt"]));

        for (lines, reason) in [
            (json!([{"item": 1, "status": "received"}]), "item 2 of the manifest is not confirmed"),
            (
                json!([{"item": 1, "status": "received"}, {"item": 1, "status": "received"}]),
                "confirmed twice",
            ),
            (
                json!([{"item": 3, "status": "received"}, {"item": 1, "status": "received"}]),
                "not on the manifest",
            ),
            (json!([{"item": 1, "status": "lost"}]), "not a receipt line"),
        ] {
            let errors = confirm(lines).unwrap_err();
            assert!(errors[0].reason.contains(reason), "{errors:?}");
        }
    }

    #[test]
    fn a_coercion_time_follows_the_law() {
        let mut when = field("at", DataType::Datetime, true);
        when.time_rule = Some(TimeRule::Coercion);
        let fields = [when];
        assert!(check(&fields, json!({"at": "2026-11-24T09:00:00+07:00"})).is_ok());
        let night = check(&fields, json!({"at": "2026-11-24T23:00:00+07:00"})).unwrap_err();
        assert!(night[0].reason.contains("22:00"), "{night:?}");
        assert!(check(&fields, json!({"at": "2026-11-29T09:00:00+07:00"})).is_err());
        let holiday = check(&fields, json!({"at": "2026-09-02T09:00:00+07:00"})).unwrap_err();
        assert!(holiday[0].reason.contains("holiday"), "{holiday:?}");
    }
}
