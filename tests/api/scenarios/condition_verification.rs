//! condition_verification: after the decision is served, the obligor's voluntary period runs;
//! the Hà Nội enforcement office then verifies the conditions of enforcement, classifies the
//! case, re-verifies a case not yet enforceable, reclassifies or closes it.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{auditor, error_fields, Run};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

fn request() -> Value {
    json!({
        "workflow": "condition_verification",
        "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {"decision_number": "1520/QĐ-CTHADS", "notified_date": "2026-08-03"}
    })
}

fn not_yet() -> Value {
    json!({
        "decision_not_yet_number": "45/QĐ-CTHADS",
        "verification_date": "2026-08-20",
        "reverification_basis": "standard",
        "findings": "Người phải thi hành án không có tài sản, thu nhập"
    })
}

async fn verifying(app: &TestApp) -> Run<'_> {
    let mut run = Run::start(app, &app.officer(), request(), "voluntary_period").await;
    run.step(
        &app.officer(),
        "start_verification",
        json!({"voluntary_period_ended": "2026-08-13"}),
        "verifying",
    )
    .await;
    run
}

/// Not yet enforceable, re-verified twice, then enforceable once the obligor has assets.
#[tokio::test]
async fn a_case_not_yet_enforceable_is_reverified_then_reclassified() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = verifying(&app).await;
        let classified = run.step(&app.head(), "classify_not_yet", not_yet(), "not_yet_enforceable").await;
        assert_eq!(classified["data"]["reverification_basis"], "standard");
        assert_eq!(classified["terminal"], false);

        // Re-verified every six months: the state stays, the version moves on, the data follows.
        for (version, date) in [(4, "2027-02-18"), (5, "2027-08-17")] {
            let after = run
                .step(
                    &app.officer(),
                    "reverify",
                    json!({"verification_date": date, "findings": "Vẫn chưa có tài sản"}),
                    "not_yet_enforceable",
                )
                .await;
            assert_eq!(after["version"], version);
            assert_eq!(after["data"]["verification_date"], date);
            assert_eq!(
                after["data"]["reverification_basis"], "standard",
                "the cycle is kept when not restated"
            );
        }
        let enforceable = run
            .step(
                &app.head(),
                "reclassify_enforceable",
                json!({"verification_date": "2027-11-02", "findings": "Được thừa kế quyền sử dụng đất"}),
                "enforceable",
            )
            .await;
        assert_eq!(enforceable["terminal"], true);

        let history = run.history(&app.procuracy()).await;
        let transitions: Vec<&str> = history.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(
            transitions,
            [
                "create",
                "start_verification",
                "classify_not_yet",
                "reverify",
                "reverify",
                "reclassify_enforceable"
            ]
        );
        run.verify(&app.procuracy(), 6).await;
    }
}

/// The obligor complies within the voluntary period: nothing to verify.
#[tokio::test]
async fn voluntary_compliance_ends_it() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = Run::start(&app, &app.officer(), request(), "voluntary_period").await;
        let done = run
            .step(
                &app.officer(),
                "record_voluntary_compliance",
                json!({"compliance_date": "2026-08-10", "amount_paid": "1302149296000"}),
                "completed_voluntarily",
            )
            .await;
        assert_eq!(done["terminal"], true);
        assert_eq!(done["data"]["amount_paid"], "1302149296000");
        run.refused(
            &app.officer(),
            "start_verification",
            json!({"voluntary_period_ended": "2026-08-13"}),
            422,
            "transition_not_allowed",
        )
        .await;
        run.verify(&app.procuracy(), 2).await;
    }
}

/// Classified as enforceable straight after verification; and a case closed while not yet
/// enforceable (the obligee withdrew the request).
#[tokio::test]
async fn classified_enforceable_or_closed() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = verifying(&app).await;
        run.step(
            &app.head(),
            "classify_enforceable",
            json!({"verification_date": "2026-08-20", "findings": "Có tài khoản tại Vietcombank"}),
            "enforceable",
        )
        .await;
        run.verify(&app.head(), 3).await;

        let mut run = verifying(&app).await;
        run.step(&app.head(), "classify_not_yet", not_yet(), "not_yet_enforceable").await;
        run.step(
            &app.officer(),
            "reverify",
            json!({"verification_date": "2027-02-18", "findings": "Đang chấp hành án phạt tù", "reverification_basis": "prisoner"}),
            "not_yet_enforceable",
        )
        .await;
        assert_eq!(run.last["data"]["reverification_basis"], "prisoner");
        // Only the head closes a case.
        let closing = json!({"closed_on": "2027-03-01", "reason": "Người được thi hành án rút đơn yêu cầu"});
        run.refused(&app.officer(), "close", closing.clone(), 403, "forbidden").await;
        let closed = run.step(&app.head(), "close", closing, "closed").await;
        assert_eq!(closed["terminal"], true);
        run.verify(&app.head(), 5).await;
    }
}

#[tokio::test]
async fn refusals_of_role_state_data_and_party() {
    for backend in backends() {
        let app = spawn(backend).await;
        // The procuracy is a party but does not start a verification.
        expect_problem(app.post("/api/v1/instances", &app.procuracy(), &request()).await, 403, "forbidden")
            .await;

        let mut run = verifying(&app).await;
        // No re-verification of a case not yet classified.
        run.refused(
            &app.officer(),
            "reverify",
            json!({"verification_date": "2026-08-20", "findings": "x"}),
            422,
            "transition_not_allowed",
        )
        .await;
        // Only the head classifies.
        run.refused(&app.officer(), "classify_not_yet", not_yet(), 403, "forbidden").await;
        // A cycle the law does not know.
        let mut monthly = not_yet();
        monthly["reverification_basis"] = json!("monthly");
        let problem = run.refused(&app.head(), "classify_not_yet", monthly, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.reverification_basis"]);
        // Another province's office does not see it.
        let other = app.token("head-lc", "THADS-LC", &[Role::EnforcementHead]);
        run.refused(&other, "classify_not_yet", not_yet(), 404, "not_found").await;
        run.step(&app.head(), "classify_not_yet", not_yet(), "not_yet_enforceable").await;
        run.verify(&auditor(&app), 3).await;
    }
}
