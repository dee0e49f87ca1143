//! court_explanation: the Hà Nội enforcement office asks the Hà Nội court to explain a
//! judgment; the court answers (or asks for more); the office acts on the answer, or withdraws.

use serde_json::{json, Value};

use super::common::{auditor, deadline, error_fields, police, Run};
use crate::helpers::{backends, spawn, TestApp};

fn request() -> Value {
    json!({
        "workflow": "court_explanation",
        "parties": {"enforcement": "THADS-HN", "court": "TAND-HN", "procuracy": "VKS-HN"},
        "data": {
            "judgment_number": "47/2026/DS-PT",
            "request_number": "215/THADS-NV",
            "request_date": "2026-11-10",
            "points": "Bản án không xác định rõ vị trí, ranh giới thửa đất số 112 phải giao"
        }
    })
}

fn answer() -> Value {
    json!({
        "answer_number": "33/TA-GT",
        "answer_date": "2026-11-20",
        "explanation": "Thửa đất 112 theo sơ đồ đo đạc ngày 05/3/2026 kèm theo hồ sơ vụ án"
    })
}

fn act_on() -> Value {
    json!({"action_date": "2026-11-26", "action_taken": "Tiếp tục tổ chức thi hành, giao thửa đất 112 theo sơ đồ"})
}

async fn requested(app: &TestApp) -> Run<'_> {
    Run::start(app, &app.officer(), request(), "requested").await
}

#[tokio::test]
async fn the_court_answers_and_the_office_acts_on_it() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = requested(&app).await;
        let answered = run.step(&app.court(), "answer", answer(), "answered").await;
        assert_eq!(answered["data"]["answer_number"], "33/TA-GT");
        // The procuracy of the same level reads the answer.
        let seen = run.get(&app.procuracy()).await;
        assert_eq!(seen["data"]["explanation"], answered["data"]["explanation"]);
        let done = run.step(&app.officer(), "act_on", act_on(), "acted_on").await;
        assert_eq!(done["terminal"], true);

        let history = run.history(&app.court()).await;
        let actors: Vec<(&str, &str)> = history.iter().map(|(t, a, _)| (t.as_str(), a.as_str())).collect();
        assert_eq!(actors, [("create", "THADS-HN"), ("answer", "TAND-HN"), ("act_on", "THADS-HN")]);
        run.verify(&app.court(), 3).await;
    }
}

/// The court asks for the request to be completed; the office supplements it; then answered.
#[tokio::test]
async fn a_supplement_is_asked_for_and_given() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = requested(&app).await;
        run.step(
            &app.court(),
            "request_supplement",
            json!({"missing": "Đề nghị gửi kèm biên bản xác minh hiện trạng thửa đất"}),
            "supplement_requested",
        )
        .await;
        // Nothing to answer while the request is incomplete.
        run.refused(&app.court(), "answer", answer(), 422, "transition_not_allowed").await;
        assert_eq!(run.available(&app.officer()).await, ["supplement"]);
        assert_eq!(run.available(&app.head()).await, ["supplement", "withdraw"]);

        let supplemented = run
            .step(
                &app.officer(),
                "supplement",
                json!({"supplement": "Gửi kèm biên bản xác minh ngày 14/11/2026"}),
                "requested",
            )
            .await;
        assert_eq!(supplemented["data"]["missing"], "Đề nghị gửi kèm biên bản xác minh hiện trạng thửa đất");
        run.step(&app.court(), "answer", answer(), "answered").await;
        run.step(&app.head(), "act_on", act_on(), "acted_on").await;
        run.verify(&app.procuracy(), 5).await;
    }
}

/// Only the head withdraws a request; once withdrawn, the court has nothing to answer.
#[tokio::test]
async fn the_head_withdraws_the_request() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = requested(&app).await;
        let reason = json!({"withdrawal_reason": "Đương sự đã tự nguyện thỏa thuận việc giao đất"});
        run.refused(&app.officer(), "withdraw", reason.clone(), 403, "forbidden").await;
        let withdrawn = run.step(&app.head(), "withdraw", reason, "withdrawn").await;
        assert_eq!(withdrawn["terminal"], true);
        run.refused(&app.court(), "answer", answer(), 422, "transition_not_allowed").await;
        run.verify(&app.court(), 2).await;
    }
}

#[tokio::test]
async fn refusals_of_party_role_and_data() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = requested(&app).await;
        // The police are no party to it.
        run.refused(&police(&app), "answer", answer(), 404, "not_found").await;
        // The office cannot answer for the court; the court cannot act for the office.
        run.refused(&app.head(), "answer", answer(), 403, "forbidden").await;
        // Acting on an answer not yet given.
        run.refused(&app.officer(), "act_on", act_on(), 422, "transition_not_allowed").await;
        // An answer with a date in another format and no explanation.
        let problem = run
            .refused(
                &app.court(),
                "answer",
                json!({"answer_number": "33/TA-GT", "answer_date": "20/11/2026"}),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(error_fields(&problem), ["data.answer_date", "data.explanation"]);
        run.step(&app.court(), "answer", answer(), "answered").await;
        run.refused(&app.court(), "act_on", act_on(), 403, "forbidden").await;
        run.verify(&auditor(&app), 2).await;
    }
}

/// The court's 15 days run from its receipt of the request: a request sent on paper on 23
/// November and received on Wednesday 25 November is due on Thursday 10 December, whatever
/// day it was entered here; one made here runs from its entry.
#[tokio::test]
async fn the_explanations_clock_starts_at_the_courts_receipt() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut on_paper = request();
        on_paper["data"]["request_date"] = json!("2026-11-23");
        on_paper["data"]["court_received_on"] = json!("2026-11-25");
        let run = Run::start(&app, &app.officer(), on_paper, "requested").await;
        assert_eq!(run.last["workflow_version"], 2, "{backend:?}");
        assert_eq!(deadline(&app, &run.id, &app.court(), "answer").await["due_date"], "2026-12-10");

        // Received before it was made: refused.
        let mut backwards = request();
        backwards["data"]["court_received_on"] = json!("2026-11-09");
        let r = app.post("/api/v1/instances", &app.officer(), &backwards).await;
        let problem = crate::helpers::expect_problem(r, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.court_received_on"]);

        let here = Run::start(&app, &app.officer(), request(), "requested").await;
        let starts = deadline(&app, &here.id, &app.court(), "answer").await["starts_at"].clone();
        assert_eq!(starts, here.last["created_at"], "{backend:?}");
    }
}
