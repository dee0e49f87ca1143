//! Answers match the OpenAPI document the server serves: status, content type and body schema.
//! The fuzz run (`tests/fuzz/run`) checks this for generated requests; these tests keep each
//! mismatch it found fixed.

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{backends, spawn, TestApp};

/// The schema of `name` in the document's components, or an inline schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `value` against `schema` (the subset of JSON Schema the document uses); returns the
/// first mismatch with where it is.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let matching = options.iter().filter(|s| check(doc, s, value, at).is_ok()).count();
            if matching == 0 || (key == "oneOf" && matching > 1) {
                return Err(format!("{at}: {matching} of the {key} options match {value}"));
            }
        }
    }
    let actual = type_of(value);
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let fits = |t: &&str| *t == actual || (*t == "number" && actual == "integer");
    if !allowed.is_empty() && !allowed.iter().any(fits) {
        return Err(format!("{at}: {actual} where the document says {allowed:?}"));
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            return Err(format!("{at}: {value} is none of {options:?}"));
        }
    }
    if let Value::Object(fields) = value {
        let properties = schema["properties"].as_object();
        for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                return Err(format!("{at}: the required {name:?} is missing"));
            }
        }
        for (name, v) in fields {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => check(doc, s, v, &format!("{at}.{name}"))?,
                None => match &schema["additionalProperties"] {
                    Value::Bool(false) => return Err(format!("{at}: {name:?} is not in the document")),
                    s @ Value::Object(_) => check(doc, s, v, &format!("{at}.{name}"))?,
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(doc, s, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Asserts that the answer's status and content type are documented for the operation, and
/// that its body fits the documented schema; returns the body.
async fn assert_documented(app: &TestApp, method: &str, path: &str, r: Response) -> Value {
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let status = r.status().as_u16().to_string();
    let content_type = r.headers()["content-type"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let text = r.text().await.unwrap();
    let response = &doc["paths"][path][method]["responses"][&status];
    assert!(response.is_object(), "{method} {path}: {status} is not documented: {text}");
    let schema = &response["content"][&content_type]["schema"];
    assert!(schema.is_object(), "{method} {path}: {status} as {content_type} is not documented");
    let body =
        if content_type.ends_with("json") { serde_json::from_str(&text).unwrap() } else { json!(text) };
    if let Err(e) = check(&doc, schema, &body, "body") {
        panic!("{method} {path} {status}: {e}");
    }
    body
}

/// The calendar's years carry `year` and `origin` beside the fields of a year's calendar.
#[tokio::test]
async fn calendar_years_fit_the_document() {
    for backend in backends() {
        let app = spawn(backend).await;
        let admin = app.admin();
        let r = app.get("/api/v1/calendar/years", &admin).await;
        let years = assert_documented(&app, "get", "/api/v1/calendar/years", r).await;
        let mut year = years[0].clone();
        let number = year["year"].as_i64().unwrap();
        for extra in ["year", "origin"] {
            year.as_object_mut().unwrap().remove(extra);
        }
        let r = app.put(&format!("/api/v1/calendar/years/{number}"), &admin, &year).await;
        assert_documented(&app, "put", "/api/v1/calendar/years/{year}", r).await;
    }
}

/// A handover's items carry their position and receipt beside the fields of the manifest.
#[tokio::test]
async fn a_handover_fits_the_document() {
    for backend in backends() {
        let app = spawn(backend).await;
        let instance = app.start_transfer("standard").await;
        let id = instance["id"].as_str().unwrap();
        let r = app.fire(id, &app.court(), "transfer", 1, app.transfer_data("Bản án phúc thẩm").await).await;
        assert_eq!(r.status(), 200);
        let r = app.get(&format!("/api/v1/instances/{id}/handover"), &app.head()).await;
        let record = assert_documented(&app, "get", "/api/v1/instances/{id}/handover", r).await;
        assert_eq!(record["items"][0]["item"], 1);
    }
}

/// A definition's deadline rules are not the open deadlines of `/deadlines`: two schemas.
#[tokio::test]
async fn a_workflow_definition_fits_the_document() {
    let app = spawn(backends()[0]).await;
    for id in ["court_transfer", "coercion_plan"] {
        let r = app.get(&format!("/api/v1/workflows/{id}"), &app.head()).await;
        assert_documented(&app, "get", "/api/v1/workflows/{id}", r).await;
    }
    let r = app.get("/api/v1/deadlines", &app.head()).await;
    assert_documented(&app, "get", "/api/v1/deadlines", r).await;
}

/// The enforcement report is documented as JSON and as CSV, and answers 406 as documented.
#[tokio::test]
async fn the_enforcement_report_fits_the_document_in_both_formats() {
    let app = spawn(backends()[0]).await;
    let head = app.head();
    let path = "/api/v1/reports/enforcement";
    let r = app.get(&format!("{path}?offices=true"), &head).await;
    assert_documented(&app, "get", path, r).await;
    let r = app.get(&format!("{path}?format=csv"), &head).await;
    assert_documented(&app, "get", path, r).await;
    let r =
        app.client.get(app.url(path)).bearer_auth(&head).header("accept", "image/png").send().await.unwrap();
    assert_documented(&app, "get", path, r).await;
}

/// The document says which `Idempotency-Key` the service takes: 1 to 200 visible ASCII
/// characters; a generator that follows it is never refused for the key.
#[tokio::test]
async fn the_idempotency_key_is_documented_as_the_service_takes_it() {
    let app = spawn(backends()[0]).await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let params = doc["paths"]["/api/v1/agencies"]["post"]["parameters"].as_array().unwrap();
    let key = params.iter().find(|p| p["name"] == "Idempotency-Key").unwrap();
    assert_eq!(key["schema"]["maxLength"], 200);
    assert_eq!(key["schema"]["minLength"], 1);
    assert_eq!(key["schema"]["pattern"], "^[!-~]+$");

    let agency = json!({"code": "TAND-DN", "kind": "court", "name": "Tòa án nhân dân thành phố Đà Nẵng"});
    let longest: String = ('!'..='~').cycle().take(200).collect();
    let r = app.post_with_key("/api/v1/agencies", &app.admin(), &longest, &agency).await;
    assert_documented(&app, "post", "/api/v1/agencies", r).await;
    let too_long = format!("{longest}x");
    let r = app.post_with_key("/api/v1/agencies", &app.admin(), &too_long, &agency).await;
    let body = assert_documented(&app, "post", "/api/v1/agencies", r).await;
    assert_eq!(body["code"], "malformed_request");
}
