//! judgment_review: the Hà Nội office finds a judgment it enforces impossible to enforce as
//! written and asks the court to review it; the court protests by cassation and orders the
//! enforcement suspended, the office suspends the case (Art. 49), the review upholds the
//! judgment and the office resumes it. Another request the court declines; a protest whose
//! review annuls the judgment ends the case's enforcement.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{auditor, deadline, notified, Run};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

async fn open_case(app: &TestApp, number: &str) -> String {
    let case = crate::cases::case("THADS-HN", number, "2026-10-05", "850000000");
    let r = app.post("/api/v1/cases", &app.officer(), &case).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn review(case_id: &str) -> Value {
    json!({
        "workflow": "judgment_review",
        "case_id": case_id,
        "parties": {"enforcement": "THADS-HN", "court": "TAND-HN", "procuracy": "VKS-HN"},
        "data": {"judgment": "Bản án số 45/2026/DS-PT ngày 10/8/2026 của Tòa án nhân dân thành phố Hà Nội",
                 "decision_number": "310/QĐ-CTHADS"}
    })
}

async fn case_status(app: &TestApp, case_id: &str) -> String {
    let case: Value =
        app.get(&format!("/api/v1/cases/{case_id}"), &app.officer()).await.json().await.unwrap();
    case["status"].as_str().unwrap().to_owned()
}

async fn requested<'a>(app: &'a TestApp, case_id: &str) -> Run<'a> {
    let mut run = Run::start(app, &app.officer(), review(case_id), "opened").await;
    let request = app
        .with_pdf(
            &app.head(),
            "request_file",
            json!({"request_number": "12/CTHADS-NV", "requested_on": "2026-11-02",
                   "grounds": "Bản án tuyên giao thửa đất không còn tồn tại trên thực địa"}),
        )
        .await;
    run.step(&app.head(), "request_review", request, "review_requested").await;
    run
}

#[tokio::test]
async fn a_protest_suspends_the_case_and_the_upheld_judgment_resumes_it() {
    for backend in backends() {
        let app = spawn(backend).await;
        let case_id = open_case(&app, "THA-310/2026").await;
        let mut run = requested(&app, &case_id).await;
        let id = run.id.clone();
        assert_eq!(notified(&app, &id, 2), ["TAND-HN", "VKS-HN"]);
        // Three months from Monday 2 November: Tuesday 2 February 2027.
        assert_eq!(
            deadline(&app, &id, &app.court(), "answer_review_request").await["due_date"],
            "2027-02-02"
        );

        // Protesting is the court's; another court does not see the matter at all.
        let protest = app
            .with_pdf(
                &app.court(),
                "protest_file",
                json!({"protest_kind": "cassation", "protest_number": "08/QĐ-KNGĐT", "protested_on": "2026-11-20"}),
            )
            .await;
        run.refused(&app.head(), "protest", protest.clone(), 403, "forbidden").await;
        let other_court = app.token("tand-lc", "TAND-LC", &[lienganh::domain::Role::CourtLiaison]);
        run.refused(&other_court, "protest", protest.clone(), 404, "not_found").await;
        run.step(&app.court(), "protest", protest, "protested").await;

        let order = app
            .with_pdf(
                &app.court(),
                "suspension_order_file",
                json!({"suspension_order_number": "09/QĐ-TĐC", "suspension_ordered_at": "2026-11-23T09:00:00+07:00"}),
            )
            .await;
        run.step(&app.court(), "order_suspension", order, "suspension_ordered").await;
        // The office suspends at once: by the end of the next working day, Tuesday 24 November.
        assert_eq!(deadline(&app, &id, &app.head(), "suspend").await["due_date"], "2026-11-24");
        let stale = app.fire(&id, &app.head(), "suspend_enforcement", run.version - 1, json!({})).await;
        expect_problem(stale, 409, "version_conflict").await;
        let suspend = json!({"suspension_number": "40/QĐ-CTHADS", "suspended_on": "2026-11-23"});
        run.step(&app.head(), "suspend_enforcement", suspend, "suspended").await;
        assert_eq!(case_status(&app, &case_id).await, "suspended", "{backend:?}");

        let upheld = json!({"outcome": "judgment_upheld", "review_decision_number": "15/2026/DS-GĐT",
                            "decided_on": "2026-12-01"});
        run.step(&app.court(), "decide_review", upheld, "review_decided").await;
        // The judgment stands: the office may not end the enforcement, only resume it.
        assert_eq!(run.available(&app.head()).await, ["resume_enforcement"]);
        run.refused(
            &app.head(),
            "end_enforcement",
            json!({"ended_on": "2026-12-02"}),
            422,
            "transition_not_allowed",
        )
        .await;
        let last =
            run.step(&app.head(), "resume_enforcement", json!({"resumed_on": "2026-12-02"}), "resumed").await;
        assert_eq!(last["terminal"], true);
        assert_eq!(case_status(&app, &case_id).await, "open");
        run.verify(&auditor(&app), 7).await;
    }
}

#[tokio::test]
async fn a_declined_request_ends_it_and_an_annulled_judgment_ends_the_enforcement() {
    for backend in backends() {
        let app = spawn(backend).await;
        let case_id = open_case(&app, "THA-311/2026").await;
        let mut run = requested(&app, &case_id).await;
        let declined = json!({"declined_on": "2026-11-25", "decline_reason": "Không có căn cứ kháng nghị"});
        let last = run.step(&app.court(), "decline", declined, "declined").await;
        assert_eq!(last["terminal"], true);
        assert_eq!(case_status(&app, &case_id).await, "open");

        // The court protests of its own motion: the office opened the record when it came.
        let mut run = Run::start(&app, &app.officer(), review(&case_id), "opened").await;
        let protest = app
            .with_pdf(
                &app.court(),
                "protest_file",
                json!({"protest_kind": "reopening", "protest_number": "02/QĐ-KNTT", "protested_on": "2026-11-26"}),
            )
            .await;
        run.step(&app.court(), "protest", protest, "protested").await;
        let annulled = json!({"outcome": "judgment_annulled", "review_decision_number": "03/2026/DS-TT",
                              "decided_on": "2026-12-03"});
        run.step(&app.court(), "decide_review", annulled, "review_decided").await;
        run.step(&app.head(), "end_enforcement", json!({"ended_on": "2026-12-04"}), "ended").await;
        assert_eq!(case_status(&app, &case_id).await, "terminated", "{backend:?}");
        run.verify(&app.court(), 4).await;
    }
}
