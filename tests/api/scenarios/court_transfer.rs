//! court_transfer: the Hà Nội court transfers a judgment to the Hà Nội enforcement office,
//! which registers it, issues the decision, assigns an officer and sends the decision; a
//! document missing at receipt is settled by both sides; an incomplete file is returned.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{auditor, error_fields, notified, police, Run};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

fn request(reference_date: &str) -> Value {
    json!({
        "workflow": "court_transfer",
        "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "reference_date": reference_date,
        "data": {
            "judgment_number": "47/2026/DS-PT",
            "judgment_date": "2026-04-02",
            "effective_date": "2026-04-02",
            "category": "standard",
            "summary": "Bị đơn trả nguyên đơn 1.302.149.296.000 đồng"
        }
    })
}

/// Two documents: the appeal judgment and the first-instance judgment; the file of the
/// judgment, uploaded as the Hà Nội court, which transfers it.
async fn transfer_of_two(app: &TestApp, date: &str) -> Value {
    app.with_pdf(&app.court(), "judgment_file", listing_two(date)).await
}

/// The data of a transfer of two documents, without the judgment's file.
fn listing_two(date: &str) -> Value {
    json!({
        "transfer_date": date,
        "method": "in_person",
        "documents": [
            {"description": "Bản án phúc thẩm 47/2026/DS-PT", "quantity": "2", "unit": "bản"},
            {"description": "Bản án sơ thẩm 112/2025/DS-ST", "quantity": "1", "unit": "bản"}
        ]
    })
}

fn receipt(second: &str) -> Value {
    json!([{"item": 1, "status": "received"}, {"item": 2, "status": second}])
}

/// A transfer under Law 26/2008 (judgment effective in April 2026), walked to its end: the
/// 2008 version has no regional office to assign.
#[tokio::test]
async fn a_2008_transfer_walks_to_the_decision_sent() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = Run::start(&app, &app.court(), request("2026-04-02"), "judgment_effective").await;
        assert_eq!(run.last["workflow_version"], 1);

        run.step(&app.court(), "transfer", transfer_of_two(&app, "2026-04-20").await, "transferred").await;
        let data = json!({"received_date": "2026-04-21", "register_number": "311/NBA", "receipt": receipt("received")});
        run.step(&app.officer(), "register", data, "registered").await;
        run.step(
            &app.head(),
            "issue_decision",
            json!({"decision_number": "1520/QĐ-CTHADS", "decision_date": "2026-04-24"}),
            "decision_issued",
        )
        .await;
        run.step(
            &app.head(),
            "assign_officer",
            json!({"officer_name": "Phạm Thị Hoa", "assigned_date": "2026-04-27"}),
            "officer_assigned",
        )
        .await;
        let sent = run
            .step(
                &app.officer(),
                "send_decision",
                json!({"sent_date": "2026-04-28", "dispatch_number": "402/CTHADS"}),
                "decision_sent",
            )
            .await;
        assert_eq!(sent["terminal"], true);
        assert_eq!(sent["links"]["started"][0]["workflow"], "condition_verification");

        let history = run.history(&app.procuracy()).await;
        let roles: Vec<(&str, &str, &str)> =
            history.iter().map(|(t, a, r)| (t.as_str(), a.as_str(), r.as_str())).collect();
        assert_eq!(
            roles,
            [
                ("create", "TAND-HN", "court_liaison"),
                ("transfer", "TAND-HN", "court_liaison"),
                ("register", "THADS-HN", "enforcement_officer"),
                ("issue_decision", "THADS-HN", "enforcement_head"),
                ("assign_officer", "THADS-HN", "enforcement_head"),
                ("send_decision", "THADS-HN", "enforcement_officer"),
            ]
        );
        run.verify(&app.procuracy(), 6).await;
    }
}

/// Walks a v2 transfer of two documents to `disputed`: the second document is missing.
async fn disputed(app: &TestApp) -> Run<'_> {
    let mut request = request("2026-10-20");
    request["data"]["effective_date"] = json!("2026-10-20");
    let mut run = Run::start(app, &app.court(), request, "judgment_effective").await;
    assert_eq!(run.last["workflow_version"], 2);
    run.step(&app.court(), "transfer", transfer_of_two(app, "2026-10-25").await, "transferred").await;
    let data =
        json!({"received_date": "2026-10-27", "register_number": "1024/NBA", "receipt": receipt("missing")});
    run.step(&app.officer(), "register", data, "disputed").await;
    run
}

/// The events of an instance's history, as `token` reads them.
async fn events(run: &Run<'_>, token: &str) -> Vec<Value> {
    let history: Value = run.app.get(&run.path("/history"), token).await.json().await.unwrap();
    history["events"].as_array().unwrap().clone()
}

/// Whether the history verifies, as `token` asks.
async fn verifies(run: &Run<'_>, token: &str) -> bool {
    let verify: Value = run.app.get(&run.path("/history/verify"), token).await.json().await.unwrap();
    assert_eq!(verify["events"], run.version, "{verify}");
    verify["valid"] == true
}

/// A document missing at receipt: the court proposes a settlement with its signature, which
/// takes effect only with the office's; the handover record shows it all.
#[tokio::test]
async fn a_missing_document_is_settled_by_court_and_office() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = disputed(&app).await;
        // The decision cannot be issued on a disputed transfer.
        let decision = json!({"decision_number": "88/QĐ-THADS", "decision_date": "2026-10-29"});
        run.refused(&app.head(), "issue_decision", decision.clone(), 422, "transition_not_allowed").await;

        // The court signs first, proposing the settlement: it sends the missing document and
        // restates the receipt.
        let text = "Tòa án giao bổ sung bản án sơ thẩm ngày 28/10/2026";
        let settlement = json!({"resolution": text, "receipt": receipt("received")});
        let once = run.step(&app.court(), "resolve_discrepancy", settlement, "disputed").await;
        let pending = &once["pending_signatures"]["resolve_discrepancy"];
        assert_eq!(pending["proposal"]["resolution"], text, "{once}");
        assert_eq!(pending["proposal"]["receipt"][1]["status"], "received", "{once}");
        let signatures = pending["signatures"].as_array().unwrap();
        assert_eq!(signatures.len(), 1);
        assert_eq!(
            (signatures[0]["slot"].as_str(), signatures[0]["agency"].as_str()),
            (Some("court"), Some("TAND-HN"))
        );
        assert_eq!(signatures[0]["seq"], 4);
        // A proposal is not data yet: the instance still holds the receipt as registered.
        assert!(once["data"].get("resolution").is_none(), "{once}");
        assert_eq!(once["data"]["receipt"][1]["status"], "missing", "{once}");
        let record: Value = app.get(&run.path("/handover"), &app.head()).await.json().await.unwrap();
        assert_eq!(record["resolution"], json!([]), "{record}");
        assert_eq!(record["discrepancy"], true, "{record}");
        assert_eq!(record["items"][1]["status"], "missing", "{record}");
        // The history records the proposal as such, and verifies.
        let history = events(&run, &app.procuracy()).await;
        assert_eq!(history[3]["transition"], "resolve_discrepancy");
        assert_eq!(history[3]["data"]["_proposal"], pending["proposal"]);
        assert!(history[3]["data"].get("resolution").is_none());
        assert!(verifies(&run, &app.procuracy()).await);

        run.refused(&app.court(), "resolve_discrepancy", json!({}), 422, "already_signed").await;
        // The procuracy is told, but signs nothing.
        run.refused(&app.procuracy(), "resolve_discrepancy", json!({}), 403, "forbidden").await;

        let registered = run.step(&app.officer(), "resolve_discrepancy", json!({}), "registered").await;
        assert!(registered.get("pending_signatures").is_none());
        assert_eq!(registered["data"]["resolution"], text);
        assert_eq!(registered["data"]["receipt"][1]["status"], "received");
        let history = events(&run, &app.procuracy()).await;
        assert_eq!(history[4]["data"]["resolution"], text, "the last signature records the settlement");

        let record: Value = app.get(&run.path("/handover"), &app.court()).await.json().await.unwrap();
        assert_eq!(record["sender"]["agency"], "TAND-HN", "{record}");
        assert_eq!(record["receiver"]["agency"], "THADS-HN");
        assert_eq!(record["receiver"]["transition"], "register");
        let signers: Vec<&str> =
            record["resolution"].as_array().unwrap().iter().map(|s| s["agency"].as_str().unwrap()).collect();
        assert_eq!(signers, ["TAND-HN", "THADS-HN"]);
        assert_eq!(record["discrepancy"], false, "the restated receipt has every document");
        assert_eq!(record["verified"], true);

        // Then on to the decision as usual.
        run.step(&app.head(), "issue_decision", decision, "decision_issued").await;
        run.verify(&app.court(), 6).await;
    }
}

/// Either side may object to the other's proposal: the objection voids the pending signature;
/// a new proposal, signed by both, settles the discrepancy, and the record shows only the
/// signatures of that round.
#[tokio::test]
async fn an_objection_voids_the_proposal_and_a_new_one_is_signed() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = disputed(&app).await;
        // The court proposes to settle without the missing document.
        let first = json!({"resolution": "Bản án sơ thẩm không cần thiết cho việc thi hành"});
        run.step(&app.court(), "resolve_discrepancy", first, "disputed").await;
        assert!(verifies(&run, &app.court()).await);
        assert_eq!(
            run.available(&app.officer()).await,
            ["resolve_discrepancy", "office_object", "return_to_court"]
        );

        // The office objects; it must say why; the procuracy cannot object.
        let problem = run.refused(&app.officer(), "office_object", json!({}), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.objection"]);
        let objection = json!({"objection": "Bản án sơ thẩm là căn cứ xác định nghĩa vụ lãi chậm trả"});
        run.refused(&app.procuracy(), "office_object", objection.clone(), 403, "forbidden").await;
        let objected = run.step(&app.officer(), "office_object", objection, "disputed").await;
        assert!(
            objected.get("pending_signatures").is_none(),
            "the objection voids the signature: {objected}"
        );
        assert!(objected["data"].get("resolution").is_none(), "{objected}");
        assert_eq!(notified(&app, &run.id, 5), ["TAND-HN"]);
        assert!(verifies(&run, &app.court()).await);
        let record: Value = app.get(&run.path("/handover"), &app.court()).await.json().await.unwrap();
        assert_eq!(record["resolution"], json!([]), "{record}");

        // The office proposes its own settlement; the court objects to it in turn.
        let second = json!({"resolution": "Tòa án giao bổ sung bản án sơ thẩm trong 03 ngày"});
        run.step(&app.officer(), "resolve_discrepancy", second.clone(), "disputed").await;
        assert_eq!(run.last["pending_signatures"]["resolve_discrepancy"]["proposal"], second);
        run.step(&app.court(), "court_object", json!({"objection": "Cần 05 ngày để sao lục"}), "disputed")
            .await;
        assert!(run.last.get("pending_signatures").is_none(), "{}", run.last);
        assert_eq!(notified(&app, &run.id, 7), ["THADS-HN"]);

        // A third proposal, by the office, which the court, having signed and objected
        // before, signs this time.
        let third = json!({
            "resolution": "Tòa án giao bổ sung bản án sơ thẩm ngày 02/11/2026",
            "receipt": receipt("received")
        });
        run.step(&app.head(), "resolve_discrepancy", third, "disputed").await;
        assert!(verifies(&run, &app.court()).await);
        let registered = run.step(&app.court(), "resolve_discrepancy", json!({}), "registered").await;
        assert_eq!(registered["data"]["resolution"], "Tòa án giao bổ sung bản án sơ thẩm ngày 02/11/2026");
        assert_eq!(
            registered["data"]["objection"], "Cần 05 ngày để sao lục",
            "the objections stay on record"
        );

        let record: Value = app.get(&run.path("/handover"), &app.procuracy()).await.json().await.unwrap();
        let signed: Vec<(i64, &str, &str)> = record["resolution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["seq"].as_i64().unwrap(), s["agency"].as_str().unwrap(), s["role"].as_str().unwrap()))
            .collect();
        assert_eq!(
            signed,
            [(8, "THADS-HN", "enforcement_head"), (9, "TAND-HN", "court_liaison")],
            "{record}"
        );
        assert_eq!(record["discrepancy"], false, "{record}");
        assert_eq!(record["verified"], true);

        let transitions: Vec<(String, String)> =
            run.history(&app.court()).await.into_iter().map(|(t, a, _)| (t, a)).collect();
        let expected = [
            ("create", "TAND-HN"),
            ("transfer", "TAND-HN"),
            ("register", "THADS-HN"),
            ("resolve_discrepancy", "TAND-HN"),
            ("office_object", "THADS-HN"),
            ("resolve_discrepancy", "THADS-HN"),
            ("court_object", "TAND-HN"),
            ("resolve_discrepancy", "THADS-HN"),
            ("resolve_discrepancy", "TAND-HN"),
        ];
        assert_eq!(transitions, expected.map(|(t, a)| (t.to_owned(), a.to_owned())));
        run.verify(&app.court(), 9).await;
    }
}

/// An incomplete file goes back to the court, from `transferred` or from `disputed`; the
/// court transfers it again.
#[tokio::test]
async fn an_incomplete_file_is_returned_to_the_court() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = disputed(&app).await;
        // A reason is required.
        let problem =
            run.refused(&app.officer(), "return_to_court", json!({}), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.reason"]);
        // The court cannot return it to itself.
        run.refused(&app.court(), "return_to_court", json!({"reason": "x"}), 403, "forbidden").await;

        let reason = "Thiếu bản án sơ thẩm; đề nghị Tòa án chuyển giao đủ";
        let back = run
            .step(&app.officer(), "return_to_court", json!({"reason": reason}), "judgment_effective")
            .await;
        assert_eq!(back["terminal"], false);
        // The court may transfer again; the office has nothing to do until then.
        assert_eq!(run.available(&app.court()).await, ["transfer"]);
        assert_eq!(run.available(&app.head()).await, Vec::<String>::new());

        run.step(&app.court(), "transfer", transfer_of_two(&app, "2026-11-02").await, "transferred").await;
        run.step(
            &app.head(),
            "return_to_court",
            json!({"reason": "Bản sao không có dấu"}),
            "judgment_effective",
        )
        .await;
        run.step(&app.court(), "transfer", transfer_of_two(&app, "2026-11-05").await, "transferred").await;
        let data = json!({"received_date": "2026-11-06", "register_number": "1101/NBA", "receipt": receipt("received")});
        let registered = run.step(&app.officer(), "register", data, "registered").await;
        assert_eq!(registered["data"]["transfer_date"], "2026-11-05", "the last transfer's data stands");

        let history = run.history(&app.court()).await;
        let transitions: Vec<&str> = history.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(
            transitions,
            [
                "create",
                "transfer",
                "register",
                "return_to_court",
                "transfer",
                "return_to_court",
                "transfer",
                "register"
            ]
        );
        run.verify(&app.court(), 8).await;
    }
}

/// Who may not touch a transfer: another province's court, the police, a wrong role.
#[tokio::test]
async fn outsiders_and_wrong_roles_are_refused() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = Run::start(&app, &app.court(), request("2026-10-20"), "judgment_effective").await;
        let lao_cai_court = app.token("court-lc", "TAND-LC", &[Role::CourtLiaison]);
        let theirs = app.with_pdf(&lao_cai_court, "judgment_file", listing_two("2026-10-25")).await;
        run.refused(&lao_cai_court, "transfer", theirs.clone(), 404, "not_found").await;
        expect_problem(app.get(&run.path("/history"), &police(&app)).await, 404, "not_found").await;
        // The court liaison needs the court_liaison role: a court user without it is refused.
        let clerk = app.token("clerk", "TAND-HN", &[Role::Auditor]);
        run.refused(&clerk, "transfer", transfer_of_two(&app, "2026-10-25").await, 403, "forbidden").await;
        // A transfer with no documents is refused.
        let mut empty = transfer_of_two(&app, "2026-10-25").await;
        empty["documents"] = json!([]);
        let problem = run.refused(&app.court(), "transfer", empty, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.documents"]);
        // The judgment's file is required, and must be the court's own upload.
        let problem =
            run.refused(&app.court(), "transfer", listing_two("2026-10-25"), 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["data.judgment_file"]);
        let problem = run.refused(&app.court(), "transfer", theirs, 422, "document_foreign").await;
        assert_eq!(error_fields(&problem), ["data.judgment_file"]);
        let transfer = transfer_of_two(&app, "2026-10-25").await;
        run.step(&app.court(), "transfer", transfer.clone(), "transferred").await;
        run.verify(&auditor(&app), 2).await;
        // The file is taken by that step: no other step may name it.
        run.step(
            &app.officer(),
            "return_to_court",
            json!({"reason": "Thiếu bản án sơ thẩm"}),
            "judgment_effective",
        )
        .await;
        let problem = run.refused(&app.court(), "transfer", transfer, 409, "document_used").await;
        assert_eq!(error_fields(&problem), ["data.judgment_file"]);
    }
}

/// After a return to the court and a new transfer, the handover record is the new round's:
/// the new documents, not yet received by anyone.
#[tokio::test]
async fn a_new_transfer_after_a_return_starts_a_new_handover_record() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = disputed(&app).await;
        run.step(
            &app.officer(),
            "return_to_court",
            json!({"reason": "Thiếu bản án sơ thẩm"}),
            "judgment_effective",
        )
        .await;
        run.step(&app.court(), "transfer", transfer_of_two(&app, "2026-11-02").await, "transferred").await;

        let record: Value = app.get(&run.path("/handover"), &app.court()).await.json().await.unwrap();
        assert_eq!(record["state"], "transferred");
        assert_eq!(record["sender"]["seq"], 5, "{record}");
        assert_eq!(record["receiver"], Value::Null, "nobody has received the new transfer yet: {record}");
        assert_eq!(record["items"][1]["status"], Value::Null, "{record}");
        assert_eq!(record["discrepancy"], false, "{record}");
    }
}
