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

    // Every API path is documented with its problem responses and the bearer scheme.
    let paths = committed["paths"].as_object().unwrap();
    assert!(paths.len() >= 9, "{:?}", paths.keys());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if path.starts_with("/api/") {
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
