//! procuracy_supervision: the Hà Nội procuracy issues a request, a recommendation or a
//! protest to the Hà Nội enforcement office, which answers with the measures it took; the
//! procuracy accepts, or rejects and escalates to the superior level: a supervision of its own
//! starts between the superior offices on record (the parents of the two agencies).

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{
    add_regional_level, auditor, create, deadline, deadlines_moved, error_fields, error_reason, head_of,
    inspector_of, notified, Run, REGIONAL_1, REGIONAL_PROCURACY,
};
use crate::helpers::{assert_document, backends, expect_problem, spawn, TestApp};

/// A document of the Hà Nội procuracy to the Hà Nội office, signed.
async fn issue(app: &TestApp, instrument: &str, number: &str, extra: Value) -> Value {
    signed(app, issue_between("VKS-HN", "THADS-HN", instrument, number, extra)).await
}

/// `request` with the signed file of its instrument, uploaded just before as an inspector of
/// the procuracy that issues it.
async fn signed(app: &TestApp, request: Value) -> Value {
    let procuracy = request["parties"]["procuracy"].as_str().unwrap().to_owned();
    app.request_with_pdf(&inspector_of(app, &procuracy), "instrument_file", request).await
}

/// A document of `procuracy` to `enforcement`, without its file.
fn issue_between(procuracy: &str, enforcement: &str, instrument: &str, number: &str, extra: Value) -> Value {
    let mut data = json!({
        "instrument": instrument,
        "document_number": number,
        "issued_on": "2026-11-02",
        "content": "Chậm ra quyết định thi hành án đối với 12 bản án đã nhận"
    });
    data.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": procuracy, "enforcement": enforcement},
        "data": data
    })
}

/// The office's answer, with the signed reply uploaded just before as the agency of `token`,
/// which fires it.
async fn answer(app: &TestApp, token: &str) -> Value {
    let answer = json!({
        "reply_number": "512/THADS-NV",
        "reply_date": "2026-11-16",
        "measures": "Đã ra 12 quyết định thi hành án; kiểm điểm trách nhiệm Chấp hành viên"
    });
    app.with_pdf(token, "reply_file", answer).await
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
        let request = issue(&app, "request", "88/YC-VKS", json!({"reply_due": "2026-11-20"})).await;
        let mut run = Run::start(&app, &app.procuracy(), request.clone(), "issued").await;
        assert_eq!(run.last["data"]["reply_due"], "2026-11-20");
        assert_eq!(run.last["data"]["instrument"], "request");
        let file = request["data"]["instrument_file"].as_str().unwrap();
        assert_document(&run.last["data"]["instrument_file"], file, "application/pdf");
        // The office is told of the new document; the reply clock runs from the date it was
        // issued to the date it sets, and a missed reply goes back to the issuing procuracy.
        assert_eq!(notified(&app, &run.id, 1), ["THADS-HN"]);
        assert_eq!(deadlines_moved(&app, &run.id, 1), (vec!["reply_request".to_owned()], vec![]));
        let reply = deadline(&app, &run.id, &app.procuracy(), "reply_request").await;
        assert_eq!(reply["starts_at"], "2026-11-02T00:00:00.000000+07:00");
        assert_eq!(reply["due_date"], "2026-11-20", "the date the document sets");
        assert_eq!(reply["responsible"], "THADS-HN");
        assert_eq!(reply["escalate_to"], "VKS-HN");

        run.step(&app.officer(), "acknowledge", json!({}), "acknowledged").await;
        let reply = answer(&app, &app.head()).await;
        let answered = run.step(&app.head(), "answer", reply.clone(), "answered").await;
        assert_eq!(answered["data"]["reply_due"], "2026-11-20", "the document's reply date stays");
        assert_document(
            &answered["data"]["reply_file"],
            reply["reply_file"].as_str().unwrap(),
            "application/pdf",
        );
        assert_eq!(
            answered["data"]["instrument_file"], run.last["data"]["instrument_file"],
            "the instrument's file stays"
        );
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
        let request = issue(&app, "recommendation", "12/KN-VKS", json!({"reply_due": "2026-12-02"})).await;
        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        assert_eq!(run.last["data"]["reply_due"], "2026-12-02");
        let first = answer(&app, &app.head()).await;
        run.step(&app.head(), "answer", first.clone(), "answered").await;
        run.step(
            &app.procuracy(),
            "reject",
            json!({"rejection_reason": "Chưa nêu thời hạn khắc phục"}),
            "rejected",
        )
        .await;
        // The new answer needs a reply of its own: the first one's file was handed over.
        let mut again = first.clone();
        again["reply_number"] = json!("530/THADS-NV");
        again["reply_date"] = json!("2026-11-25");
        let problem = run.refused(&app.head(), "answer", again.clone(), 409, "document_used").await;
        assert_eq!(error_fields(&problem), ["data.reply_file"]);
        let again = app.with_pdf(&app.head(), "reply_file", again).await;
        let answered = run.step(&app.head(), "answer", again.clone(), "answered").await;
        assert_eq!(answered["data"]["reply_number"], "530/THADS-NV");
        assert_document(
            &answered["data"]["reply_file"],
            again["reply_file"].as_str().unwrap(),
            "application/pdf",
        );
        run.step(&app.procuracy(), "accept", json!({}), "accepted").await;
        run.verify(&app.head(), 5).await;
    }
}

/// A protest of the regional procuracy to the regional office, its answer rejected, escalated:
/// a supervision starts between the superior offices on record (VKS-HN and THADS-HN, the
/// parents), as a recommendation. Each side sees that the other instance exists, through the
/// link, but only the parties of an instance see it and its state.
#[tokio::test]
async fn a_rejected_protest_is_escalated_to_the_superior_level() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        let regional = inspector_of(&app, REGIONAL_PROCURACY);
        let regional_head = head_of(&app, REGIONAL_1);
        let request = issue_between(
            REGIONAL_PROCURACY,
            REGIONAL_1,
            "protest",
            "03/QĐ-VKS-KN",
            protest_data("2026-11-10", "same_level"),
        );
        let request = signed(&app, request).await;
        let mut run = Run::start(&app, &regional, request, "issued").await;
        assert_eq!(run.last["data"]["level"], "same_level");
        assert_eq!(run.last["data"]["contested_received_on"], "2026-11-01");

        run.step(&regional_head, "acknowledge", json!({}), "acknowledged").await;
        run.step(&regional_head, "answer", answer(&app, &regional_head).await, "answered").await;
        run.step(&regional, "reject", json!({"rejection_reason": "Việc hoãn không có căn cứ"}), "rejected")
            .await;
        let escalation = json!({
            "escalated_on": "2026-12-01",
            "escalation_reason": "Cơ quan THADS không thực hiện kháng nghị"
        });
        // Escalating is the procuracy's step, not the office's; it is offered to the procuracy,
        // both agencies having a superior office on record.
        run.refused(&regional_head, "escalate", escalation.clone(), 403, "forbidden").await;
        assert!(run.available(&regional).await.contains(&"escalate".to_owned()));
        let escalated = run.step(&regional, "escalate", escalation, "escalated").await;
        assert_eq!(escalated["terminal"], true);
        assert_eq!(notified(&app, &run.id, 5), [REGIONAL_1]);

        // The issuer sees the follow-up in its links, without its state: it is no party to it.
        let started = escalated["links"]["started"].as_array().unwrap().clone();
        assert_eq!(started.len(), 1, "{escalated}");
        assert_eq!(started[0]["workflow"], "procuracy_supervision");
        assert_eq!(started[0]["seq"], 5);
        assert_eq!(started[0]["state"], Value::Null, "{escalated}");
        assert_eq!(run.get(&regional_head).await["links"]["started"], json!(started));
        let follow_up_id = started[0]["id"].as_str().unwrap().to_owned();
        let follow_up_path = format!("/api/v1/instances/{follow_up_id}");
        // An auditor, who reads everything, sees its state.
        assert_eq!(run.get(&auditor(&app)).await["links"]["started"][0]["state"], "issued");

        // The follow-up is between the parents of the two agencies, and only them.
        let superior = app.procuracy();
        let follow_up: Value = app.get(&follow_up_path, &superior).await.json().await.unwrap();
        assert_eq!(follow_up["parties"], json!({"procuracy": "VKS-HN", "enforcement": "THADS-HN"}));
        assert_eq!(follow_up["state"], "issued");
        assert_eq!(follow_up["version"], 1);
        // Both are told of it.
        assert_eq!(notified(&app, &follow_up_id, 1), ["THADS-HN", "VKS-HN"]);
        // At the superior level the matter is a recommendation to the superior enforcement office.
        assert_eq!(follow_up["data"]["instrument"], "recommendation");
        assert_eq!(follow_up["data"]["document_number"], "03/QĐ-VKS-KN");
        assert_eq!(follow_up["data"]["issued_on"], "2026-12-01");
        assert_eq!(follow_up["data"]["content"], "Cơ quan THADS không thực hiện kháng nghị");
        // It was started by the escalation, whose lower level keeps the papers: it needs no
        // file of its own.
        assert_eq!(follow_up["data"]["escalated"], true, "{follow_up}");
        assert!(follow_up["data"].get("instrument_file").is_none(), "{follow_up}");
        // It knows what started it, but the superior offices see nothing of the lower
        // instance: not its state, not the instance, not its history.
        assert_eq!(
            follow_up["links"]["started_by"],
            json!({"id": run.id, "workflow": "procuracy_supervision", "state": null, "seq": 5})
        );
        for token in [app.procuracy(), app.head()] {
            expect_problem(app.get(&run.path(""), &token).await, 404, "not_found").await;
            expect_problem(app.get(&run.path("/history"), &token).await, 404, "not_found").await;
        }
        // The regional agencies are no party to the superior level's supervision.
        expect_problem(app.get(&follow_up_path, &regional).await, 404, "not_found").await;
        expect_problem(app.get(&follow_up_path, &regional_head).await, 404, "not_found").await;

        // The superior enforcement office answers there, and the superior procuracy accepts.
        let mut follow = Run { app: &app, id: follow_up_id.clone(), version: 1, last: follow_up.clone() };
        assert_eq!(follow.available(&app.head()).await, ["acknowledge", "answer"]);
        follow.step(&app.head(), "answer", answer(&app, &app.head()).await, "answered").await;
        follow.step(&superior, "accept", json!({}), "accepted").await;
        assert_eq!(follow.last["links"]["started_by"]["state"], Value::Null);
        follow.verify(&superior, 3).await;

        run.verify(&regional, 5).await;
    }
}

/// Escalation goes to the superior offices on record: when the procuracy or the office has no
/// parent agency, there is nobody to escalate to, so escalation is neither offered nor allowed.
#[tokio::test]
async fn escalation_needs_superior_offices_on_record() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        let escalation = json!({"escalated_on": "2026-11-30", "escalation_reason": "Không trả lời"});

        // VKS-HN and THADS-HN have no parent on record.
        let request = issue(&app, "request", "90/YC-VKS", json!({})).await;
        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        assert_eq!(run.available(&app.procuracy()).await, ["withdraw"]);
        let problem = run
            .refused(&app.procuracy(), "escalate", escalation.clone(), 422, "transition_not_allowed")
            .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("no superior agency on record"), "{problem}");
        // Withdrawn instead.
        run.step(&app.procuracy(), "withdraw", json!({"withdrawal_reason": "Đã khắc phục"}), "withdrawn")
            .await;
        run.verify(&app.procuracy(), 2).await;

        // The regional procuracy has a superior, the city office it supervises has none.
        let regional = inspector_of(&app, REGIONAL_PROCURACY);
        let request = issue_between(REGIONAL_PROCURACY, "THADS-HN", "request", "91/YC-VKS", json!({}));
        let run = Run::start(&app, &regional, signed(&app, request).await, "issued").await;
        assert!(!run.available(&regional).await.contains(&"escalate".to_owned()));
        let problem =
            run.refused(&regional, "escalate", escalation.clone(), 422, "transition_not_allowed").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("THADS-HN (enforcement) has no superior agency on record"), "{problem}");

        // The city procuracy has none, the regional office has one.
        let request = issue_between("VKS-HN", REGIONAL_1, "request", "92/YC-VKS", json!({}));
        let run = Run::start(&app, &app.procuracy(), signed(&app, request).await, "issued").await;
        assert!(!run.available(&app.procuracy()).await.contains(&"escalate".to_owned()));
        let problem =
            run.refused(&app.procuracy(), "escalate", escalation, 422, "transition_not_allowed").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("VKS-HN (procuracy) has no superior agency on record"), "{problem}");
    }
}

/// A protest must be lodged within 15 days of receiving the contested decision by the
/// same-level procuracy, 30 by the directly superior one, which names the same-level
/// procuracy it is superior to.
#[tokio::test]
async fn the_protest_lodging_window_is_checked() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        // Received on 1 November, lodged on 20 November: 19 days.
        let late = issue(&app, "protest", "04/QĐ-VKS-KN", protest_data("2026-11-20", "same_level")).await;
        let r = app.post("/api/v1/instances", &app.procuracy(), &late).await;
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.issued_on"]);
        let reason = error_reason(&problem, "data.issued_on");
        assert!(reason.contains("19 days") && reason.contains("15 days"), "{reason}");
        assert!(reason.contains("Điều 160"), "{reason}");
        // A protest dated before the decision it contests is refused too.
        let early = issue(&app, "protest", "05/QĐ-VKS-KN", protest_data("2026-10-30", "same_level")).await;
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &early).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.issued_on"]);
        // So is a reply date before the document that sets it.
        let backwards = issue(&app, "request", "93/YC-VKS", json!({"reply_due": "2026-11-01"})).await;
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &backwards).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.reply_due"]);
        assert!(error_reason(&problem, "data.reply_due").contains("before"), "{problem}");

        // A protest must say what it contests and when that was received.
        let bare = issue(&app, "protest", "06/QĐ-VKS-KN", json!({})).await;
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

        // On the 15th day it is in time.
        let in_time = issue(&app, "protest", "04/QĐ-VKS-KN", protest_data("2026-11-16", "same_level")).await;
        assert_eq!(create(&app, &app.procuracy(), &in_time).await["state"], "issued");

        // The city procuracy protests, as the superior level, a decision of the regional
        // office: it must name the regional procuracy it is superior to.
        let superior = |issued_on: &str, same_level: Option<&str>| {
            let mut request = issue_between(
                "VKS-HN",
                REGIONAL_1,
                "protest",
                "07/QĐ-VKS-KN",
                protest_data(issued_on, "superior_level"),
            );
            if let Some(same_level) = same_level {
                request["parties"]["same_level_procuracy"] = json!(same_level);
            }
            signed(&app, request)
        };
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &superior("2026-11-20", None).await).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["parties.same_level_procuracy"]);
        // A procuracy the issuer is not the superior of does not fit.
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &superior("2026-11-20", Some("VKS-LC")).await)
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["parties.procuracy"]);
        let reason = error_reason(&problem, "parties.procuracy");
        assert!(reason.contains("not the superior office of VKS-LC"), "{reason}");
        // Named, the superior level may lodge after 19 days, but not after 31.
        let lodged =
            create(&app, &app.procuracy(), &superior("2026-11-20", Some(REGIONAL_PROCURACY)).await).await;
        assert_eq!(lodged["state"], "issued");
        assert_eq!(
            lodged["parties"],
            json!({"procuracy": "VKS-HN", "enforcement": REGIONAL_1, "same_level_procuracy": REGIONAL_PROCURACY})
        );
        // The same-level procuracy, a party, sees it.
        let regional = inspector_of(&app, REGIONAL_PROCURACY);
        let seen = app.get(&format!("/api/v1/instances/{}", lodged["id"].as_str().unwrap()), &regional).await;
        assert_eq!(seen.status(), 200);
        let problem = expect_problem(
            app.post(
                "/api/v1/instances",
                &app.procuracy(),
                &superior("2026-12-02", Some(REGIONAL_PROCURACY)).await,
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        let reason = error_reason(&problem, "data.issued_on");
        assert!(reason.contains("31 days") && reason.contains("30 days"), "{reason}");

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
        let request = issue(&app, "request", "91/YC-VKS", json!({})).await;
        expect_problem(app.post("/api/v1/instances", &app.head(), &request).await, 403, "forbidden").await;
        // An instrument the law does not know.
        let bad = issue(&app, "warning", "92/YC-VKS", json!({})).await;
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &bad).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.instrument"]);
        // The signed instrument is required of a procuracy that issues one itself, and must be
        // its own upload.
        let unsigned = issue_between("VKS-HN", "THADS-HN", "request", "91/YC-VKS", json!({}));
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &unsigned).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.instrument_file"]);
        let mut foreign = unsigned.clone();
        foreign["data"]["instrument_file"] = json!(app.upload_pdf(&app.head()).await);
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &foreign).await,
            422,
            "document_foreign",
        )
        .await;
        assert_eq!(error_fields(&problem), ["data.instrument_file"]);

        let mut run = Run::start(&app, &app.procuracy(), request, "issued").await;
        // Only the head answers for the office.
        run.refused(&app.officer(), "answer", answer(&app, &app.officer()).await, 403, "forbidden").await;
        // Nothing to accept before an answer.
        run.refused(&app.procuracy(), "accept", json!({}), 422, "transition_not_allowed").await;
        // The Lào Cai procuracy does not supervise Hà Nội.
        let lao_cai = app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector]);
        run.refused(&lao_cai, "accept", json!({}), 404, "not_found").await;
        // The reply's file is required too.
        let mut unsigned = answer(&app, &app.head()).await;
        unsigned.as_object_mut().unwrap().remove("reply_file");
        let problem = run.refused(&app.head(), "answer", unsigned, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.reply_file"]);
        run.step(&app.head(), "answer", answer(&app, &app.head()).await, "answered").await;
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

/// A limit whose last day is a rest day ends on the next working day (Civil Code Art. 148):
/// the decision received on Friday 6 November, its 15 days end on Saturday 21 November, so a
/// protest lodged on Monday 23 November is in time and one on Tuesday 24 is not.
#[tokio::test]
async fn a_protest_on_the_monday_after_a_limit_ending_on_saturday_is_in_time() {
    for backend in backends() {
        let app = spawn(backend).await;
        let lodged = |issued_on: &str| {
            let mut data = protest_data(issued_on, "same_level");
            data["contested_received_on"] = json!("2026-11-06");
            data
        };
        let late = issue(&app, "protest", "08/QĐ-VKS-KN", lodged("2026-11-24")).await;
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.procuracy(), &late).await,
            422,
            "validation_failed",
        )
        .await;
        let reason = error_reason(&problem, "data.issued_on");
        assert!(reason.contains("ends on 2026-11-23, the next working day"), "{backend:?} {reason}");
        assert!(reason.contains("Điều 148"), "{reason}");
        let in_time = issue(&app, "protest", "07/QĐ-VKS-KN", lodged("2026-11-23")).await;
        let created = create(&app, &app.procuracy(), &in_time).await;
        assert_eq!(created["data"]["issued_on"], "2026-11-23", "{backend:?}");
    }
}
