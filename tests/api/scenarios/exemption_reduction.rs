//! exemption_reduction: the Hà Nội enforcement office proposes to exempt or reduce a debt to
//! the State budget; the procuracy gives its opinion; the court accepts the dossier, assigns
//! a judge and decides; the procuracy may protest within 7 days (same level) or 15 days
//! (superior level), otherwise the decision takes effect.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{auditor, error_fields, error_reason, police, Run};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

fn request() -> Value {
    json!({
        "workflow": "exemption_reduction",
        "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN", "court": "TAND-HN"},
        "data": {
            "obligation": "Án phí dân sự sơ thẩm theo Bản án 47/2026/DS-PT",
            "amount_due": "120000000",
            "amount_requested": "50000000",
            "grounds": "Người phải thi hành án không có tài sản, đã thi hành được 1/5 khoản án phí (Điều 61)"
        }
    })
}

/// The dossier walked to the court's acceptance of it.
async fn filed(app: &TestApp) -> Run<'_> {
    let mut run = Run::start(app, &app.head(), request(), "dossier").await;
    assert_eq!(run.last["data"]["amount_due"], "120000000");
    run.step(&app.head(), "send_to_procuracy", json!({"sent_on": "2026-10-26"}), "awaiting_opinion").await;
    run.step(
        &app.procuracy(),
        "give_opinion",
        json!({"opinion": "agree", "remarks": "Đủ điều kiện xét giảm"}),
        "opinion_given",
    )
    .await;
    run.step(&app.head(), "file_with_court", json!({"filed_on": "2026-10-30"}), "filed").await;
    run
}

/// Accepted, judge assigned, decided on 10 November 2026.
async fn decided(app: &TestApp) -> Run<'_> {
    let mut run = filed(app).await;
    run.step(
        &app.court(),
        "accept",
        json!({"accepted_on": "2026-11-02", "court_case_number": "15/2026/TLST-MG"}),
        "accepted",
    )
    .await;
    run.step(
        &app.court(),
        "assign_judge",
        json!({"judge": "Thẩm phán Nguyễn Văn Bình", "assigned_on": "2026-11-04"}),
        "judge_assigned",
    )
    .await;
    let decided = run
        .step(
            &app.court(),
            "decide",
            json!({"decision": "reduced", "amount_exempted": "50000000", "decision_number": "21/2026/QĐ-MG",
                   "decision_date": "2026-11-10"}),
            "decided",
        )
        .await;
    assert_eq!(decided["data"]["amount_exempted"], "50000000");
    run
}

fn protest(date: &str, level: &str) -> Value {
    json!({
        "protest_number": "02/QĐKNPT-VKS",
        "protest_date": date,
        "protest_level": level,
        "protest_grounds": "Người phải thi hành án có tài sản chưa được xác minh"
    })
}

#[tokio::test]
async fn a_reduction_is_decided_and_takes_effect() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = decided(&app).await;
        let effective =
            run.step(&app.head(), "record_effect", json!({"effective_on": "2026-11-26"}), "effective").await;
        assert_eq!(effective["terminal"], true);

        let history = run.history(&app.court()).await;
        let actors: Vec<(&str, &str, &str)> =
            history.iter().map(|(t, a, r)| (t.as_str(), a.as_str(), r.as_str())).collect();
        assert_eq!(
            actors,
            [
                ("create", "THADS-HN", "enforcement_head"),
                ("send_to_procuracy", "THADS-HN", "enforcement_head"),
                ("give_opinion", "VKS-HN", "procuracy_inspector"),
                ("file_with_court", "THADS-HN", "enforcement_head"),
                ("accept", "TAND-HN", "court_liaison"),
                ("assign_judge", "TAND-HN", "court_liaison"),
                ("decide", "TAND-HN", "court_liaison"),
                ("record_effect", "THADS-HN", "enforcement_head"),
            ]
        );
        run.verify(&app.procuracy(), 8).await;
    }
}

/// The same-level procuracy has 7 days from the decision: on the 10th day it is refused, on
/// the 6th it is lodged.
#[tokio::test]
async fn a_protest_must_be_lodged_within_the_window() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = decided(&app).await;
        let problem = run
            .refused(
                &app.procuracy(),
                "protest",
                protest("2026-11-20", "same_level"),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(error_fields(&problem), ["data.protest_date"]);
        let reason = error_reason(&problem, "data.protest_date");
        assert!(reason.contains("10 days") && reason.contains("7 days"), "{reason}");
        assert!(reason.contains("Điều 64"), "{reason}");
        // Nor before the decision it protests.
        run.refused(
            &app.procuracy(),
            "protest",
            protest("2026-11-09", "same_level"),
            422,
            "validation_failed",
        )
        .await;
        // Only the procuracy protests.
        run.refused(&app.court(), "protest", protest("2026-11-16", "same_level"), 403, "forbidden").await;

        let protested =
            run.step(&app.procuracy(), "protest", protest("2026-11-16", "same_level"), "protested").await;
        assert_eq!(protested["terminal"], true);
        assert_eq!(protested["data"]["protest_date"], "2026-11-16");
        // The decision no longer takes effect.
        run.refused(
            &app.head(),
            "record_effect",
            json!({"effective_on": "2026-11-26"}),
            422,
            "transition_not_allowed",
        )
        .await;
        run.verify(&app.court(), 8).await;
    }
}

/// The superior procuracy's 15 days: the same late date is in time at that level.
#[tokio::test]
async fn a_superior_level_protest_has_fifteen_days() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = decided(&app).await;
        run.refused(
            &app.procuracy(),
            "protest",
            protest("2026-11-26", "superior_level"),
            422,
            "validation_failed",
        )
        .await;
        run.step(&app.procuracy(), "protest", protest("2026-11-20", "superior_level"), "protested").await;
        run.verify(&app.procuracy(), 8).await;
    }
}

/// The court returns an incomplete dossier; the office completes it and files it again.
#[tokio::test]
async fn a_returned_dossier_goes_round_again() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = filed(&app).await;
        run.refused(&app.court(), "return_dossier", json!({}), 422, "validation_failed").await;
        let back = run
            .step(
                &app.court(),
                "return_dossier",
                json!({"return_reason": "Thiếu biên bản xác minh điều kiện thi hành án"}),
                "dossier",
            )
            .await;
        assert_eq!(back["terminal"], false);
        assert_eq!(run.available(&app.head()).await, ["send_to_procuracy"]);

        run.step(&app.head(), "send_to_procuracy", json!({"sent_on": "2026-11-09"}), "awaiting_opinion")
            .await;
        let opinion =
            run.step(&app.procuracy(), "give_opinion", json!({"opinion": "agree"}), "opinion_given").await;
        assert_eq!(opinion["data"]["remarks"], "Đủ điều kiện xét giảm", "earlier data stays until restated");
        run.step(&app.head(), "file_with_court", json!({"filed_on": "2026-11-11"}), "filed").await;
        run.step(
            &app.court(),
            "accept",
            json!({"accepted_on": "2026-11-12", "court_case_number": "16/2026/TLST-MG"}),
            "accepted",
        )
        .await;
        run.verify(&app.court(), 9).await;
    }
}

#[tokio::test]
async fn refusals_of_role_party_state_and_data() {
    for backend in backends() {
        let app = spawn(backend).await;
        // Only the head prepares a dossier.
        expect_problem(app.post("/api/v1/instances", &app.officer(), &request()).await, 403, "forbidden")
            .await;
        let mut run = Run::start(&app, &app.head(), request(), "dossier").await;
        // The court cannot accept what was not filed.
        run.refused(
            &app.court(),
            "accept",
            json!({"accepted_on": "2026-11-02", "court_case_number": "1"}),
            422,
            "transition_not_allowed",
        )
        .await;
        run.step(&app.head(), "send_to_procuracy", json!({"sent_on": "2026-10-26"}), "awaiting_opinion")
            .await;
        // An opinion is agree or disagree.
        let problem = run
            .refused(&app.procuracy(), "give_opinion", json!({"opinion": "maybe"}), 422, "validation_failed")
            .await;
        assert_eq!(error_fields(&problem), ["data.opinion"]);
        // The police are no party.
        run.refused(&police(&app), "give_opinion", json!({"opinion": "agree"}), 404, "not_found").await;
        let lao_cai = app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector]);
        run.refused(&lao_cai, "give_opinion", json!({"opinion": "agree"}), 404, "not_found").await;
        run.step(&app.procuracy(), "give_opinion", json!({"opinion": "disagree"}), "opinion_given").await;
        run.verify(&auditor(&app), 3).await;
    }
}
