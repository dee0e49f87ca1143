//! condition_verification: the enforcement decision is served on the obligor (in person, by
//! post, by public posting or through VNeID), which starts the voluntary period; the Hà Nội
//! enforcement office then verifies the conditions of enforcement, classifies the case,
//! re-verifies a case not yet enforceable, reclassifies or closes it.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{auditor, deadline, deadlines_moved, error_fields, error_reason, Run};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

/// The decision was sent on 31 July 2026.
fn request() -> Value {
    json!({
        "workflow": "condition_verification",
        "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {"decision_number": "1520/QĐ-CTHADS", "decision_sent_date": "2026-07-31"}
    })
}

fn service(served_on: &str, channel: &str) -> Value {
    json!({"served_on": served_on, "service_channel": channel})
}

fn not_yet() -> Value {
    json!({
        "decision_not_yet_number": "45/QĐ-CTHADS",
        "verification_date": "2026-08-20",
        "reverification_basis": "standard",
        "findings": "Người phải thi hành án không có tài sản, thu nhập"
    })
}

/// Started and served in person on 3 August 2026: the voluntary period runs.
async fn served(app: &TestApp) -> Run<'_> {
    let mut run = Run::start(app, &app.officer(), request(), "awaiting_service").await;
    run.step(&app.officer(), "record_service", service("2026-08-03", "in_person"), "voluntary_period").await;
    run
}

async fn verifying(app: &TestApp) -> Run<'_> {
    let mut run = served(app).await;
    run.step(
        &app.officer(),
        "start_verification",
        json!({"voluntary_period_ended": "2026-08-13"}),
        "verifying",
    )
    .await;
    run
}

/// Served through VNeID: the VNeID-confirmed delivery date is the date of service, and the
/// office's one verification clock (the 10-day voluntary period, then 10 days to verify) runs
/// from it, through the voluntary period and the verification, and stops at the classification.
#[tokio::test]
async fn a_decision_served_through_vneid_starts_the_voluntary_period() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = Run::start(&app, &app.officer(), request(), "awaiting_service").await;
        assert_eq!(run.last["data"]["decision_sent_date"], "2026-07-31");
        assert!(run.last["data"].get("served_on").is_none(), "{}", run.last);
        // Nothing runs against the office before the decision is served.
        assert_eq!(deadlines_moved(&app, &run.id, 1), (vec![], vec![]));
        // Until it is served, the voluntary period has not begun: nothing to record or verify.
        assert_eq!(run.available(&app.officer()).await, ["record_service"]);
        assert_eq!(run.available(&app.head()).await, ["record_service", "close"]);
        run.refused(
            &app.officer(),
            "record_voluntary_compliance",
            json!({"compliance_date": "2026-08-10"}),
            422,
            "transition_not_allowed",
        )
        .await;
        run.refused(
            &app.officer(),
            "start_verification",
            json!({"voluntary_period_ended": "2026-08-13"}),
            422,
            "transition_not_allowed",
        )
        .await;

        let served = run
            .step(&app.officer(), "record_service", service("2026-08-04", "vneid"), "voluntary_period")
            .await;
        assert_eq!(served["data"]["served_on"], "2026-08-04");
        assert_eq!(served["data"]["service_channel"], "vneid");
        assert_eq!(served["data"]["decision_sent_date"], "2026-07-31", "the sending date stays");
        assert_eq!(deadlines_moved(&app, &run.id, 2), (vec!["verification".to_owned()], vec![]));
        let opened = deadline(&app, &run.id, &app.officer(), "verification").await;
        assert_eq!(
            opened["starts_at"], "2026-08-04T00:00:00.000000+07:00",
            "the clock starts from the date of service"
        );
        // 20 days from Tuesday 4 August 2026: Monday 24 August.
        assert_eq!(opened["due_date"], "2026-08-24");
        assert_eq!(opened["responsible"], "THADS-HN");
        assert_eq!(opened["escalate_to"], "VKS-HN");
        assert_eq!(opened["status"], "open");

        // The same clock runs on through the verification...
        run.step(
            &app.officer(),
            "start_verification",
            json!({"voluntary_period_ended": "2026-08-14"}),
            "verifying",
        )
        .await;
        assert_eq!(deadlines_moved(&app, &run.id, 3), (vec![], vec![]));
        // ... and stops when the case is classified.
        run.step(
            &app.head(),
            "classify_enforceable",
            json!({"verification_date": "2026-08-20", "findings": "Có tài khoản tại Vietcombank"}),
            "enforceable",
        )
        .await;
        assert_eq!(deadlines_moved(&app, &run.id, 4), (vec![], vec!["verification".to_owned()]));

        let history = run.history(&app.procuracy()).await;
        let transitions: Vec<&str> = history.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(transitions, ["create", "record_service", "start_verification", "classify_enforceable"]);
        run.verify(&app.procuracy(), 4).await;
    }
}

/// The date of service is a date after the decision was sent, and the channel one the law
/// knows.
#[tokio::test]
async fn the_service_is_checked() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = Run::start(&app, &app.officer(), request(), "awaiting_service").await;
        // Served before it was sent.
        let problem = run
            .refused(
                &app.officer(),
                "record_service",
                service("2026-07-30", "post"),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(error_fields(&problem), ["data.served_on"]);
        let reason = error_reason(&problem, "data.served_on");
        assert!(reason.contains("before") && reason.contains("decision_sent_date"), "{reason}");
        // By e-mail: not a channel of service.
        let problem = run
            .refused(
                &app.officer(),
                "record_service",
                service("2026-08-03", "email"),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(error_fields(&problem), ["data.service_channel"]);
        // Both are required.
        let problem =
            run.refused(&app.officer(), "record_service", json!({}), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.served_on", "data.service_channel"]);
        // The procuracy supervises, it does not serve.
        run.refused(&app.procuracy(), "record_service", service("2026-08-03", "post"), 403, "forbidden")
            .await;

        // Served by public posting on the day it was sent.
        let served = run
            .step(
                &app.officer(),
                "record_service",
                service("2026-07-31", "public_posting"),
                "voluntary_period",
            )
            .await;
        assert_eq!(served["data"]["service_channel"], "public_posting");
        // Served once: the step is not offered again.
        run.refused(
            &app.officer(),
            "record_service",
            service("2026-08-03", "post"),
            422,
            "transition_not_allowed",
        )
        .await;
        run.verify(&auditor(&app), 2).await;
    }
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
        // The verification clock stops; the six-month cycle starts, and restarts at each
        // re-verification.
        let cycle = vec!["reverification".to_owned()];
        assert_eq!(deadlines_moved(&app, &run.id, 4), (cycle.clone(), vec!["verification".to_owned()]));

        // Re-verified every six months: the state stays, the version moves on, the data follows.
        for (version, date) in [(5, "2027-02-18"), (6, "2027-08-17")] {
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
            assert_eq!(deadlines_moved(&app, &run.id, version), (cycle.clone(), cycle.clone()));
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
                "record_service",
                "start_verification",
                "classify_not_yet",
                "reverify",
                "reverify",
                "reclassify_enforceable"
            ]
        );
        run.verify(&app.procuracy(), 7).await;
    }
}

/// The obligor complies within the voluntary period: nothing to verify.
#[tokio::test]
async fn voluntary_compliance_ends_it() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = served(&app).await;
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
        run.verify(&app.procuracy(), 3).await;
    }
}

/// Classified as enforceable straight after verification; a case closed while not yet
/// enforceable (the obligee withdrew the request), its obligor in prison with two years or more
/// left; and a case closed before the decision could even be served.
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
        run.verify(&app.head(), 4).await;

        let mut run = verifying(&app).await;
        run.step(&app.head(), "classify_not_yet", not_yet(), "not_yet_enforceable").await;
        // "prisoner" alone no longer names a cycle: the yearly one is for a prison term with
        // two years or more left.
        let problem = run
            .refused(
                &app.officer(),
                "reverify",
                json!({"verification_date": "2027-02-18", "findings": "Đang chấp hành án phạt tù", "reverification_basis": "prisoner"}),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(error_fields(&problem), ["data.reverification_basis"]);
        assert!(
            error_reason(&problem, "data.reverification_basis").contains("prisoner_two_years_or_more"),
            "{problem}"
        );
        run.step(
            &app.officer(),
            "reverify",
            json!({"verification_date": "2027-02-18", "findings": "Đang chấp hành án phạt tù, còn 05 năm",
                   "reverification_basis": "prisoner_two_years_or_more"}),
            "not_yet_enforceable",
        )
        .await;
        assert_eq!(run.last["data"]["reverification_basis"], "prisoner_two_years_or_more");
        // The six-month cycle stops, the yearly one starts.
        assert_eq!(
            deadlines_moved(&app, &run.id, 5),
            (vec!["reverification_yearly".to_owned()], vec!["reverification".to_owned()])
        );
        // Only the head closes a case.
        let closing = json!({"closed_on": "2027-03-01", "reason": "Người được thi hành án rút đơn yêu cầu"});
        run.refused(&app.officer(), "close", closing.clone(), 403, "forbidden").await;
        let closed = run.step(&app.head(), "close", closing, "closed").await;
        assert_eq!(closed["terminal"], true);
        assert_eq!(deadlines_moved(&app, &run.id, 6), (vec![], vec!["reverification_yearly".to_owned()]));
        run.verify(&app.head(), 6).await;

        // Closed while the decision was still to be served.
        let mut run = Run::start(&app, &app.officer(), request(), "awaiting_service").await;
        let closing = json!({"closed_on": "2026-08-02", "reason": "Người được thi hành án rút đơn yêu cầu"});
        run.refused(&app.officer(), "close", closing.clone(), 403, "forbidden").await;
        let closed = run.step(&app.head(), "close", closing, "closed").await;
        assert_eq!(closed["terminal"], true);
        assert!(closed["data"].get("served_on").is_none(), "{closed}");
        run.refused(
            &app.officer(),
            "record_service",
            service("2026-08-03", "post"),
            422,
            "transition_not_allowed",
        )
        .await;
        run.verify(&app.head(), 2).await;
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
        run.verify(&auditor(&app), 4).await;
    }
}

/// The periodic cycle ends (Điều 44 khoản 4): after two verifications still without means, the
/// officer tells the obligee the results, the periodic clock stops, and the case is verified
/// again only on new information. Not before a re-verification: one verification is not two.
#[tokio::test]
async fn the_reverification_cycle_ends_after_two_verifications() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = verifying(&app).await;
        run.step(&app.head(), "classify_not_yet", not_yet(), "not_yet_enforceable").await;
        let notice = json!({"obligee_notified_on": "2027-02-20", "results_notice_number": "12/TB-THADS"});
        run.refused(
            &app.officer(),
            "notify_obligee_of_results",
            notice.clone(),
            422,
            "transition_not_allowed",
        )
        .await;
        let reverified = run
            .step(
                &app.officer(),
                "reverify",
                json!({"verification_date": "2027-02-18", "findings": "Vẫn chưa có tài sản"}),
                "not_yet_enforceable",
            )
            .await;
        assert_eq!(reverified["data"]["reverified"], true, "recorded by the step: {reverified}");
        // A client cannot record it for the step.
        let forged = json!({"verification_date": "2027-02-18", "findings": "x", "reverified": false});
        run.refused(&app.officer(), "reverify", forged, 422, "validation_failed").await;
        run.step(&app.officer(), "notify_obligee_of_results", notice, "awaiting_new_information").await;
        let cycle = deadline(&app, &run.id, &app.officer(), "reverification").await;
        assert_eq!(cycle["status"], "met", "{backend:?} the periodic clock stops: {cycle}");
        let open: Vec<String> = run.available(&app.officer()).await;
        assert!(!open.contains(&"reverify".to_owned()), "{backend:?} {open:?}");
        let shown = run.get(&app.officer()).await;
        assert!(
            !shown["deadlines"].as_array().unwrap().iter().any(|d| d["status"] == "open"),
            "no clock runs while waiting for new information: {shown}"
        );
        run.step(
            &app.officer(),
            "verify_on_new_information",
            json!({"new_information": "Đơn của người được thi hành án: người phải thi hành án có xe ô tô",
                   "verification_date": "2027-06-03", "findings": "Xe ô tô đã bán trước khi có bản án"}),
            "awaiting_new_information",
        )
        .await;
        run.step(
            &app.head(),
            "reclassify_enforceable",
            json!({"verification_date": "2027-09-10", "findings": "Được thừa kế quyền sử dụng đất"}),
            "enforceable",
        )
        .await;
        run.verify(&app.procuracy(), 8).await;
    }
}
