//! exemption_reduction: the Hà Nội enforcement office proposes to exempt or reduce a debt to
//! the State budget; the procuracy gives its opinion; the court accepts the dossier, assigns
//! a judge and decides; the same-level procuracy may protest within 7 days, the directly
//! superior procuracy (bound when the dossier is made, the parent of the same-level one)
//! within 15; the decision takes effect only once both windows have passed.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{
    add_regional_level, auditor, deadlines_moved, error_fields, error_reason, head_of, inspector_of,
    notified, police, Run, REGIONAL_1, REGIONAL_COURT, REGIONAL_PROCURACY,
};
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

/// The people of one level: the office's head, the same-level inspector and the court liaison.
struct Level {
    head: String,
    procuracy: String,
    court: String,
}

fn city(app: &TestApp) -> Level {
    Level { head: app.head(), procuracy: app.procuracy(), court: app.court() }
}

/// The regional level, whose dossier names VKS-HN as the directly superior procuracy.
fn regional(app: &TestApp) -> Level {
    Level {
        head: head_of(app, REGIONAL_1),
        procuracy: inspector_of(app, REGIONAL_PROCURACY),
        court: app.token("court-kv1", REGIONAL_COURT, &[Role::CourtLiaison]),
    }
}

fn regional_request(superior: &str) -> Value {
    let mut request = request();
    request["parties"] = json!({
        "enforcement": REGIONAL_1,
        "procuracy": REGIONAL_PROCURACY,
        "superior_procuracy": superior,
        "court": REGIONAL_COURT
    });
    request
}

/// The dossier walked to the court's acceptance of it.
async fn filed<'a>(app: &'a TestApp, level: &Level, request: Value) -> Run<'a> {
    let mut run = Run::start(app, &level.head, request, "dossier").await;
    assert_eq!(run.last["data"]["amount_due"], "120000000");
    run.step(&level.head, "send_to_procuracy", json!({"sent_on": "2026-10-26"}), "awaiting_opinion").await;
    run.step(
        &level.procuracy,
        "give_opinion",
        json!({"opinion": "agree", "remarks": "Đủ điều kiện xét giảm"}),
        "opinion_given",
    )
    .await;
    run.step(&level.head, "file_with_court", json!({"filed_on": "2026-10-30"}), "filed").await;
    run
}

/// Accepted and a judge assigned.
async fn judge_assigned<'a>(app: &'a TestApp, level: &Level, request: Value) -> Run<'a> {
    let mut run = filed(app, level, request).await;
    run.step(
        &level.court,
        "accept",
        json!({"accepted_on": "2026-11-02", "court_case_number": "15/2026/TLST-MG"}),
        "accepted",
    )
    .await;
    run.step(
        &level.court,
        "assign_judge",
        json!({"judge": "Thẩm phán Nguyễn Văn Bình", "assigned_on": "2026-11-04"}),
        "judge_assigned",
    )
    .await;
    run
}

fn reduction() -> Value {
    json!({"decision": "reduced", "amount_exempted": "50000000", "decision_number": "21/2026/QĐ-MG",
           "decision_date": "2026-11-10"})
}

/// Decided on 10 November 2026.
async fn decided<'a>(app: &'a TestApp, level: &Level, request: Value) -> Run<'a> {
    let mut run = judge_assigned(app, level, request).await;
    let decided = run.step(&level.court, "decide", reduction(), "decided").await;
    assert_eq!(decided["data"]["amount_exempted"], "50000000");
    run
}

/// The same-level procuracy's protest, the decision received the day it was made.
fn protest(date: &str) -> Value {
    json!({
        "protest_number": "02/QĐKNPT-VKS",
        "protest_date": date,
        "protest_grounds": "Người phải thi hành án có tài sản chưa được xác minh",
        "procuracy_received_on": "2026-11-10"
    })
}

/// The superior procuracy's protest, the decision received the day it was made.
fn superior_protest(date: &str) -> Value {
    let mut p = protest(date);
    p.as_object_mut().unwrap().remove("procuracy_received_on");
    p["superior_received_on"] = json!("2026-11-10");
    p
}

/// The decision in effect on `date`, each procuracy having received it on the day it was made.
fn effect(date: &str) -> Value {
    json!({"effective_on": date, "procuracy_received_on": "2026-11-10", "superior_received_on": "2026-11-10"})
}

/// Decided, and recorded as in effect once both protest windows (7 and 15 days) have passed;
/// the windows bind nobody, so they are no deadlines.
#[tokio::test]
async fn a_reduction_is_decided_and_takes_effect() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = decided(&app, &city(&app), request()).await;
        // Deciding meets the court's deadline and opens none: the protest windows are checked
        // as dates, not watched as deadlines.
        assert_eq!(deadlines_moved(&app, &run.id, 7), (vec![], vec!["decision".to_owned()]));
        let definition: Value =
            app.get("/api/v1/workflows/exemption_reduction", &app.head()).await.json().await.unwrap();
        let deadlines: Vec<&str> = definition["versions"][0]["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert_eq!(deadlines, ["procuracy_opinion", "assign_judge", "decision"]);

        // The same-level window is over after 7 days, but the superior's runs 15: the decision
        // is not in effect on the 8th, nor on the 15th day.
        for (date, days) in [("2026-11-18", 8), ("2026-11-25", 15)] {
            let problem =
                run.refused(&app.head(), "record_effect", effect(date), 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), ["data.effective_on"]);
            let reason = error_reason(&problem, "data.effective_on");
            assert!(
                reason.contains(&format!("only {days} days")) && reason.contains("at least 16"),
                "{reason}"
            );
            assert!(reason.contains("Điều 64"), "{reason}");
        }
        // Nor before the decision.
        run.refused(&app.head(), "record_effect", effect("2026-11-09"), 422, "validation_failed").await;
        let effective = run.step(&app.head(), "record_effect", effect("2026-11-26"), "effective").await;
        assert_eq!(effective["terminal"], true);
        assert_eq!(effective["data"]["effective_on"], "2026-11-26");

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

/// An exemption or a reduction states its amount; a refusal has none.
#[tokio::test]
async fn the_amount_is_required_when_exempted_or_reduced() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = judge_assigned(&app, &city(&app), request()).await;
        for decision in ["exempted", "reduced"] {
            let mut data = reduction();
            data["decision"] = json!(decision);
            data.as_object_mut().unwrap().remove("amount_exempted");
            let problem = run.refused(&app.court(), "decide", data, 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), ["data.amount_exempted"], "{decision}");
        }
        let mut refused = reduction();
        refused["decision"] = json!("refused");
        refused.as_object_mut().unwrap().remove("amount_exempted");
        let decided = run.step(&app.court(), "decide", refused, "decided").await;
        assert_eq!(decided["data"]["decision"], "refused");
        assert!(decided["data"].get("amount_exempted").is_none(), "{decided}");
        run.verify(&auditor(&app), 7).await;
    }
}

/// The same-level procuracy has 7 days from the decision: on the 10th day it is refused, on
/// the 6th it is lodged.
#[tokio::test]
async fn a_protest_must_be_lodged_within_the_window() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = decided(&app, &city(&app), request()).await;
        let problem =
            run.refused(&app.procuracy(), "protest", protest("2026-11-20"), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.protest_date"]);
        let reason = error_reason(&problem, "data.protest_date");
        assert!(reason.contains("10 days") && reason.contains("7 days"), "{reason}");
        assert!(reason.contains("Điều 64"), "{reason}");
        // Nor before the decision it protests.
        run.refused(&app.procuracy(), "protest", protest("2026-11-09"), 422, "validation_failed").await;
        // The level is no longer stated in the protest: the step says who protests.
        let mut with_level = protest("2026-11-16");
        with_level["protest_level"] = json!("superior_level");
        let problem = run.refused(&app.procuracy(), "protest", with_level, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.protest_level"]);
        // Only the procuracy protests.
        run.refused(&app.court(), "protest", protest("2026-11-16"), 403, "forbidden").await;
        // With no superior procuracy bound, there is nobody to lodge a superior protest.
        assert_eq!(run.available(&app.procuracy()).await, ["protest"]);
        let problem = run
            .refused(
                &app.procuracy(),
                "protest_superior",
                protest("2026-11-16"),
                422,
                "transition_not_allowed",
            )
            .await;
        assert!(problem["detail"].as_str().unwrap().contains("superior_procuracy"), "{problem}");

        let protested = run.step(&app.procuracy(), "protest", protest("2026-11-16"), "protested").await;
        assert_eq!(protested["terminal"], true);
        assert_eq!(protested["data"]["protest_date"], "2026-11-16");
        assert_eq!(notified(&app, &run.id, 8), ["TAND-HN", "THADS-HN"]);
        // The decision no longer takes effect.
        run.refused(&app.head(), "record_effect", effect("2026-11-26"), 422, "transition_not_allowed").await;
        run.verify(&app.court(), 8).await;
    }
}

/// The directly superior procuracy protests in its own step, within 15 days: the date too late
/// for the same level is in time for it.
#[tokio::test]
async fn a_superior_level_protest_has_fifteen_days() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        let level = regional(&app);
        // The superior procuracy must be the parent of the same-level one on record.
        for not_parent in ["VKS-LC", REGIONAL_PROCURACY] {
            let r = app.post("/api/v1/instances", &level.head, &regional_request(not_parent)).await;
            let problem = expect_problem(r, 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), ["parties.superior_procuracy"], "{not_parent}");
            let reason = error_reason(&problem, "parties.superior_procuracy");
            assert!(reason.contains("not the superior office of VKS-HN-KV1"), "{reason}");
        }

        let mut run = decided(&app, &level, regional_request("VKS-HN")).await;
        assert_eq!(run.last["parties"]["superior_procuracy"], "VKS-HN");
        let superior = app.procuracy();
        // Each procuracy has its own step.
        assert_eq!(run.available(&superior).await, ["protest_superior"]);
        assert_eq!(run.available(&level.procuracy).await, ["protest"]);
        run.refused(&superior, "protest", protest("2026-11-16"), 403, "forbidden").await;
        run.refused(&level.procuracy, "protest_superior", protest("2026-11-16"), 403, "forbidden").await;
        // Too late for the same level (10 days)...
        run.refused(&level.procuracy, "protest", protest("2026-11-20"), 422, "validation_failed").await;
        // ... and for the superior after 16.
        let problem = run
            .refused(&superior, "protest_superior", superior_protest("2026-11-26"), 422, "validation_failed")
            .await;
        let reason = error_reason(&problem, "data.protest_date");
        assert!(reason.contains("16 days") && reason.contains("15 days"), "{reason}");

        let protested =
            run.step(&superior, "protest_superior", superior_protest("2026-11-20"), "protested").await;
        assert_eq!(protested["terminal"], true);
        assert_eq!(notified(&app, &run.id, 8), [REGIONAL_COURT, REGIONAL_1, REGIONAL_PROCURACY]);
        let history = run.history(&level.court).await;
        assert_eq!(history[7], ("protest_superior".into(), "VKS-HN".into(), "procuracy_inspector".into()));
        run.verify(&superior, 8).await;
    }
}

/// The court returns an incomplete dossier; the office completes it and files it again.
#[tokio::test]
async fn a_returned_dossier_goes_round_again() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = filed(&app, &city(&app), request()).await;
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

/// The money the Hà Nội office's enforcement report counts for reporting year 2027: the
/// total to enforce and the rate collected of the enforceable.
async fn money(app: &TestApp) -> (String, String) {
    let r = app.get("/api/v1/reports/enforcement?agency=THADS-HN&year=2027", &app.head()).await;
    let body: Value = r.json().await.unwrap();
    let m = &body["money"];
    (m["total"].as_str().unwrap().to_owned(), m["rate"].as_str().unwrap_or("none").to_owned())
}

/// A reduction in effect takes its amount off what the case is owed: the case's history
/// says so and verifies, and the report's money, and so its rate, move with it.
#[tokio::test]
async fn a_reduction_in_effect_lowers_the_amount_due() {
    for backend in backends() {
        let app = spawn(backend).await;
        let case = crate::cases::case("THADS-HN", "THA-88/2026", "2026-10-05", "120000000");
        let case: Value = app.post("/api/v1/cases", &app.officer(), &case).await.json().await.unwrap();
        let case_id = case["id"].as_str().unwrap().to_owned();
        let pay = json!({"amount": "20000000", "paid_on": "2026-10-20", "method": "cash"});
        app.post(&format!("/api/v1/cases/{case_id}/payments"), &app.officer(), &pay).await;
        assert_eq!(money(&app).await, ("120000000".to_owned(), "16.67".to_owned()), "{backend:?}");

        let mut request = request();
        request["case_id"] = json!(case_id);
        let mut run = decided(&app, &city(&app), request).await;
        run.step(&app.head(), "record_effect", effect("2026-11-26"), "effective").await;

        let case: Value =
            app.get(&format!("/api/v1/cases/{case_id}"), &app.head()).await.json().await.unwrap();
        assert_eq!(case["amount_due"], "70000000", "{backend:?} {case}");
        assert_eq!(case["outstanding"], "50000000");
        assert_eq!(money(&app).await, ("70000000".to_owned(), "28.57".to_owned()), "{backend:?}");
        let history: Value =
            app.get(&format!("/api/v1/cases/{case_id}/history"), &app.head()).await.json().await.unwrap();
        let last = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["kind"], "amount_due", "{history}");
        assert_eq!(last["data"]["reduced_by"], "50000000");
        assert_eq!(last["data"]["source"]["instance_id"], run.id.as_str());
        let verify = || async {
            let path = format!("/api/v1/cases/{case_id}/history/verify");
            app.get(&path, &app.head()).await.json::<Value>().await.unwrap()
        };
        assert_eq!(verify().await["valid"], true);
        // Changed behind the service's back, the amount due no longer matches its history.
        app.sql(&format!("UPDATE cases SET amount_due = '80000000' WHERE id = '{case_id}'"));
        let broken = verify().await;
        assert_eq!(
            (broken["valid"].as_bool(), broken["first_broken_seq"].as_i64()),
            (Some(false), Some(3)),
            "{broken}"
        );
    }
}

/// The protest windows run from each procuracy's receipt of the decision (Art. 64), not from
/// its date: decided on 10 November and received on 13, a protest on the 20th is in time.
#[tokio::test]
async fn the_protest_window_runs_from_the_procuracys_receipt() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = decided(&app, &city(&app), request()).await;
        let mut late = protest("2026-11-21");
        late["procuracy_received_on"] = json!("2026-11-13");
        let problem = run.refused(&app.procuracy(), "protest", late, 422, "validation_failed").await;
        let reason = error_reason(&problem, "data.protest_date");
        assert!(reason.contains("8 days after procuracy_received_on (2026-11-13)"), "{backend:?} {reason}");
        let mut in_time = protest("2026-11-20");
        in_time["procuracy_received_on"] = json!("2026-11-13");
        let protested = run.step(&app.procuracy(), "protest", in_time, "protested").await;
        assert_eq!(protested["data"]["procuracy_received_on"], "2026-11-13");
    }
}
