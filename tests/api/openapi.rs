use serde_json::Value;

use crate::helpers::{assert_same_text, backends, spawn};

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

/// `openapi/openapi.json` is what the server serves; regenerate it with
/// `cargo run -- openapi > openapi/openapi.json` when an endpoint or schema changes.
#[tokio::test]
async fn committed_openapi_is_what_the_server_serves() {
    assert_same_text(
        &lienganh::http::api::openapi_json(),
        COMMITTED,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`",
    );
    let app = spawn(backends()[0]).await;
    let served: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(served, committed);

    // Every API path is documented with its problem responses and the bearer scheme, but for
    // the calendar feed, whose secret is in its path (it takes no token, and says so).
    let paths = committed["paths"].as_object().unwrap();
    assert!(paths.len() >= 9, "{:?}", paths.keys());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if path.starts_with("/api/v1/calendar/feeds/") {
                assert_eq!(op["security"], serde_json::json!([{}]), "{method} {path} needs no token");
                assert!(op["responses"]["401"].is_null(), "{method} {path} never answers 401");
            } else if path.starts_with("/api/") {
                assert!(op["responses"]["401"].is_object(), "{method} {path} lacks 401");
                assert!(op["security"].is_array(), "{method} {path} lacks security");
            }
        }
    }
    assert!(committed["components"]["securitySchemes"]["bearer"].is_object());

    // Every schema named by reference is defined, and every operation has an id of its own.
    let text = COMMITTED;
    let schemas = committed["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(schemas.contains_key(name), "{name} is referenced but not defined");
    }
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap_or_default())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids repeat: {ids:?}");

    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// The document tells an integrator where the service is, what each operation does and what
/// each answer means, and shows the main request bodies by example.
#[test]
fn every_operation_and_response_is_described() {
    let doc: Value = serde_json::from_str(&lienganh::http::api::openapi_json()).unwrap();
    let servers = doc["servers"].as_array().expect("the document names its servers");
    assert!(!servers.is_empty(), "no server");
    for server in servers {
        assert!(server["url"].as_str().is_some_and(|u| !u.is_empty()), "{server}");
        assert!(server["description"].as_str().is_some_and(|d| !d.trim().is_empty()), "{server}");
    }
    let said = |v: &Value| v.as_str().is_some_and(|s| !s.trim().is_empty());
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for field in ["summary", "description"] {
                if !said(&op[field]) {
                    missing.push(format!("{method} {path}: no {field}"));
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if !said(&response["description"]) {
                    missing.push(format!("{method} {path}: response {status} has no description"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undescribed:\n{}", missing.join("\n"));

    let schemas = &doc["components"]["schemas"];
    for body in
        ["CreateInstance", "FireTransition", "CreateCase", "NewPayment", "NewStatus", "NewClassification"]
    {
        assert!(schemas[body]["example"].is_object(), "{body} has no example");
    }
    assert_eq!(schemas["CreateInstance"]["example"]["workflow"], "court_transfer");
}
