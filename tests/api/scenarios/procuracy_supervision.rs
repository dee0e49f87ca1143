//! procuracy_supervision: the Hà Nội procuracy issues a request, a recommendation or a
//! protest to the Hà Nội enforcement office, which answers with the measures it took; the
//! procuracy accepts, or rejects and escalates to the superior level, where a supervision of
//! its own starts.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{
    add_superior_levels, auditor, create, error_fields, error_reason, head_of, inspector_of, Run,
    SUPERIOR_ENFORCEMENT, SUPERIOR_PROCURACY,
};
use crate::helpers::{backends, expect_problem, spawn};

fn issue(instrument: &str, number: &str, extra: Value) -> Value {
    let mut data = json!({
        "instrument": instrument,
        "document_number": number,
        "issued_on": "2026-11-02",
        "content": "Chậm ra quyết định thi hành án đối với 12 bản án đã nhận"
    });
    data.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": data
    })
}

fn answer() -> Value {
    json!({
        "reply_number": "512/THADS-NV",
        "reply_date": "2026-11-16",
        "measures": "Đã ra 12 quyết định thi hành án; kiểm điểm trách nhiệm Chấp hành viên"
    })
}

fn protest_data(issued_on: &str, level: &str) -> Value {
    json!({
        "issued_on": issued_on,
        "reply_due": "2026-12-15",
        "contested_decision": "Quyết định hoãn thi hành án 35/QĐ-THADS",
        "contested_received_on": "2026-11-01",
        "level": level
    })
}

/// A request, answered after being acknowledged, then accepted; the reply date set by the
/// document is kept with it.
#[tokio::test]
async fn a_request_is_acknowledged_answered_and_accepted() {
    for backend in backends() {
        let app = spawn(backend).await;
        let request = issue("request", "88/YC-VKS", json!({"reply_due": "2026-11-20"}));
        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        assert_eq!(run.last["data"]["reply_due"], "2026-11-20");
        assert_eq!(run.last["data"]["instrument"], "request");

        run.step(&app.officer(), "acknowledge", json!({}), "acknowledged").await;
        let answered = run.step(&app.head(), "answer", answer(), "answered").await;
        assert_eq!(answered["data"]["reply_due"], "2026-11-20", "the document's reply date stays");
        let accepted = run
            .step(&app.procuracy(), "accept", json!({"assessment": "Đã khắc phục đầy đủ"}), "accepted")
            .await;
        assert_eq!(accepted["terminal"], true);

        let history = run.history(&app.head()).await;
        let roles: Vec<(&str, &str)> = history.iter().map(|(t, _, r)| (t.as_str(), r.as_str())).collect();
        assert_eq!(
            roles,
            [
                ("create", "procuracy_inspector"),
                ("acknowledge", "enforcement_officer"),
                ("answer", "enforcement_head"),
                ("accept", "procuracy_inspector")
            ]
        );
        run.verify(&app.procuracy(), 4).await;
    }
}

/// A recommendation answered straight away, rejected, answered anew, then accepted.
#[tokio::test]
async fn a_recommendation_is_rejected_then_answered_anew() {
    for backend in backends() {
        let app = spawn(backend).await;
        let request = issue("recommendation", "12/KN-VKS", json!({"reply_due": "2026-12-02"}));
        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        assert_eq!(run.last["data"]["reply_due"], "2026-12-02");
        run.step(&app.head(), "answer", answer(), "answered").await;
        run.step(
            &app.procuracy(),
            "reject",
            json!({"rejection_reason": "Chưa nêu thời hạn khắc phục"}),
            "rejected",
        )
        .await;
        let mut again = answer();
        again["reply_number"] = json!("530/THADS-NV");
        again["reply_date"] = json!("2026-11-25");
        let answered = run.step(&app.head(), "answer", again, "answered").await;
        assert_eq!(answered["data"]["reply_number"], "530/THADS-NV");
        run.step(&app.procuracy(), "accept", json!({}), "accepted").await;
        run.verify(&app.head(), 5).await;
    }
}

/// A protest, rejected answer, escalation: a supervision starts at the superior level, linked
/// both ways, and only the superior agencies are its parties.
#[tokio::test]
async fn a_rejected_protest_is_escalated_to_the_superior_level() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_superior_levels(&app).await;
        let mut request = issue("protest", "03/QĐ-VKS-KN", protest_data("2026-11-10", "same_level"));
        request["parties"]["superior_procuracy"] = json!(SUPERIOR_PROCURACY);
        request["parties"]["superior_enforcement"] = json!(SUPERIOR_ENFORCEMENT);
        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        assert_eq!(run.last["data"]["level"], "same_level");
        assert_eq!(run.last["data"]["contested_received_on"], "2026-11-01");

        run.step(&app.head(), "acknowledge", json!({}), "acknowledged").await;
        run.step(&app.head(), "answer", answer(), "answered").await;
        run.step(
            &app.procuracy(),
            "reject",
            json!({"rejection_reason": "Việc hoãn không có căn cứ"}),
            "rejected",
        )
        .await;
        let escalation = json!({
            "escalated_on": "2026-12-01",
            "escalation_reason": "Cơ quan THADS không thực hiện kháng nghị"
        });
        // Escalating is the procuracy's step, not the office's.
        run.refused(&app.head(), "escalate", escalation.clone(), 403, "forbidden").await;
        let escalated = run.step(&app.procuracy(), "escalate", escalation, "escalated").await;
        assert_eq!(escalated["terminal"], true);

        // The superior procuracy, a party of both, sees the link from the first instance...
        let superior = inspector_of(&app, SUPERIOR_PROCURACY);
        let first = run.get(&superior).await;
        let started = first["links"]["started"].as_array().unwrap();
        assert_eq!(started.len(), 1, "{first}");
        assert_eq!(started[0]["workflow"], "procuracy_supervision");
        assert_eq!(started[0]["state"], "issued");
        assert_eq!(started[0]["seq"], 5);
        let follow_up_path = format!("/api/v1/instances/{}", started[0]["id"].as_str().unwrap());

        // ... and the follow-up, started by it, between the superior agencies only.
        let follow_up: Value = app.get(&follow_up_path, &superior).await.json().await.unwrap();
        assert_eq!(follow_up["links"]["started_by"]["id"], run.id.as_str());
        assert_eq!(follow_up["links"]["started_by"]["seq"], 5);
        assert_eq!(
            follow_up["parties"],
            json!({"procuracy": SUPERIOR_PROCURACY, "enforcement": SUPERIOR_ENFORCEMENT})
        );
        assert_eq!(follow_up["state"], "issued");
        assert_eq!(follow_up["version"], 1);
        // At the superior level the matter is a recommendation to the superior enforcement office.
        assert_eq!(follow_up["data"]["instrument"], "recommendation");
        assert_eq!(follow_up["data"]["document_number"], "03/QĐ-VKS-KN");
        assert_eq!(follow_up["data"]["issued_on"], "2026-12-01");
        assert_eq!(follow_up["data"]["content"], "Cơ quan THADS không thực hiện kháng nghị");
        // The Hà Nội agencies are no party to the superior level's supervision.
        expect_problem(app.get(&follow_up_path, &app.procuracy()).await, 404, "not_found").await;
        expect_problem(app.get(&follow_up_path, &app.head()).await, 404, "not_found").await;
        assert_eq!(run.get(&app.procuracy()).await["links"]["started"], json!([]));

        // The superior enforcement office answers there, and the superior procuracy accepts.
        let mut follow = Run {
            app: &app,
            id: started[0]["id"].as_str().unwrap().to_owned(),
            version: 1,
            last: follow_up.clone(),
        };
        follow.step(&head_of(&app, SUPERIOR_ENFORCEMENT), "answer", answer(), "answered").await;
        follow.step(&superior, "accept", json!({}), "accepted").await;
        follow.verify(&superior, 3).await;

        run.verify(&app.procuracy(), 5).await;
    }
}

/// Escalating without superior agencies bound is not possible: there is nobody to start the
/// supervision with.
#[tokio::test]
async fn escalation_needs_the_superior_parties() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run =
            Run::start(&app, &app.procuracy(), issue("request", "90/YC-VKS", json!({})), "issued").await;
        // With no superior level bound, escalation is not offered, and firing it is refused.
        assert!(!run.available(&app.procuracy()).await.contains(&"escalate".to_owned()));
        let escalation = json!({"escalated_on": "2026-11-30", "escalation_reason": "Không trả lời"});
        let problem =
            run.refused(&app.procuracy(), "escalate", escalation, 422, "transition_not_allowed").await;
        assert!(problem["detail"].as_str().unwrap().contains("superior_procuracy"), "{problem}");
        // Withdrawn instead.
        run.step(&app.procuracy(), "withdraw", json!({"withdrawal_reason": "Đã khắc phục"}), "withdrawn")
            .await;
        run.verify(&app.procuracy(), 2).await;
    }
}

/// A protest by the same-level procuracy must be lodged within 15 days of receiving the
/// contested decision; the superior level has 30.
#[tokio::test]
async fn the_protest_lodging_window_is_checked() {
    for backend in backends() {
        let app = spawn(backend).await;
        // Received on 1 November, lodged on 20 November: 19 days.
        let late = issue("protest", "04/QĐ-VKS-KN", protest_data("2026-11-20", "same_level"));
        let r = app.post("/api/v1/instances", &app.procuracy(), &late).await;
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.issued_on"]);
        let reason = error_reason(&problem, "data.issued_on");
        assert!(reason.contains("19 days") && reason.contains("15 days"), "{reason}");
        assert!(reason.contains("Điều 160"), "{reason}");
        // A protest dated before the decision it contests is refused too.
        let early = issue("protest", "05/QĐ-VKS-KN", protest_data("2026-10-30", "same_level"));
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &early).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.issued_on"]);

        // A protest must say what it contests and when that was received.
        let bare = issue("protest", "06/QĐ-VKS-KN", json!({}));
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &bare).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            error_fields(&problem),
            ["data.contested_decision", "data.contested_received_on", "data.level"],
            "{problem}"
        );

        // On the 15th day it is in time; the superior level may lodge the late one.
        let in_time = issue("protest", "04/QĐ-VKS-KN", protest_data("2026-11-16", "same_level"));
        assert_eq!(create(&app, &app.procuracy(), &in_time).await["state"], "issued");
        let superior = issue("protest", "04/QĐ-VKS-KN", protest_data("2026-11-20", "superior_level"));
        assert_eq!(create(&app, &app.procuracy(), &superior).await["state"], "issued");
        let too_late = issue("protest", "06/QĐ-VKS-KN", protest_data("2026-12-02", "superior_level"));
        expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &too_late).await,
            422,
            "validation_failed",
        )
        .await;

        let page: Value = app
            .get("/api/v1/instances?workflow=procuracy_supervision", &auditor(&app))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2, "refused protests leave nothing behind");
    }
}

#[tokio::test]
async fn refusals_of_role_party_and_state() {
    for backend in backends() {
        let app = spawn(backend).await;
        // Only an inspector issues; an enforcement head cannot issue against itself.
        let request = issue("request", "91/YC-VKS", json!({}));
        expect_problem(app.post("/api/v1/instances", &app.head(), &request).await, 403, "forbidden").await;
        // An instrument the law does not know.
        let bad = issue("warning", "92/YC-VKS", json!({}));
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &bad).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.instrument"]);

        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        // Only the head answers for the office.
        run.refused(&app.officer(), "answer", answer(), 403, "forbidden").await;
        // Nothing to accept before an answer.
        run.refused(&app.procuracy(), "accept", json!({}), 422, "transition_not_allowed").await;
        // The Lào Cai procuracy does not supervise Hà Nội.
        let lao_cai = app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector]);
        run.refused(&lao_cai, "accept", json!({}), 404, "not_found").await;
        run.step(&app.head(), "answer", answer(), "answered").await;
        // Once answered, the procuracy can no longer withdraw it.
        run.refused(
            &app.procuracy(),
            "withdraw",
            json!({"withdrawal_reason": "x"}),
            422,
            "transition_not_allowed",
        )
        .await;
        run.step(&app.procuracy(), "accept", json!({}), "accepted").await;
        run.verify(&auditor(&app), 3).await;
    }
}
