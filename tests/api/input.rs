use serde_json::json;

use crate::helpers::{backends, expect_problem, spawn, transfer_data, transfer_request};

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
        let mut data = transfer_data("Xe máy");
        data["documents"][0]["declared_value"] = json!(1.5);
        let float = json!({"transition": "transfer", "expected_version": 1, "data": data});
        let body = expect_problem(app.post(&fire_path, &court, &float).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "data.documents[0]", "{body}");
        let nul = json!({"transition": "transfer", "expected_version": 1, "data": transfer_data("x"), "comment": "a\u{0}"});
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
