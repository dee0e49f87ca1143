//! HTTP as integrators expect it: a `Location` on every 201 that leads to what was created (a
//! document's, once a step has taken it), an
//! `ETag` with the version of instances and cases, `If-Match` in place of `expected_version`
//! (412 when the version moved on), and both forms working.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, transfer_request, TestApp};

/// Follows a 201's `Location` as `token`: it must answer 200.
async fn follows(app: &TestApp, r: reqwest::Response, token: &str) -> (String, Value) {
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/api/v1/"), "{location}");
    let got = app.get(&location, token).await;
    assert_eq!(got.status(), StatusCode::OK, "{location}");
    let json = got.headers()["content-type"].to_str().unwrap().starts_with("application/json");
    (location, if json { got.json().await.unwrap() } else { Value::Null })
}

#[tokio::test]
async fn every_201_says_where_and_versions_travel_as_etags() {
    for backend in backends() {
        let app = spawn(backend).await;
        let admin = app.admin();
        let agency =
            json!({"code": "THADS-QT", "kind": "enforcement", "name": "Thi hành án dân sự tỉnh Quảng Trị"});
        let (_, found) = follows(&app, app.post("/api/v1/agencies", &admin, &agency).await, &admin).await;
        assert_eq!(found["code"], "THADS-QT");
        let hook = json!({"url": "http://127.0.0.1:9/hook"});
        let (_, found) =
            follows(&app, app.post("/api/v1/agencies/THADS-HN/webhooks", &admin, &hook).await, &admin).await;
        assert_eq!(found["url"], "http://127.0.0.1:9/hook");
        let case = crate::cases::case("THADS-HN", "L-1", "2026-10-05", "5000000");
        let r = app.post("/api/v1/cases", &app.officer(), &case).await;
        assert_eq!(r.headers()["etag"], "\"1\"", "{backend:?}");
        let (case_path, case) = follows(&app, r, &app.officer()).await;
        let pay = json!({"amount": "1000000", "paid_on": "2026-10-06", "method": "cash"});
        let r = app.post(&format!("{case_path}/payments"), &app.officer(), &pay).await;
        follows(&app, r, &app.officer()).await;
        let batch = json!({"cases": [crate::cases::case("THADS-HN", "L-2", "2026-10-05", "1000000")]});
        let (location, _) =
            follows(&app, app.post("/api/v1/cases/batch", &app.officer(), &batch).await, &app.officer())
                .await;
        assert_eq!(location, "/api/v1/cases");
        // A document's Location is where it is downloaded once a step has taken it.
        let upload = app.upload(&app.court(), crate::helpers::pdf("bản án"), "application/pdf").await;
        assert_eq!(upload.status(), StatusCode::CREATED);
        let location = upload.headers()["location"].to_str().unwrap().to_owned();
        let document: Value = upload.json().await.unwrap();
        assert_eq!(location, format!("/api/v1/documents/{}", document["id"].as_str().unwrap()));

        // An instance: created with its Location and ETag; stepped by If-Match alone.
        let r = app.post("/api/v1/instances", &app.court(), &transfer_request("standard")).await;
        assert_eq!(r.headers()["etag"], "\"1\"");
        let (path, _) = follows(&app, r, &app.court()).await;
        let read = app.get(&path, &app.court()).await;
        assert_eq!(read.headers()["etag"], "\"1\"");
        let data = app.transfer_data("Bản án 125/2026/KDTM-PT").await;
        let step = |data: Value| json!({"transition": "transfer", "data": data});
        let fire = |body: Value, if_match: Option<&'static str>| {
            let mut req =
                app.client.post(app.url(&format!("{path}/transitions"))).bearer_auth(app.court()).json(&body);
            if let Some(v) = if_match {
                req = req.header("If-Match", v);
            }
            req.send()
        };
        expect_problem(fire(step(data.clone()), None).await.unwrap(), 422, "validation_failed").await;
        expect_problem(fire(step(data.clone()), Some("version 1")).await.unwrap(), 400, "malformed_request")
            .await;
        // `*` is understood (any current version) but names none: a step still needs one.
        expect_problem(fire(step(data.clone()), Some("*")).await.unwrap(), 422, "validation_failed").await;
        let mut both = step(data.clone());
        both["expected_version"] = json!(2);
        expect_problem(fire(both, Some("\"1\"")).await.unwrap(), 400, "malformed_request").await;
        let done = fire(step(data.clone()), Some("\"1\"")).await.unwrap();
        assert_eq!(done.status(), StatusCode::OK, "{backend:?}");
        assert_eq!(done.headers()["etag"], "\"2\"");
        // Stale: 412 under If-Match, 409 under expected_version, as before.
        let again = fire(step(data.clone()), Some("W/\"1\"")).await.unwrap();
        let problem = expect_problem(again, 412, "precondition_failed").await;
        assert!(problem["detail"].as_str().unwrap().contains("version 2"), "{problem}");
        let mut stale = step(data);
        stale["expected_version"] = json!(1);
        expect_problem(fire(stale, None).await.unwrap(), 409, "version_conflict").await;

        // A case's status, by If-Match too: its payment made it version 2.
        let case_read = app.get(&case_path, &app.officer()).await;
        let current = case_read.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(current, "\"2\"", "{backend:?} {case}");
        let status = json!({"status": "suspended", "on": "2026-10-07", "basis": "Quyết định hoãn 3/QĐ"});
        let late = app.client.post(app.url(&format!("{case_path}/status"))).bearer_auth(app.officer());
        let r = late.header("If-Match", "\"1\"").json(&status).send().await.unwrap();
        expect_problem(r, 412, "precondition_failed").await;
        let now = app.client.post(app.url(&format!("{case_path}/status"))).bearer_auth(app.officer());
        let r = now.header("If-Match", current).json(&status).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{backend:?}");
    }
}
