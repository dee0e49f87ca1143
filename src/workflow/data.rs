//! Checks the data a step is given against the fields its definition declares, and returns
//! it in one normal form (money as a normalized decimal string, datetimes at +07:00), so that
//! what is stored and hashed does not depend on how a client spelled it.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Asia::Ho_Chi_Minh;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::definition::{DataField, DataType};
use crate::domain::{check_text, Money};
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

/// Validates `given` against `fields`; on success returns the normalized data.
pub fn validate(
    fields: &[DataField],
    given: &Map<String, Value>,
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
    for field in fields {
        let path = format!("data.{}", field.name);
        match given.get(&field.name) {
            None | Some(Value::Null) => {
                if field.required {
                    errors.push(FieldError::new(path, format!("required ({})", describe(field))));
                }
            }
            Some(value) => {
                if let Some(v) = normalize(field, value, &path, &mut errors) {
                    out.insert(field.name.clone(), v);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn describe(field: &DataField) -> String {
    match field.kind {
        DataType::Text => "text".into(),
        DataType::Date => "a date YYYY-MM-DD".into(),
        DataType::Datetime => "an RFC 3339 date and time with offset".into(),
        DataType::Money => "a decimal string in VND, such as \"1500000\"".into(),
        DataType::Integer => "an integer".into(),
        DataType::Items => "a list of items".into(),
        DataType::Choice => format!("one of {}", field.options.join(", ")),
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

fn normalize(field: &DataField, value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let fail = |errors: &mut Vec<FieldError>| {
        errors.push(FieldError::new(path, format!("must be {}", describe(field))));
        None
    };
    match field.kind {
        DataType::Text => text(value, path, errors).map(Value::String),
        DataType::Date => match value.as_str().map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d")) {
            Some(Ok(d)) => Some(Value::String(d.format("%Y-%m-%d").to_string())),
            _ => fail(errors),
        },
        DataType::Datetime => match value.as_str().map(DateTime::parse_from_rfc3339) {
            Some(Ok(t)) => Some(Value::String(
                t.with_timezone(&Ho_Chi_Minh).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
            )),
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
        DataType::Choice => match value.as_str() {
            Some(s) if field.options.iter().any(|o| o == s) => Some(Value::String(s.to_owned())),
            _ => fail(errors),
        },
        DataType::Items => items(value, path, errors),
    }
}

fn items(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
    let Some(list) = value.as_array() else {
        errors.push(FieldError::new(path, "must be a list of items"));
        return None;
    };
    if list.is_empty() || list.len() > MAX_ITEMS {
        errors.push(FieldError::new(path, format!("must hold 1 to {MAX_ITEMS} items")));
        return None;
    }
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
            title_vi: name.into(),
            title_en: name.into(),
            options: if kind == DataType::Choice { vec!["a".into(), "b".into()] } else { vec![] },
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn normalizes_valid_data() {
        let fields = [
            field("d", DataType::Date, true),
            field("m", DataType::Money, true),
            field("t", DataType::Datetime, true),
            field("c", DataType::Choice, false),
            field("n", DataType::Integer, false),
        ];
        let out = validate(
            &fields,
            &obj(json!({"d": "2026-07-01", "m": "1302149296000.00", "t": "2026-07-01T01:00:00Z", "n": 3})),
        )
        .unwrap();
        assert_eq!(out["m"], "1302149296000");
        assert_eq!(out["t"], "2026-07-01T08:00:00+07:00");
        assert!(!out.contains_key("c"));
    }

    #[test]
    fn refuses_floats_unknown_and_missing_fields() {
        let fields = [field("m", DataType::Money, true), field("c", DataType::Choice, true)];
        let errors = validate(&fields, &obj(json!({"m": 12.5, "x": 1}))).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(paths, ["data.x", "data.m", "data.c"]);
    }

    #[test]
    fn checks_each_item() {
        let fields = [field("items", DataType::Items, true)];
        let ok = json!({"items": [{"description": "Xe máy", "quantity": "1", "unit": "chiếc", "declared_value": "15000000"}]});
        assert!(validate(&fields, &obj(ok)).is_ok());
        let bad = json!({"items": [{"description": "", "quantity": "0", "unit": "kg", "colour": "red"}, {"description": "x", "quantity": "-1", "unit": "kg"}]});
        let errors = validate(&fields, &obj(bad)).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[1].field, "data.items[1].quantity");
    }
}
