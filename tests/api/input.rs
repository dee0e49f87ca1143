use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, transfer_request};

/// Whatever a client sends, it gets a 4xx saying what was wrong, never a 500.
#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    for backend in backends() {
        let app = spawn(backend).await;
        let court = app.court();
        let post_raw = |path: &str, body: &'static str, content_type: &'static str| {
            app.client
                .post(app.url(path))
                .bearer_auth(&court)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        expect_problem(
            post_raw("/api/v1/instances", "{\"workflow\": ", "application/json").await.unwrap(),
            400,
            "malformed_request",
        )
        .await;
        expect_problem(
            post_raw("/api/v1/instances", "[1,2]", "application/json").await.unwrap(),
            422,
            "validation_failed",
        )
        .await;
        expect_problem(
            post_raw("/api/v1/instances", "workflow=x", "text/plain").await.unwrap(),
            415,
            "unsupported_media_type",
        )
        .await;

        let mut unknown_field = transfer_request("standard");
        unknown_field["colour"] = json!("red");
        let body = expect_problem(
            app.post("/api/v1/instances", &court, &unknown_field).await,
            422,
            "validation_failed",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("colour"), "{body}");

        let mut wrong_type = transfer_request("standard");
        wrong_type["parties"] = json!(["TAND-HN"]);
        expect_problem(app.post("/api/v1/instances", &court, &wrong_type).await, 422, "validation_failed")
            .await;

        let mut unknown_workflow = transfer_request("standard");
        unknown_workflow["workflow"] = json!("no_such_workflow");
        expect_problem(
            app.post("/api/v1/instances", &court, &unknown_workflow).await,
            422,
            "unknown_workflow",
        )
        .await;

        let mut bad_party = transfer_request("standard");
        bad_party["parties"]["enforcement"] = json!("VKS-HN");
        bad_party["parties"]["police"] = json!("CA-HN");
        let body =
            expect_problem(app.post("/api/v1/instances", &court, &bad_party).await, 422, "validation_failed")
                .await;
        let fields: Vec<&str> =
            body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["parties.enforcement", "parties.police"], "{body}");

        let mut missing_agency = transfer_request("standard");
        missing_agency["parties"]["court"] = json!("TAND-XX");
        expect_problem(
            app.post("/api/v1/instances", &court, &missing_agency).await,
            422,
            "validation_failed",
        )
        .await;

        let mut float_money = transfer_request("standard");
        float_money["data"]["judgment_date"] = json!(20261005);
        expect_problem(app.post("/api/v1/instances", &court, &float_money).await, 422, "validation_failed")
            .await;

        let huge =
            json!({"workflow": "court_transfer", "parties": {}, "data": {"summary": "x".repeat(600 * 1024)}});
        expect_problem(app.post("/api/v1/instances", &court, &huge).await, 413, "payload_too_large").await;

        expect_problem(app.get("/api/v1/instances/not-a-uuid", &court).await, 404, "not_found").await;
        expect_problem(app.get("/api/v1/instances?limit=0", &court).await, 400, "malformed_request").await;
        expect_problem(app.get("/api/v1/instances?limit=abc", &court).await, 400, "malformed_request").await;
        expect_problem(app.get("/api/v1/instances?cursor=zzz", &court).await, 400, "malformed_request").await;
        expect_problem(app.get("/api/v1/instances?colour=red", &court).await, 400, "malformed_request").await;
        expect_problem(app.get("/api/v1/nowhere", &court).await, 404, "not_found").await;

        // The step endpoint: malformed JSON, unknown fields, money as a JSON number, a NUL.
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let fire_path = format!("/api/v1/instances/{id}/transitions");
        let r = post_raw(&fire_path, "{\"transition\": \"transfer\",", "application/json").await.unwrap();
        expect_problem(r, 400, "malformed_request").await;
        let unknown = json!({"transition": "transfer", "expected_version": 1, "data": {}, "colour": "red"});
        expect_problem(app.post(&fire_path, &court, &unknown).await, 422, "validation_failed").await;
        let mut data = app.transfer_data("Xe máy").await;
        data["documents"][0]["declared_value"] = json!(1.5);
        let float = json!({"transition": "transfer", "expected_version": 1, "data": data});
        let body = expect_problem(app.post(&fire_path, &court, &float).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "data.documents[0]", "{body}");
        let data = app.transfer_data("x").await;
        let nul = json!({"transition": "transfer", "expected_version": 1, "data": data, "comment": "a\u{0}"});
        expect_problem(app.post(&fire_path, &court, &nul).await, 422, "validation_failed").await;
        let wrong_version_type = json!({"transition": "transfer", "expected_version": "1", "data": {}});
        expect_problem(app.post(&fire_path, &court, &wrong_version_type).await, 422, "validation_failed")
            .await;

        // An oversize body sent in chunks, without a length up front.
        let chunks: Vec<Result<String, std::io::Error>> =
            (0..64).map(|_| Ok(format!("{{\"x\": \"{}\"}}", "y".repeat(16 * 1024)))).collect();
        let r = app
            .client
            .post(app.url("/api/v1/instances"))
            .bearer_auth(&court)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
            .send()
            .await
            .unwrap();
        expect_problem(r, 413, "payload_too_large").await;

        let r = app
            .client
            .post(app.url("/api/v1/instances"))
            .bearer_auth(&court)
            .header("Idempotency-Key", reqwest::header::HeaderValue::from_bytes("khóa".as_bytes()).unwrap())
            .json(&transfer_request("standard"))
            .send()
            .await
            .unwrap();
        expect_problem(r, 400, "malformed_request").await;

        let long_key = "k".repeat(300);
        let r =
            app.post_with_key("/api/v1/instances", &court, &long_key, &transfer_request("standard")).await;
        expect_problem(r, 400, "malformed_request").await;
    }
}

/// Every free text that reaches the database has an upper bound: one character more gets 422
/// `validation_failed` naming the field; a query parameter too long for what it names gets 400;
/// a body over the limit gets 413 `payload_too_large` on every route that takes one. Never a 500.
#[tokio::test]
async fn every_stored_string_is_bounded() {
    for backend in backends() {
        let app = spawn(backend).await;
        let (officer, court, admin) = (app.officer(), app.court(), app.admin());
        let long = |n: usize| "ạ".repeat(n);

        // Cases: each field one character over its bound.
        let case = || crate::cases::case("THADS-HN", "B-1", "2026-08-03", "5000000");
        let over: [(&str, &[&str], usize, &str); 7] = [
            ("number", &["number"], 65, "number"),
            ("judgment_ref", &["judgment_ref"], 201, "judgment_ref"),
            ("court_name", &["court_name"], 301, "court_name"),
            ("obligor name", &["obligor", "name"], 201, "obligor.name"),
            ("obligor id_number", &["obligor", "id_number"], 41, "obligor.id_number"),
            ("obligee address", &["obligee", "address"], 501, "obligee.address"),
            ("outcome basis", &["outcome", "basis"], 1001, "outcome.basis"),
        ];
        for (i, (what, path, n, field)) in over.into_iter().enumerate() {
            let mut body = case();
            body["outcome"] = json!({"status": "suspended", "on": "2026-08-04", "basis": "QĐ hoãn số 1"});
            let mut at = &mut body;
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at[path[path.len() - 1]] = json!(long(n));
            let r = app.post("/api/v1/cases", &officer, &body).await;
            let problem = expect_problem(r, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{backend:?} {what}: {problem}");
            // One character fewer is accepted (the bound is where it says).
            at = &mut body;
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at[path[path.len() - 1]] = json!(long(n - 1));
            if field != "number" {
                body["number"] = json!(format!("B-{i}"));
            }
            let r = app.post("/api/v1/cases", &officer, &body).await;
            assert_eq!(r.status(), 201, "{backend:?} {what} at its bound: {}", r.text().await.unwrap());
        }
        let mut main = case();
        main["number"] = json!("B-main");
        let r = app.post("/api/v1/cases", &officer, &main).await;
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let pay = json!({"amount": "1000", "paid_on": "2026-08-05", "method": "cash", "note": long(1001)});
        let problem = expect_problem(
            app.post(&format!("/api/v1/cases/{id}/payments"), &officer, &pay).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "note", "{problem}");
        let status = json!({"status": "suspended", "on": "2026-08-05", "basis": long(1001)});
        expect_problem(
            app.post(&format!("/api/v1/cases/{id}/status"), &officer, &status).await,
            422,
            "validation_failed",
        )
        .await;
        let class = json!({"classification": "not_yet_enforceable", "on": "2026-08-05", "basis": long(1001)});
        expect_problem(
            app.post(&format!("/api/v1/cases/{id}/classification"), &officer, &class).await,
            422,
            "validation_failed",
        )
        .await;

        // Workflow data and comments.
        let instance = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let fire = format!("/api/v1/instances/{instance}/transitions");
        let data = app.transfer_data(&long(4001)).await;
        let body = json!({"transition": "transfer", "expected_version": 1, "data": data});
        let problem = expect_problem(app.post(&fire, &court, &body).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "data.documents[0].description", "{problem}");
        let data = app.transfer_data("x").await;
        let body =
            json!({"transition": "transfer", "expected_version": 1, "data": data, "comment": long(4001)});
        expect_problem(app.post(&fire, &court, &body).await, 422, "validation_failed").await;
        let mut start = transfer_request("standard");
        start["data"]["judgment_number"] = json!(long(4001));
        expect_problem(app.post("/api/v1/instances", &court, &start).await, 422, "validation_failed").await;

        // Agencies, webhooks, the calendar.
        let agency = json!({"code": "THADS-X", "kind": "enforcement", "name": long(301)});
        expect_problem(app.post("/api/v1/agencies", &admin, &agency).await, 422, "validation_failed").await;
        let hook = json!({"url": format!("https://example.org/{}", "a".repeat(2000))});
        let problem = expect_problem(
            app.post("/api/v1/agencies/THADS-HN/webhooks", &admin, &hook).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{problem}");
        let hook = json!({"url": "https://example.org/hook", "overlap_hours": 201});
        expect_problem(
            app.post("/api/v1/agencies/THADS-HN/webhooks", &admin, &hook).await,
            422,
            "validation_failed",
        )
        .await;
        let year = json!({"tet": "2030-02-03", "holidays": ["2030-01-01"], "source": long(501)});
        let r = app.put("/api/v1/calendar/years/2030", &admin, &year).await;
        expect_problem(r, 422, "validation_failed").await;
        let year = json!({"tet": "2030-02-03", "holidays": ["2030-01-01"], "source": "Thông báo\u{0}"});
        expect_problem(app.put("/api/v1/calendar/years/2030", &admin, &year).await, 422, "validation_failed")
            .await;

        // Query parameters: what they name has a shape, and a long one does not fit it.
        for path in [
            format!("/api/v1/instances?workflow={}", "a".repeat(65)),
            format!("/api/v1/instances?state={}", "a".repeat(65)),
            format!("/api/v1/instances?party={}", "A".repeat(41)),
            format!("/api/v1/instances?cursor={}", "0".repeat(2000)),
            format!("/api/v1/deadlines?workflow={}", "a".repeat(65)),
            format!("/api/v1/deadlines?agency={}", "A".repeat(41)),
            format!("/api/v1/deadlines?cursor=1_{}", "0".repeat(2000)),
            format!("/api/v1/cases?agency={}", "A".repeat(41)),
            format!("/api/v1/cases?cursor={}", "0".repeat(2000)),
            format!("/api/v1/agencies?cursor={}", "A".repeat(41)),
            format!("/api/v1/reports/enforcement?agency={}", "A".repeat(41)),
        ] {
            let r = app.get(&path, &officer).await;
            assert_eq!(r.status(), 400, "{backend:?} {path}");
            expect_problem(r, 400, "malformed_request").await;
        }

        // Bodies over the limit, on every kind of route that takes one.
        let huge = json!({"x": "y".repeat(600 * 1024)});
        for path in [
            "/api/v1/cases".to_owned(),
            "/api/v1/cases/batch".to_owned(),
            format!("/api/v1/cases/{id}/payments"),
            format!("/api/v1/cases/{id}/status"),
            fire.clone(),
            "/api/v1/agencies".to_owned(),
            "/api/v1/agencies/THADS-HN/webhooks".to_owned(),
        ] {
            let r = app.post(&path, &admin, &huge).await;
            assert_eq!(r.status(), 413, "{backend:?} {path}");
            expect_problem(r, 413, "payload_too_large").await;
        }
        expect_problem(app.put("/api/v1/calendar/years/2030", &admin, &huge).await, 413, "payload_too_large")
            .await;
        expect_problem(
            app.put("/api/v1/targets/THADS-HN/2026", &admin, &huge).await,
            413,
            "payload_too_large",
        )
        .await;
    }
}
