use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, transfer_request};

#[tokio::test]
async fn a_retried_request_replays_its_first_answer() {
    for backend in backends() {
        let app = spawn(backend).await;
        let court = app.court();

        // Creation: the retry returns the same instance and creates no second one.
        let first =
            app.post_with_key("/api/v1/instances", &court, "create-1", &transfer_request("standard")).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again =
            app.post_with_key("/api/v1/instances", &court, "create-1", &transfer_request("standard")).await;
        assert_eq!(again.status(), 201);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        let page: Value = app.get("/api/v1/instances", &court).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);

        // A step: the retry does not step twice.
        let id = first["id"].as_str().unwrap();
        let path = format!("/api/v1/instances/{id}/transitions");
        // One upload: every retry is the same request, naming the same file.
        let data = app.transfer_data("Bản án").await;
        let step = json!({"transition": "transfer", "expected_version": 1, "data": data});
        let a: Value = app.post_with_key(&path, &court, "step-1", &step).await.json().await.unwrap();
        let r = app.post_with_key(&path, &court, "step-1", &step).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), a);
        let history: Value =
            app.get(&format!("/api/v1/instances/{id}/history"), &court).await.json().await.unwrap();
        assert_eq!(history["events"].as_array().unwrap().len(), 2);

        // The same key for another body is refused; the key belongs to its first request.
        let mut other = step.clone();
        other["comment"] = json!("khác");
        expect_problem(
            app.post_with_key(&path, &court, "step-1", &other).await,
            422,
            "idempotency_key_reused",
        )
        .await;

        // Keys are per user: another user's identical key is a request of its own.
        let other_user = app.token("court-2", "TAND-HN", &[lienganh::domain::Role::CourtLiaison]);
        let r = app
            .post_with_key("/api/v1/instances", &other_user, "create-1", &transfer_request("standard"))
            .await;
        assert_eq!(r.status(), 201);
        assert!(r.headers().get("idempotent-replayed").is_none());

        // A refusal is a first answer too: the retry gets it back, marked as a replay, even
        // after what caused it has changed; fixing the request takes a new key.
        let mut bad = transfer_request("standard");
        bad["parties"]["court"] = json!("TAND-QT");
        let first = expect_problem(
            app.post_with_key("/api/v1/instances", &court, "create-2", &bad).await,
            422,
            "validation_failed",
        )
        .await;
        let admin = app.admin();
        let quang_tri = json!({"code": "TAND-QT", "kind": "court", "name": "Tòa án nhân dân tỉnh Quảng Trị"});
        assert_eq!(app.post("/api/v1/agencies", &admin, &quang_tri).await.status(), 201);
        let r = app.post_with_key("/api/v1/instances", &court, "create-2", &bad).await;
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        assert_eq!(expect_problem(r, 422, "validation_failed").await, first);
        let fixed = transfer_request("standard");
        expect_problem(
            app.post_with_key("/api/v1/instances", &court, "create-2", &fixed).await,
            422,
            "idempotency_key_reused",
        )
        .await;
        assert_eq!(app.post_with_key("/api/v1/instances", &court, "create-3", &fixed).await.status(), 201);

        // The same step spelled with an upper-case id is the same request.
        let upper = format!("/api/v1/instances/{}/transitions", id.to_uppercase());
        let r = app.post_with_key(&upper, &court, "step-1", &step).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["idempotent-replayed"], "true");
    }
}

/// Concurrent retries of one keyed request: one runs, the others replay it.
#[tokio::test]
async fn concurrent_retries_run_once() {
    for backend in backends() {
        let app = spawn(backend).await;
        let court = app.court();
        let body = transfer_request("standard");
        let sends = (0..4).map(|_| app.post_with_key("/api/v1/instances", &court, "same", &body));
        let answers = futures_util::future::join_all(sends).await;
        let mut ids = std::collections::BTreeSet::new();
        let mut first_answers = 0;
        for r in answers {
            assert_eq!(r.status(), 201, "{backend:?}");
            if r.headers().get("idempotent-replayed").is_none() {
                first_answers += 1;
            }
            ids.insert(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 1, "{backend:?}: {ids:?}");
        assert_eq!(first_answers, 1, "{backend:?}");
    }
}

/// Every POST that takes a key fingerprints its route one way: a payment retried with the
/// case's id in upper case is the same request, replayed, not a reuse of the key.
#[tokio::test]
async fn a_case_route_retried_with_another_spelling_of_its_id_is_replayed() {
    for backend in backends() {
        let app = spawn(backend).await;
        let officer = app.officer();
        let case = crate::cases::case("THADS-HN", "77", "2026-07-20", "5000000");
        let opened: Value = app.post("/api/v1/cases", &officer, &case).await.json().await.unwrap();
        let id = opened["id"].as_str().unwrap();
        let payment = json!({"amount": "1000000", "paid_on": "2026-08-01", "method": "cash"});
        let first =
            app.post_with_key(&format!("/api/v1/cases/{id}/payments"), &officer, "pay-1", &payment).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let upper = format!("/api/v1/cases/{}/payments", id.to_uppercase());
        let again = app.post_with_key(&upper, &officer, "pay-1", &payment).await;
        assert_eq!(again.status(), 201, "{backend:?}");
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        let seen: Value = app.get(&format!("/api/v1/cases/{id}"), &officer).await.json().await.unwrap();
        assert_eq!(seen["collected"], "1000000", "paid once");
    }
}

/// A remembered answer is kept 48 hours (unless configured), then the sweep removes it: the
/// same key starts anew. One younger than the retention is kept and still replayed.
#[tokio::test]
async fn remembered_answers_expire_after_their_retention() {
    for backend in backends() {
        let app = spawn(backend).await;
        let request = crate::helpers::transfer_request("standard");
        let first = app.post_with_key("/api/v1/instances", &app.court(), "old-key", &request).await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let young = app.post_with_key("/api/v1/instances", &app.court(), "young-key", &request).await;
        let young: Value = young.json().await.unwrap();
        let sweep = |hours: i64| {
            std::process::Command::new(env!("CARGO_BIN_EXE_lienganh"))
                .env_remove("LIENGANH_CONFIG")
                .env("LIENGANH_DATABASE_URL", &app.database_url)
                .env("LIENGANH_WORKFLOWS", concat!(env!("CARGO_MANIFEST_DIR"), "/workflows"))
                .args([
                    "remind",
                    "--once",
                    "--now",
                    &(chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339(),
                ])
                .output()
                .unwrap()
        };
        // Within the retention nothing goes.
        let early = sweep(47);
        assert!(early.status.success(), "{}", String::from_utf8_lossy(&early.stderr));
        assert!(!String::from_utf8_lossy(&early.stdout).contains("remembered answers"), "{backend:?}");
        // Two hours older, the first key's answer is past 48 hours 47 hours from now; the
        // second's is not.
        app.sql("UPDATE idempotency_keys SET created_at = created_at - 7200000000 WHERE key = 'old-key'");
        let out = sweep(47);
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(said.contains("remembered answers past their retention removed 1\n"), "{backend:?} {said}");
        let again = app.post_with_key("/api/v1/instances", &app.court(), "old-key", &request).await;
        assert_eq!(again.status(), 201);
        assert!(again.headers().get("idempotent-replayed").is_none(), "{backend:?}");
        let again: Value = again.json().await.unwrap();
        assert_ne!(again["id"], first["id"], "{backend:?} the expired key starts anew");
        let replay = app.post_with_key("/api/v1/instances", &app.court(), "young-key", &request).await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true", "{backend:?}");
        assert_eq!(replay.json::<Value>().await.unwrap()["id"], young["id"]);
    }
}

/// A duplicate of a request still being answered gets its own code, `request_in_progress`
/// (409, with `Retry-After`), not a version conflict. A claimed key with no answer yet stands
/// for the first request in flight.
#[tokio::test]
async fn a_duplicate_in_flight_is_told_to_retry() {
    for backend in backends() {
        let app = spawn(backend).await;
        let body = transfer_request("standard");
        let first = app.post_with_key("/api/v1/instances", &app.court(), "in-flight", &body).await;
        assert_eq!(first.status(), 201);
        app.sql("UPDATE idempotency_keys SET status = 0, body = '' WHERE key = 'in-flight'");
        let r = app.post_with_key("/api/v1/instances", &app.court(), "in-flight", &body).await;
        assert_eq!(r.headers()["retry-after"], "1", "{backend:?}");
        expect_problem(r, 409, "request_in_progress").await;
    }
}
