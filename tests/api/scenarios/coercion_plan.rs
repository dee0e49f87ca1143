//! coercion_plan: the Hà Nội enforcement office drafts and approves a coercion plan, sends it
//! to the procuracy, the police and the commune; the police confirm their protection plan;
//! the operation is scheduled (by the coordinator for a complex case: the steering committee
//! under Law 26/2008, the People's Committee under Law 106/2025), then executed, postponed and
//! rescheduled, or cancelled. No coercion at night or on a rest day.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{
    add_coercion_agencies, auditor, committee_chair, commune_member, error_fields, error_reason, notified,
    police, steering_member, Run, CITY_COMMITTEE, COMMUNE, STEERING,
};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

/// A plan to seize a house in Đông Anh; `coordinator` is bound when given.
fn plan(reference_date: &str, complex: bool, coordinator: Option<&str>) -> Value {
    let mut request = json!({
        "workflow": "coercion_plan",
        "reference_date": reference_date,
        "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": COMMUNE},
        "data": {
            "case_reference": "1520/QĐ-CTHADS",
            "measure": "seize_property",
            "location": "Thôn Đông, xã Đông Anh, thành phố Hà Nội",
            "estimated_cost": "45000000",
            "complex": complex
        }
    });
    if let Some(coordinator) = coordinator {
        request["parties"]["coordinator"] = json!(coordinator);
    }
    request
}

/// The head's approval on `day`, with the signed decision uploaded just before as the agency
/// of `token`, which fires it.
async fn approval(app: &TestApp, token: &str, day: impl Into<Value>) -> Value {
    let day: Value = day.into();
    app.with_pdf(token, "decision_file", json!({"approved_on": day})).await
}

fn at(datetime: &str) -> Value {
    json!({"scheduled_at": datetime})
}

fn execution(datetime: &str) -> Value {
    json!({
        "executed_at": datetime,
        "amount_collected": "1302149296000",
        "actual_cost": "38500000.50",
        "result": "Đã kê biên nhà, đất; người phải thi hành án nộp đủ tiền"
    })
}

/// Drafted, approved, sent and protection confirmed; checks who is told of the sending.
async fn protection_confirmed(app: &TestApp, request: Value) -> Run<'_> {
    // Approved and sent on the plan's reference date.
    let day = request["reference_date"].clone();
    let mut run = Run::start(app, &app.officer(), request, "drafted").await;
    assert_eq!(run.last["data"]["estimated_cost"], "45000000");
    run.step(&app.head(), "approve", approval(app, &app.head(), day.clone()).await, "approved").await;
    run.step(&app.officer(), "send", json!({"sent_on": day, "dispatch_number": "77/THADS-CC"}), "sent").await;
    let mut told = vec!["CA-HN", COMMUNE, "VKS-HN"];
    if let Some(coordinator) = run.last["parties"]["coordinator"].as_str() {
        told.push(coordinator);
    }
    told.sort();
    assert_eq!(notified(app, &run.id, 3), told, "the sending notifies the parties");
    // Each of them sees the plan.
    for token in [police(app), app.procuracy(), commune_member(app)] {
        assert_eq!(run.get(&token).await["state"], "sent");
    }
    run.step(
        &police(app),
        "confirm_protection",
        json!({"protection_plan_number": "15/KH-CAHN", "officers": 24}),
        "protection_confirmed",
    )
    .await;
    assert_eq!(run.last["data"]["officers"], 24);
    run
}

/// An ordinary plan under Law 106/2025, from draft to execution with the amount collected.
#[tokio::test]
async fn a_plan_is_approved_sent_protected_scheduled_and_executed() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut run = protection_confirmed(&app, plan("2026-11-10", false, None)).await;
        assert_eq!(run.last["workflow_version"], 2);
        let scheduled = run.step(&app.head(), "schedule", at("2026-11-24T08:00:00+07:00"), "scheduled").await;
        assert_eq!(scheduled["data"]["scheduled_at"], "2026-11-24T08:00:00+07:00");
        assert_eq!(notified(&app, &run.id, 5), ["CA-HN", COMMUNE, "VKS-HN"]);

        let executed =
            run.step(&app.officer(), "execute", execution("2026-11-24T10:30:00+07:00"), "executed").await;
        assert_eq!(executed["terminal"], true);
        assert_eq!(executed["data"]["amount_collected"], "1302149296000");
        assert_eq!(executed["data"]["actual_cost"], "38500000.5");
        assert_eq!(executed["data"]["estimated_cost"], "45000000");

        let history = run.history(&commune_member(&app)).await;
        let actors: Vec<(&str, &str, &str)> =
            history.iter().map(|(t, a, r)| (t.as_str(), a.as_str(), r.as_str())).collect();
        assert_eq!(
            actors,
            [
                ("create", "THADS-HN", "enforcement_officer"),
                ("approve", "THADS-HN", "enforcement_head"),
                ("send", "THADS-HN", "enforcement_officer"),
                ("confirm_protection", "CA-HN", "police_liaison"),
                ("schedule", "THADS-HN", "enforcement_head"),
                ("execute", "THADS-HN", "enforcement_officer"),
            ]
        );
        run.verify(&app.procuracy(), 6).await;
    }
}

/// Postponed with a reason and a new date, rescheduled, then cancelled.
#[tokio::test]
async fn a_plan_is_postponed_rescheduled_then_cancelled() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut run = protection_confirmed(&app, plan("2026-11-10", false, None)).await;
        run.step(&app.head(), "schedule", at("2026-11-24T08:00:00+07:00"), "scheduled").await;
        // A postponement needs its reason and its new date.
        let problem = run.refused(&app.head(), "postpone", json!({}), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.postpone_reason", "data.new_date"]);
        // The new date keeps to the rule on days: Sunday 29 November is refused.
        let sunday = json!({"postpone_reason": "Người phải thi hành án đang điều trị tại bệnh viện", "new_date": "2026-11-29"});
        let problem = run.refused(&app.head(), "postpone", sunday, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.new_date"]);
        let reason = error_reason(&problem, "data.new_date");
        assert!(reason.contains("rest day") && reason.contains("Sunday"), "{reason}");
        assert!(reason.contains("Điều 46"), "{reason}");
        let postponed = run
            .step(
                &app.head(),
                "postpone",
                json!({"postpone_reason": "Người phải thi hành án đang điều trị tại bệnh viện", "new_date": "2026-12-01"}),
                "postponed",
            )
            .await;
        assert_eq!(postponed["data"]["new_date"], "2026-12-01");
        assert_eq!(notified(&app, &run.id, 6), ["CA-HN", COMMUNE, "VKS-HN"]);
        // The new time follows the rule too: Tuesday 1 December at 23:00 is refused.
        let problem = run
            .refused(&app.head(), "reschedule", at("2026-12-01T23:00:00+07:00"), 422, "validation_failed")
            .await;
        assert!(error_reason(&problem, "data.scheduled_at").contains("22:00"), "{problem}");
        let rescheduled =
            run.step(&app.head(), "reschedule", at("2026-12-01T08:00:00+07:00"), "scheduled").await;
        assert_eq!(rescheduled["data"]["scheduled_at"], "2026-12-01T08:00:00+07:00");

        let cancelled = run
            .step(
                &app.head(),
                "cancel",
                json!({"cancel_reason": "Người phải thi hành án đã tự nguyện nộp đủ tiền"}),
                "cancelled",
            )
            .await;
        assert_eq!(cancelled["terminal"], true);
        run.refused(
            &app.officer(),
            "execute",
            execution("2026-12-01T09:00:00+07:00"),
            422,
            "transition_not_allowed",
        )
        .await;
        run.verify(&police(&app), 8).await;
    }
}

/// No coercion between 22:00 and 06:00, nor on a rest day: the schedule and the execution
/// times are both checked, in Hà Nội time.
#[tokio::test]
async fn night_and_rest_day_times_are_refused() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut run = protection_confirmed(&app, plan("2026-11-10", false, None)).await;

        let night = run
            .refused(&app.head(), "schedule", at("2026-11-24T23:00:00+07:00"), 422, "validation_failed")
            .await;
        assert_eq!(error_fields(&night), ["data.scheduled_at"]);
        assert!(error_reason(&night, "data.scheduled_at").contains("22:00"), "{night}");
        // 21:30 UTC is 04:30 the next morning in Hà Nội.
        let dawn =
            run.refused(&app.head(), "schedule", at("2026-11-24T21:30:00Z"), 422, "validation_failed").await;
        assert!(error_reason(&dawn, "data.scheduled_at").contains("06:00"), "{dawn}");
        // Sunday 29 November 2026, in working hours.
        let sunday = run
            .refused(&app.head(), "schedule", at("2026-11-29T09:00:00+07:00"), 422, "validation_failed")
            .await;
        let reason = error_reason(&sunday, "data.scheduled_at");
        assert!(reason.contains("rest day") && reason.contains("Sunday"), "{reason}");
        // Saturday too.
        run.refused(&app.head(), "schedule", at("2026-11-28T09:00:00+07:00"), 422, "validation_failed").await;

        // 02:00 UTC on a Thursday is 09:00 in Hà Nội: allowed, and kept at +07:00.
        let ok = run.step(&app.head(), "schedule", at("2026-11-26T02:00:00Z"), "scheduled").await;
        assert_eq!(ok["data"]["scheduled_at"], "2026-11-26T09:00:00+07:00");
        // The execution time is held to the same rule.
        let late = run
            .refused(
                &app.officer(),
                "execute",
                execution("2026-11-26T22:15:00+07:00"),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(error_fields(&late), ["data.executed_at"]);
        run.step(&app.officer(), "execute", execution("2026-11-26T16:00:00+07:00"), "executed").await;
        run.verify(&app.head(), 6).await;
    }
}

/// Under Law 26/2008 a complex plan is scheduled by the steering committee, not the head.
#[tokio::test]
async fn a_complex_2008_plan_is_scheduled_by_the_steering_committee() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        // Under v1 the coordinator is a steering committee: a People's Committee does not fit.
        let wrong = plan("2026-05-04", true, Some(CITY_COMMITTEE));
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.officer(), &wrong).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["parties.coordinator"]);

        let mut run = protection_confirmed(&app, plan("2026-05-04", true, Some(STEERING))).await;
        assert_eq!(run.last["workflow_version"], 1);
        assert_eq!(run.last["parties"]["coordinator"], STEERING);

        // Tuesday 9 June 2026 at 08:00.
        let problem = run
            .refused(&app.head(), "schedule", at("2026-06-09T08:00:00+07:00"), 422, "transition_not_allowed")
            .await;
        assert!(problem["detail"].as_str().unwrap().contains("complex"), "{problem}");
        run.refused(&app.head(), "schedule_complex", at("2026-06-09T08:00:00+07:00"), 403, "forbidden").await;
        assert!(!run.available(&app.head()).await.contains(&"schedule".to_owned()));
        assert_eq!(run.available(&steering_member(&app)).await, ["schedule_complex"]);
        // The coordinator keeps to the time rule as well.
        run.refused(
            &steering_member(&app),
            "schedule_complex",
            at("2026-06-09T05:00:00+07:00"),
            422,
            "validation_failed",
        )
        .await;

        run.step(&steering_member(&app), "schedule_complex", at("2026-06-09T08:00:00+07:00"), "scheduled")
            .await;
        assert_eq!(notified(&app, &run.id, 5), ["CA-HN", "THADS-HN", COMMUNE, "VKS-HN"]);
        // Postponed by the head, rescheduled by the committee again.
        run.step(
            &app.head(),
            "postpone",
            json!({"postpone_reason": "Mưa bão", "new_date": "2026-06-16"}),
            "postponed",
        )
        .await;
        run.refused(
            &app.head(),
            "reschedule",
            at("2026-06-16T08:00:00+07:00"),
            422,
            "transition_not_allowed",
        )
        .await;
        let chair = app.token("bcd-chair", STEERING, &[Role::SteeringChair]);
        run.step(&chair, "reschedule_complex", at("2026-06-16T08:00:00+07:00"), "scheduled").await;
        run.step(&app.head(), "execute", execution("2026-06-16T09:00:00+07:00"), "executed").await;

        let history = run.history(&steering_member(&app)).await;
        assert_eq!(history[4], ("schedule_complex".into(), STEERING.into(), "steering_member".into()));
        assert_eq!(history[6], ("reschedule_complex".into(), STEERING.into(), "steering_chair".into()));
        run.verify(&steering_member(&app), 8).await;
    }
}

/// Under Law 106/2025 the People's Committee of the province schedules a complex plan.
#[tokio::test]
async fn a_complex_2026_plan_is_scheduled_by_the_peoples_committee() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        // Under v2 the steering committee no longer fits the coordinator slot.
        let wrong = plan("2026-08-03", true, Some(STEERING));
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.officer(), &wrong).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["parties.coordinator"]);

        let mut run = protection_confirmed(&app, plan("2026-08-03", true, Some(CITY_COMMITTEE))).await;
        assert_eq!(run.last["workflow_version"], 2);
        run.refused(&app.head(), "schedule", at("2026-11-24T08:00:00+07:00"), 422, "transition_not_allowed")
            .await;
        // The committee's people need a steering role; and the commune is not the coordinator.
        let clerk = app.token("ubnd-clerk", CITY_COMMITTEE, &[Role::Auditor]);
        run.refused(&clerk, "schedule_complex", at("2026-11-24T08:00:00+07:00"), 403, "forbidden").await;
        run.refused(
            &commune_member(&app),
            "schedule_complex",
            at("2026-11-24T08:00:00+07:00"),
            403,
            "forbidden",
        )
        .await;

        run.step(&committee_chair(&app), "schedule_complex", at("2026-11-24T08:00:00+07:00"), "scheduled")
            .await;
        let executed =
            run.step(&app.officer(), "execute", execution("2026-11-24T11:00:00+07:00"), "executed").await;
        assert_eq!(executed["data"]["amount_collected"], "1302149296000");
        run.verify(&committee_chair(&app), 6).await;
    }
}

/// The coordinator of a plain plan has nothing to schedule; the police may ask for a revision.
#[tokio::test]
async fn the_police_ask_for_a_revision_and_plain_plans_stay_with_the_head() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut run =
            Run::start(&app, &app.officer(), plan("2026-11-10", false, Some(CITY_COMMITTEE)), "drafted")
                .await;
        run.step(&app.head(), "approve", approval(&app, &app.head(), "2026-11-16").await, "approved").await;
        run.step(
            &app.head(),
            "send",
            json!({"sent_on": "2026-11-17", "dispatch_number": "78/THADS-CC"}),
            "sent",
        )
        .await;
        run.step(
            &police(&app),
            "decline_protection",
            json!({"decline_reason": "Cần bổ sung phương án phòng cháy"}),
            "approved",
        )
        .await;
        run.step(
            &app.head(),
            "send",
            json!({"sent_on": "2026-11-19", "dispatch_number": "80/THADS-CC"}),
            "sent",
        )
        .await;
        run.step(
            &police(&app),
            "confirm_protection",
            json!({"protection_plan_number": "16/KH-CAHN", "officers": 30}),
            "protection_confirmed",
        )
        .await;
        run.refused(
            &committee_chair(&app),
            "schedule_complex",
            at("2026-11-24T08:00:00+07:00"),
            422,
            "transition_not_allowed",
        )
        .await;
        run.step(&app.head(), "schedule", at("2026-11-24T08:00:00+07:00"), "scheduled").await;
        run.step(&app.head(), "execute", execution("2026-11-24T09:30:00+07:00"), "executed").await;
        run.verify(&auditor(&app), 8).await;
    }
}

#[tokio::test]
async fn refusals_of_role_party_state_and_money() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        // The estimated cost is a decimal string, not a number.
        let mut request = plan("2026-11-10", false, None);
        request["data"]["estimated_cost"] = json!(45000000);
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.officer(), &request).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.estimated_cost"]);
        // Only an officer drafts a plan.
        let request = plan("2026-11-10", false, None);
        expect_problem(app.post("/api/v1/instances", &police(&app), &request).await, 403, "forbidden").await;

        let mut run = Run::start(&app, &app.officer(), request, "drafted").await;
        // Only the head approves.
        let by_officer = approval(&app, &app.officer(), "2026-11-16").await;
        run.refused(&app.officer(), "approve", by_officer, 403, "forbidden").await;
        // The police cannot confirm protection of a plan not yet sent to them.
        run.refused(
            &police(&app),
            "confirm_protection",
            json!({"protection_plan_number": "1", "officers": 5}),
            422,
            "transition_not_allowed",
        )
        .await;
        // The Lào Cai office has no business with it.
        let other = app.token("head-lc", "THADS-LC", &[Role::EnforcementHead]);
        run.refused(&other, "approve", approval(&app, &other, "2026-11-16").await, 404, "not_found").await;
        // Cancelled before approval.
        run.step(&app.head(), "cancel", json!({"cancel_reason": "Đình chỉ thi hành án"}), "cancelled").await;
        run.verify(&app.head(), 2).await;
    }
}

/// A complex plan needs its coordinator: without one bound, nobody could ever schedule it
/// (the head's `schedule` is closed to complex plans and `schedule_complex` has no party).
#[tokio::test]
async fn a_complex_plan_without_a_coordinator_is_refused() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        for reference_date in ["2026-05-04", "2026-11-10"] {
            let r = app.post("/api/v1/instances", &app.officer(), &plan(reference_date, true, None)).await;
            let problem = expect_problem(r, 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), ["parties.coordinator"], "{reference_date}");
        }
    }
}

/// Public holidays are days without coercion too (Art. 46): 2 September is National Day. The
/// rule holds for the time scheduled and for the new date of a postponement.
#[tokio::test]
async fn a_holiday_is_refused_for_coercion() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut run = protection_confirmed(&app, plan("2026-08-03", false, None)).await;
        // Wednesday 2 September 2026, National Day.
        let problem = run
            .refused(&app.head(), "schedule", at("2026-09-02T09:00:00+07:00"), 422, "validation_failed")
            .await;
        assert_eq!(error_fields(&problem), ["data.scheduled_at"]);
        let reason = error_reason(&problem, "data.scheduled_at");
        assert!(reason.contains("holiday") && reason.contains("02/09/2026"), "{reason}");

        // Scheduled for Tuesday 25 August, then postponed: not to the holiday either.
        run.step(&app.head(), "schedule", at("2026-08-25T08:00:00+07:00"), "scheduled").await;
        let to_holiday = json!({"postpone_reason": "Mưa bão", "new_date": "2026-09-02"});
        let problem = run.refused(&app.head(), "postpone", to_holiday, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.new_date"]);
        let reason = error_reason(&problem, "data.new_date");
        assert!(reason.contains("holiday") && reason.contains("02/09/2026"), "{reason}");
        let postponed = run
            .step(
                &app.head(),
                "postpone",
                json!({"postpone_reason": "Mưa bão", "new_date": "2026-09-08"}),
                "postponed",
            )
            .await;
        assert_eq!(postponed["data"]["new_date"], "2026-09-08");
        run.verify(&app.head(), 6).await;
    }
}

/// Those who may protest the judgment (the court's president, the procuracy's head) may ask
/// that a scheduled operation be postponed, but only 24 hours or more before its time (Art. 48):
/// asked later, it is refused; asked in time, the operation is postponed and all are told.
#[tokio::test]
async fn a_postponement_asked_too_late_is_refused_and_one_in_time_postpones() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut request = plan("2026-11-10", false, None);
        request["parties"]["court"] = json!("TAND-HN");
        let mut run = protection_confirmed(&app, request).await;
        run.step(&app.head(), "schedule", at("2026-11-17T08:00:00+07:00"), "scheduled").await;
        let asked = json!({"postponement_request_number": "05/YC-VKS", "postpone_reason": "Xem xét kháng nghị giám đốc thẩm"});
        // The time set has passed: less than 24 hours before it, by far.
        let problem = run
            .refused(
                &app.procuracy(),
                "request_postponement_procuracy",
                asked.clone(),
                422,
                "transition_not_allowed",
            )
            .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("24 hours before scheduled_at") && detail.contains("Điều 48"),
            "{backend:?} {problem}"
        );
        // The office postpones it itself and sets a new time months ahead.
        let postponed = json!({"postpone_reason": "Đương sự xin thêm thời gian", "new_date": "2027-03-10"});
        run.step(&app.head(), "postpone", postponed, "postponed").await;
        run.step(&app.head(), "reschedule", at("2027-03-10T08:00:00+07:00"), "scheduled").await;
        // Only the parties who may protest ask, and only in the form the law gives them.
        run.refused(&police(&app), "request_postponement_procuracy", asked.clone(), 403, "forbidden").await;
        run.step(&app.court(), "request_postponement_court", asked, "postponed").await;
        let told = notified(&app, &run.id, run.version);
        assert_eq!(told, ["CA-HN", "THADS-HN", COMMUNE, "VKS-HN"], "{backend:?}");
        run.verify(&app.procuracy(), run.version).await;
    }
}

/// The approved plan is sent at once (Điều 72 khoản 3): the definition's reading, labelled as
/// such, is the end of the next working day; sending meets it.
#[tokio::test]
async fn sending_the_approved_plan_has_a_clock() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut run = Run::start(&app, &app.officer(), plan("2026-11-10", false, None), "drafted").await;
        run.step(&app.head(), "approve", approval(&app, &app.head(), "2026-11-10").await, "approved").await;
        let send = super::common::deadline(&app, &run.id, &app.officer(), "send_plan").await;
        assert_eq!(
            (send["duration"].as_i64(), send["unit"].as_str()),
            (Some(1), Some("working_days")),
            "{send}"
        );
        assert_eq!(send["operational"], true, "{backend:?} {send}");
        assert!(send["legal_basis"].as_str().unwrap().contains("Điều 72 khoản 3"), "{send}");
        let calendar = lienganh::engine::calendar::Calendar::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml"),
        )
        .unwrap();
        let due: chrono::NaiveDate = send["due_date"].as_str().unwrap().parse().unwrap();
        let today = lienganh::domain::today_local();
        assert!(due > today && calendar.is_working_day(due).value, "{send}");
        assert_eq!(calendar.add_working_days(today, 1).value, due, "the next working day: {send}");
        run.step(
            &app.officer(),
            "send",
            json!({"sent_on": "2026-11-10", "dispatch_number": "77/THADS-CC"}),
            "sent",
        )
        .await;
        let met = super::common::deadline(&app, &run.id, &app.officer(), "send_plan").await;
        assert_eq!(met["status"], "met", "{backend:?} {met}");
    }
}

/// The Tết window concerns a coercion that mobilises forces: one that mobilises none (a
/// deduction from an account) may be scheduled in it on a working day; by default, as with
/// police protection, forces are mobilised and the window holds.
#[tokio::test]
async fn the_tet_window_holds_for_a_coercion_that_mobilises_forces() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        // Tuesday 26 January 2027, eleven days before mùng 1 Tết (6 February 2027).
        let in_window = at("2027-01-26T09:00:00+07:00");
        let run = protection_confirmed(&app, plan("2026-11-10", false, None)).await;
        let problem = run.refused(&app.head(), "schedule", in_window.clone(), 422, "validation_failed").await;
        let reason = error_reason(&problem, "data.scheduled_at");
        assert!(reason.contains("Tết") && reason.contains("huy động lực lượng"), "{backend:?} {reason}");

        let mut quiet = plan("2026-11-10", false, None);
        quiet["data"]["measure"] = json!("deduct_account");
        quiet["data"]["without_forces"] = json!(true);
        let mut run = protection_confirmed(&app, quiet).await;
        let scheduled = run.step(&app.head(), "schedule", in_window, "scheduled").await;
        assert_eq!(scheduled["data"]["scheduled_at"], "2027-01-26T09:00:00+07:00");
        // The hours and rest days still hold.
        let problem = run
            .refused(
                &app.officer(),
                "execute",
                execution("2027-01-26T23:00:00+07:00"),
                422,
                "validation_failed",
            )
            .await;
        assert!(error_reason(&problem, "data.executed_at").contains("22:00"), "{backend:?} {problem}");
    }
}
