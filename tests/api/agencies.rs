use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, AGENCIES};

#[tokio::test]
async fn only_admins_create_agencies() {
    for backend in backends() {
        let app = spawn(backend).await;
        let body = json!({"code": "THADS-HN-KV1", "kind": "enforcement", "name": "Phòng THADS khu vực 1", "parent": "THADS-HN"});
        expect_problem(app.post("/api/v1/agencies", &app.head(), &body).await, 403, "forbidden").await;
        let r = app.post("/api/v1/agencies", &app.admin(), &body).await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        assert_eq!(created["parent"], "THADS-HN");
        expect_problem(app.post("/api/v1/agencies", &app.admin(), &body).await, 409, "already_exists").await;

        let orphan =
            json!({"code": "THADS-XX-KV1", "kind": "enforcement", "name": "X", "parent": "THADS-XX"});
        expect_problem(app.post("/api/v1/agencies", &app.admin(), &orphan).await, 422, "validation_failed")
            .await;
        let bad_kind = json!({"code": "ABC", "kind": "ministry", "name": "X"});
        expect_problem(app.post("/api/v1/agencies", &app.admin(), &bad_kind).await, 422, "validation_failed")
            .await;
        let bad_code = json!({"code": "abc def", "kind": "court", "name": "X"});
        expect_problem(app.post("/api/v1/agencies", &app.admin(), &bad_code).await, 422, "validation_failed")
            .await;
        let no_name = json!({"code": "ABC", "kind": "court", "name": "  "});
        expect_problem(app.post("/api/v1/agencies", &app.admin(), &no_name).await, 422, "validation_failed")
            .await;

        // Everyone signed in can list them, page by page, in code order.
        let page: Value = app.get("/api/v1/agencies?limit=3", &app.court()).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 3);
        let next = page["next_cursor"].as_str().unwrap();
        let rest: Value = app
            .get(&format!("/api/v1/agencies?limit=100&cursor={next}"), &app.court())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rest["items"].as_array().unwrap().len(), AGENCIES.len() + 1 - 3);
        assert!(rest["next_cursor"].is_null());
        let courts: Value = app.get("/api/v1/agencies?kind=court", &app.court()).await.json().await.unwrap();
        let codes: Vec<&str> =
            courts["items"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["TAND-HN", "TAND-LC"]);
    }
}
