//! evidence_handover: the Hà Nội police hand evidence over to the Hà Nội enforcement office's
//! warehouse, item by item; a discrepancy needs both sides' signatures; the items are then
//! destroyed, returned or sold.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{auditor, deadline, police, Run};
use crate::helpers::{assert_document, backends, expect_problem, pdf, spawn, TestApp};

fn request() -> Value {
    json!({
        "workflow": "evidence_handover",
        "parties": {"police": "CA-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {
            "judgment_number": "56/2026/HS-ST",
            "decision_number": "112/QĐ-THADS",
            "requested_on": "2026-11-16"
        }
    })
}

/// The manifest: three items, the second a motorbike with a seal and a declared value.
fn manifest() -> Value {
    json!([
        {"description": "Điện thoại di động Samsung", "quantity": "2", "unit": "chiếc", "seal": "NP-0415"},
        {"description": "Xe máy Honda Wave biển số 29B1-123.45", "quantity": "1", "unit": "chiếc",
         "seal": "NP-0416", "declared_value": "18500000"},
        {"description": "Vàng miếng SJC", "quantity": "2.5", "unit": "lượng", "declared_value": "212500000.50"}
    ])
}

/// A small JPEG of its own: a photo of a page of the minutes.
fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00];
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(&[0xFF, 0xD9]);
    bytes
}

/// Uploads `bytes` of `media_type` as the agency of `token`; returns the document's id.
async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>, media_type: &str) -> String {
    let r = app.upload(token, bytes, media_type).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "upload: {body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The police's `hand_over` data: the manifest, and the signed minutes in two pages (a PDF
/// and a photo of the last page), uploaded just before as the agency of `token`.
async fn handover(app: &TestApp, token: &str, items: Value, record_number: &str) -> Value {
    let minutes = [
        upload(app, token, pdf("biên bản giao nhận"), "application/pdf").await,
        upload(app, token, jpeg(), "image/jpeg").await,
    ];
    json!({"items": items, "record_number": record_number, "minutes_file": minutes})
}

/// Requested, scheduled and handed over by the police with the manifest.
async fn handed_over(app: &TestApp) -> Run<'_> {
    let mut run = Run::start(app, &app.officer(), request(), "requested").await;
    run.step(
        &police(app),
        "schedule",
        json!({"handover_at": "2026-11-24T09:00:00+07:00", "place": "Kho vật chứng Công an thành phố Hà Nội"}),
        "scheduled",
    )
    .await;
    let data = handover(app, &police(app), manifest(), "78/BB-CA").await;
    let after = run.step(&police(app), "hand_over", data.clone(), "handed_over").await;
    // The minutes are kept as the documents they are, in the order given.
    let pages = after["data"]["minutes_file"].as_array().unwrap();
    assert_eq!(pages.len(), 2, "{after}");
    assert_document(&pages[0], data["minutes_file"][0].as_str().unwrap(), "application/pdf");
    assert_document(&pages[1], data["minutes_file"][1].as_str().unwrap(), "image/jpeg");
    // Quantities and values are kept as exact decimals.
    assert_eq!(after["data"]["items"][2]["quantity"], "2.5");
    assert_eq!(after["data"]["items"][1]["declared_value"], "18500000");
    assert_eq!(after["data"]["items"][2]["declared_value"], "212500000.5");
    run
}

fn receipt_with_missing_item() -> Value {
    json!({
        "receipt": [
            {"item": 1, "status": "received"},
            {"item": 2, "status": "missing", "note": "Không có xe máy tại buổi giao"},
            {"item": 3, "status": "received"}
        ],
        "storage_location": "Kho A, kệ 3"
    })
}

fn receipt_all_received() -> Value {
    json!({
        "receipt": [
            {"item": 1, "status": "received"},
            {"item": 2, "status": "received"},
            {"item": 3, "status": "received"}
        ],
        "storage_location": "Kho A, kệ 3"
    })
}

/// Every item received: stored, then sold; the proceeds are kept to the đồng.
#[tokio::test]
async fn evidence_received_in_full_is_stored_then_sold() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = handed_over(&app).await;
        run.step(&app.officer(), "confirm_receipt", receipt_all_received(), "stored").await;

        let record: Value = app.get(&run.path("/handover"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(record["discrepancy"], false, "{record}");
        assert_eq!(record["resolution"], json!([]));
        assert_eq!(record["verified"], true);

        run.step(
            &app.head(),
            "record_joint_review",
            json!({"review_date": "2027-11-20", "review_findings": "Chưa có người mua; tiếp tục bảo quản"}),
            "stored",
        )
        .await;
        let sold = run
            .step(
                &app.head(),
                "sell",
                json!({"sale_date": "2027-12-15", "sale_amount": "1302149296000", "sale_record_number": "09/BB-ĐG"}),
                "sold",
            )
            .await;
        assert_eq!(sold["terminal"], true);
        assert_eq!(sold["data"]["sale_amount"], "1302149296000");
        // The amount survives a fresh read exactly, as a string.
        let read = run.get(&police(&app)).await;
        assert_eq!(read["data"]["sale_amount"], json!("1302149296000"));

        let history = run.history(&app.procuracy()).await;
        let actors: Vec<(&str, &str)> = history.iter().map(|(t, a, _)| (t.as_str(), a.as_str())).collect();
        assert_eq!(
            actors,
            [
                ("create", "THADS-HN"),
                ("schedule", "CA-HN"),
                ("hand_over", "CA-HN"),
                ("confirm_receipt", "THADS-HN"),
                ("record_joint_review", "THADS-HN"),
                ("sell", "THADS-HN"),
            ]
        );
        run.verify(&app.procuracy(), 6).await;
    }
}

/// An item missing at receipt: the discrepancy is settled only when the police and the
/// office have both signed; the handover record shows every signature.
#[tokio::test]
async fn a_missing_item_is_settled_by_both_signatures() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = handed_over(&app).await;
        let disputed =
            run.step(&app.officer(), "confirm_receipt", receipt_with_missing_item(), "disputed").await;
        assert!(disputed.get("pending_signatures").is_none(), "{disputed}");

        // The police sign first and propose the settlement.
        let resolution = "Xe máy đang được giám định tại Phòng Kỹ thuật hình sự; Công an giao bổ sung sau";
        let signed_once = run
            .step(&police(&app), "resolve_discrepancy", json!({"resolution": resolution}), "disputed")
            .await;
        let pending = &signed_once["pending_signatures"]["resolve_discrepancy"];
        assert_eq!(pending["proposal"], json!({"resolution": resolution}), "{signed_once}");
        let signatures = pending["signatures"].as_array().unwrap();
        assert_eq!(signatures.len(), 1, "{signed_once}");
        assert_eq!(signatures[0]["slot"], "police");
        assert_eq!(signatures[0]["agency"], "CA-HN");
        assert_eq!(signatures[0]["role"], "police_liaison");
        assert_eq!(signatures[0]["name"], "User police-1");
        assert_eq!(signatures[0]["seq"], 5);
        assert!(signatures[0]["at"].as_str().unwrap().ends_with("+07:00"));
        // Anyone reading the instance sees the signature waiting.
        let read = run.get(&app.procuracy()).await;
        assert_eq!(read["pending_signatures"], signed_once["pending_signatures"]);
        // The proposal is not the instance's data until the office signs too, and the record
        // has no settlement yet.
        assert!(signed_once["data"].get("resolution").is_none(), "{signed_once}");
        assert_eq!(read["data"], disputed["data"]);
        let record: Value = app.get(&run.path("/handover"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(record["resolution"], json!([]), "{record}");
        assert_eq!(record["discrepancy"], true, "{record}");
        let history: Value = app.get(&run.path("/history"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(history["events"][4]["data"], json!({"_proposal": {"resolution": resolution}}));
        let verify: Value =
            app.get(&run.path("/history/verify"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(verify["valid"], true, "{verify}");

        // The police cannot sign twice, even another liaison of the same department.
        run.refused(&police(&app), "resolve_discrepancy", json!({}), 422, "already_signed").await;
        let colleague = app.token("police-2", "CA-HN", &[Role::PoliceLiaison]);
        run.refused(&colleague, "resolve_discrepancy", json!({}), 422, "already_signed").await;
        // The office signs what was stated; it cannot restate it.
        let problem = run
            .refused(
                &app.head(),
                "resolve_discrepancy",
                json!({"resolution": "Khác"}),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], "data");
        // The office still has its signature to give, or may object; the police may only
        // object to a proposal of the office.
        let open: Vec<String> = run.available(&app.head()).await;
        assert_eq!(open, ["resolve_discrepancy", "office_object"]);
        assert_eq!(run.available(&police(&app)).await, ["police_object"]);

        let stored = run.step(&app.head(), "resolve_discrepancy", json!({}), "stored").await;
        assert!(stored.get("pending_signatures").is_none(), "{stored}");
        assert_eq!(stored["data"]["resolution"], resolution);

        let r = app.get(&run.path("/handover"), &app.officer()).await;
        assert_eq!(r.status(), 200);
        let record: Value = r.json().await.unwrap();
        assert_eq!(record["state"], "stored");
        assert_eq!(record["sender"]["agency"], "CA-HN", "{record}");
        assert_eq!(record["sender"]["name"], "User police-1");
        assert_eq!(record["sender"]["transition"], "hand_over");
        assert!(record["sender"]["at"].as_str().unwrap().ends_with("+07:00"));
        assert_eq!(record["receiver"]["agency"], "THADS-HN");
        assert_eq!(record["receiver"]["name"], "User officer-1");
        assert_eq!(record["receiver"]["transition"], "confirm_receipt");
        assert!(record["receiver"]["at"].as_str().is_some());
        let items = record["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        let statuses: Vec<&str> = items.iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["received", "missing", "received"]);
        assert_eq!(items[1]["item"], 2);
        assert_eq!(items[1]["seal"], "NP-0416");
        assert_eq!(items[1]["declared_value"], "18500000");
        assert_eq!(items[1]["note"], "Không có xe máy tại buổi giao");
        assert_eq!(items[2]["quantity"], "2.5");
        assert_eq!(record["discrepancy"], true);
        let resolution: Vec<(&str, &str)> = record["resolution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["agency"].as_str().unwrap(), s["name"].as_str().unwrap()))
            .collect();
        assert_eq!(resolution, [("CA-HN", "User police-1"), ("THADS-HN", "User head-1")]);
        assert_eq!(record["verified"], true);

        // Then returned to its owner.
        run.step(
            &app.head(),
            "decide_return",
            json!({"return_decision_number": "15/QĐ-THADS", "return_decision_date": "2026-12-01"}),
            "return_pending",
        )
        .await;
        let returned = run
            .step(
                &app.officer(),
                "return_to_owner",
                json!({"owner_notified_on": "2026-12-03", "return_record_number": "21/BB-THADS"}),
                "returned",
            )
            .await;
        assert_eq!(returned["terminal"], true);
        // confirm_receipt, two signatures, two steps of the return, after the four first events.
        run.verify(&police(&app), 8).await;
    }
}

/// Checks that the history verifies, as it stands.
async fn verifies(run: &Run<'_>) {
    let verify: Value =
        run.app.get(&run.path("/history/verify"), &auditor(run.app)).await.json().await.unwrap();
    assert_eq!(verify["valid"], true, "{verify}");
    assert_eq!(verify["events"], run.version, "{verify}");
}

/// An objection voids the pending signatures: the police object to the office's proposal, the
/// office to the police's; the third proposal, signed by both, settles the discrepancy, and the
/// record shows the two signatures of that round only. The history verifies throughout.
#[tokio::test]
async fn objections_void_proposals_until_both_sign_one() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = handed_over(&app).await;
        run.step(&app.officer(), "confirm_receipt", receipt_with_missing_item(), "disputed").await;

        // The office proposes to record the motorbike as never handed over.
        let written_off = json!({"resolution": "Xe máy không được bàn giao; lập biên bản riêng"});
        run.step(&app.head(), "resolve_discrepancy", written_off.clone(), "disputed").await;
        assert_eq!(run.last["pending_signatures"]["resolve_discrepancy"]["proposal"], written_off);
        verifies(&run).await;
        // The police object: the proposal and its signature are void, nothing was settled.
        let problem = run.refused(&police(&app), "police_object", json!({}), 422, "validation_failed").await;
        assert_eq!(super::common::error_fields(&problem), ["data.objection"]);
        let objection = json!({"objection": "Xe máy đã được giao, đang ở kho tạm giữ của Công an huyện"});
        let objected = run.step(&police(&app), "police_object", objection, "disputed").await;
        assert!(objected.get("pending_signatures").is_none(), "{objected}");
        assert!(objected["data"].get("resolution").is_none(), "{objected}");
        assert_eq!(super::common::notified(&app, &run.id, 6), ["THADS-HN", "VKS-HN"]);
        verifies(&run).await;
        // The office's earlier signature no longer counts: the police's signature alone does
        // not settle anything.
        let fetch = json!({"resolution": "Cơ quan THADS nhận xe máy tại kho Công an huyện"});
        let proposed = run.step(&police(&app), "resolve_discrepancy", fetch, "disputed").await;
        let signatures =
            proposed["pending_signatures"]["resolve_discrepancy"]["signatures"].as_array().unwrap();
        assert_eq!(signatures.len(), 1, "{proposed}");
        assert_eq!(signatures[0]["agency"], "CA-HN");
        // The office objects to that one in turn.
        run.step(&app.officer(), "office_object", json!({"objection": "Kho Công an huyện ở xa"}), "disputed")
            .await;
        assert!(run.last.get("pending_signatures").is_none(), "{}", run.last);
        assert_eq!(super::common::notified(&app, &run.id, 8), ["CA-HN", "VKS-HN"]);
        let record: Value = app.get(&run.path("/handover"), &app.officer()).await.json().await.unwrap();
        assert_eq!(record["resolution"], json!([]), "no round was completed: {record}");
        verifies(&run).await;

        // The third proposal restates the receipt; both sign it.
        let delivered = json!({
            "resolution": "Công an giao bổ sung xe máy tại kho vật chứng ngày 26/11/2026",
            "receipt": [
                {"item": 1, "status": "received"},
                {"item": 2, "status": "received", "note": "Giao bổ sung"},
                {"item": 3, "status": "received"}
            ]
        });
        run.step(&police(&app), "resolve_discrepancy", delivered, "disputed").await;
        verifies(&run).await;
        let stored = run.step(&app.head(), "resolve_discrepancy", json!({}), "stored").await;
        assert!(stored.get("pending_signatures").is_none(), "{stored}");
        assert_eq!(
            stored["data"]["resolution"],
            "Công an giao bổ sung xe máy tại kho vật chứng ngày 26/11/2026"
        );
        assert_eq!(stored["data"]["receipt"][1]["status"], "received");

        let record: Value = app.get(&run.path("/handover"), &app.procuracy()).await.json().await.unwrap();
        let signed: Vec<(i64, &str)> = record["resolution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["seq"].as_i64().unwrap(), s["agency"].as_str().unwrap()))
            .collect();
        assert_eq!(signed, [(9, "CA-HN"), (10, "THADS-HN")], "{record}");
        assert_eq!(record["discrepancy"], false, "{record}");
        assert_eq!(record["receiver"]["transition"], "confirm_receipt", "{record}");
        assert_eq!(record["verified"], true);

        let transitions: Vec<String> =
            run.history(&app.procuracy()).await.into_iter().map(|(t, _, _)| t).collect();
        assert_eq!(
            transitions,
            [
                "create",
                "schedule",
                "hand_over",
                "confirm_receipt",
                "resolve_discrepancy",
                "police_object",
                "resolve_discrepancy",
                "office_object",
                "resolve_discrepancy",
                "resolve_discrepancy"
            ]
        );
        run.verify(&app.procuracy(), 10).await;
    }
}

/// The office may sign a settlement first and restate the receipt (the police brought the
/// missing item); the record must still show the original receipt's signer and both
/// settlement signatures.
#[tokio::test]
async fn a_settlement_that_restates_the_receipt_keeps_every_signature() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = handed_over(&app).await;
        run.step(&app.officer(), "confirm_receipt", receipt_with_missing_item(), "disputed").await;
        let restated = json!({
            "resolution": "Công an giao bổ sung xe máy ngày 25/11/2026",
            "receipt": [
                {"item": 1, "status": "received"},
                {"item": 2, "status": "received", "note": "Giao bổ sung"},
                {"item": 3, "status": "received"}
            ]
        });
        run.step(&app.head(), "resolve_discrepancy", restated, "disputed").await;
        run.step(&police(&app), "resolve_discrepancy", json!({}), "stored").await;

        let record: Value = app.get(&run.path("/handover"), &app.officer()).await.json().await.unwrap();
        assert_eq!(record["discrepancy"], false, "{record}");
        assert_eq!(record["items"][1]["status"], "received");
        assert_eq!(record["receiver"]["transition"], "confirm_receipt", "{record}");
        assert_eq!(record["receiver"]["name"], "User officer-1", "{record}");
        let signers: Vec<&str> =
            record["resolution"].as_array().unwrap().iter().map(|s| s["agency"].as_str().unwrap()).collect();
        assert_eq!(signers, ["THADS-HN", "CA-HN"], "{record}");
        assert_eq!(record["verified"], true);
    }
}

/// Destruction: decided by the head with a council, carried out; and what is refused on the way.
#[tokio::test]
async fn destruction_path_and_refusals() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = Run::start(&app, &app.officer(), request(), "requested").await;

        // Only the police schedule; the office cannot hand over on their behalf.
        run.refused(
            &app.officer(),
            "schedule",
            json!({"handover_at": "2026-11-24T09:00:00+07:00", "place": "Kho"}),
            403,
            "forbidden",
        )
        .await;
        // Not yet scheduled: nothing to hand over.
        let early = handover(&app, &police(&app), manifest(), "78/BB-CA").await;
        run.refused(&police(&app), "hand_over", early, 422, "transition_not_allowed").await;
        // The Lào Cai office is no party: the instance does not exist for it.
        let other = app.token("head-lc", "THADS-LC", &[Role::EnforcementHead]);
        expect_problem(app.get(&run.path(""), &other).await, 404, "not_found").await;
        expect_problem(app.get(&run.path("/handover"), &other).await, 404, "not_found").await;
        run.refused(&other, "confirm_receipt", receipt_all_received(), 404, "not_found").await;

        run.step(
            &police(&app),
            "schedule",
            json!({"handover_at": "2026-11-24T02:00:00Z", "place": "Kho vật chứng"}),
            "scheduled",
        )
        .await;
        assert_eq!(run.last["data"]["handover_at"], "2026-11-24T09:00:00+07:00", "kept at +07:00");

        // A manifest with a quantity as a number and a value with fractions of a đồng is refused.
        let bad_items = json!([
            {"description": "Ma túy tổng hợp", "quantity": 150, "unit": "gam", "seal": "NP-0500"},
            {"description": "Tiền mặt", "quantity": "1", "unit": "bọc", "declared_value": "1.005"}
        ]);
        let bad = handover(&app, &police(&app), bad_items, "80/BB-CA").await;
        let problem = run.refused(&police(&app), "hand_over", bad, 422, "validation_failed").await;
        let fields = super::common::error_fields(&problem);
        assert!(fields.iter().any(|f| f.starts_with("data.items[0]")), "{problem}");
        assert!(fields.contains(&"data.items[1].declared_value".to_owned()), "{problem}");

        let drugs = json!([{"description": "Ma túy tổng hợp", "quantity": "150.5", "unit": "gam", "seal": "NP-0500"}]);
        // The minutes are required: at least one page, each a PDF or an image.
        let no_minutes = json!({"items": drugs, "record_number": "80/BB-CA", "minutes_file": []});
        let problem = run.refused(&police(&app), "hand_over", no_minutes, 422, "validation_failed").await;
        assert_eq!(super::common::error_fields(&problem), ["data.minutes_file"]);
        let note = upload(&app, &police(&app), "Biên bản (bản nháp)".as_bytes().to_vec(), "text/plain").await;
        let as_text = json!({"items": drugs, "record_number": "80/BB-CA", "minutes_file": [note]});
        let problem =
            run.refused(&police(&app), "hand_over", as_text, 422, "document_type_not_accepted").await;
        assert_eq!(super::common::error_fields(&problem), ["data.minutes_file"]);
        let data = handover(&app, &police(&app), drugs, "80/BB-CA").await;
        run.step(&police(&app), "hand_over", data, "handed_over").await;
        // A receipt must cover exactly the manifest.
        let problem = run
            .refused(
                &app.officer(),
                "confirm_receipt",
                json!({"receipt": [{"item": 1, "status": "received"}, {"item": 2, "status": "received"}],
                       "storage_location": "Kho B"}),
                422,
                "validation_failed",
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], "data.receipt");
        run.step(
            &app.officer(),
            "confirm_receipt",
            json!({"receipt": [{"item": 1, "status": "received"}], "storage_location": "Kho B"}),
            "stored",
        )
        .await;
        // Without a discrepancy there is nothing to settle.
        run.refused(
            &police(&app),
            "resolve_discrepancy",
            json!({"resolution": "x"}),
            422,
            "transition_not_allowed",
        )
        .await;

        // Only the head decides the destruction.
        let decision =
            json!({"disposal_decision_number": "22/QĐ-THADS", "council_established_on": "2026-12-01"});
        run.refused(&app.officer(), "decide_destruction", decision.clone(), 403, "forbidden").await;
        run.step(&app.head(), "decide_destruction", decision, "destruction_pending").await;
        // Once destruction is decided, the items can no longer be sold.
        run.refused(
            &app.head(),
            "sell",
            json!({"sale_date": "2026-12-02", "sale_amount": "100", "sale_record_number": "1"}),
            422,
            "transition_not_allowed",
        )
        .await;
        let destroyed = run
            .step(
                &app.officer(),
                "destroy",
                json!({"destroyed_on": "2026-12-08", "destruction_record_number": "05/BB-HĐTH"}),
                "destroyed",
            )
            .await;
        assert_eq!(destroyed["terminal"], true);
        assert_eq!(run.available(&app.head()).await, Vec::<String>::new());
        run.verify(&auditor(&app), 6).await;
    }
}

/// Money is a decimal string: a JSON number is refused, and so is a negative amount.
#[tokio::test]
async fn sale_amount_must_be_a_decimal_string() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = handed_over(&app).await;
        run.step(&app.officer(), "confirm_receipt", receipt_all_received(), "stored").await;
        for amount in [json!(1302149296000_i64), json!("-5000"), json!("1,302,149,296,000")] {
            let problem = run
                .refused(
                    &app.head(),
                    "sell",
                    json!({"sale_date": "2027-01-05", "sale_amount": amount, "sale_record_number": "1/BB"}),
                    422,
                    "validation_failed",
                )
                .await;
            assert_eq!(super::common::error_fields(&problem), ["data.sale_amount"], "{amount}");
        }
        let sold = run
            .step(
                &app.head(),
                "sell",
                json!({"sale_date": "2027-01-05", "sale_amount": "1302149296000.00", "sale_record_number": "1/BB"}),
                "sold",
            )
            .await;
        assert_eq!(sold["data"]["sale_amount"], "1302149296000");
        run.verify(&app.head(), 5).await;
    }
}

/// Điều 125: when the judgment orders the items destroyed, the head sets up the council within
/// a month of the enforcement decision, whatever stage the handover is at.
#[tokio::test]
async fn the_destruction_council_is_due_a_month_after_the_enforcement_decision() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut ordered = request();
        ordered["data"]["destruction_ordered"] = json!(true);
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.officer(), &ordered).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(super::common::error_fields(&problem), ["data.decision_date"], "{backend:?} {problem}");
        ordered["data"]["decision_date"] = json!("2026-11-10");
        let run = Run::start(&app, &app.officer(), ordered, "requested").await;
        let council = deadline(&app, &run.id, &app.officer(), "destruction_council").await;
        // A month from Tuesday 10 November 2026: Thursday 10 December.
        assert_eq!(council["due_date"], "2026-12-10", "{backend:?} {council}");
        assert!(council["legal_basis"].as_str().unwrap().contains("Điều 125"), "{council}");
        assert_eq!(council["operational"], false);
        // Without the order, no such clock.
        let plain = Run::start(&app, &app.officer(), request(), "requested").await;
        let shown = plain.get(&app.officer()).await;
        assert!(
            !shown["deadlines"].as_array().unwrap().iter().any(|d| d["name"] == "destruction_council"),
            "{shown}"
        );
    }
}

/// Điều 126: the owner told to collect money who does not come: the money is deposited only
/// once 15 days have passed, and forfeited only 5 years after the judgment took effect, each
/// window ending on a working day.
#[tokio::test]
async fn an_uncollected_return_waits_out_each_window_of_article_126() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run = handed_over(&app).await;
        run.step(&app.officer(), "confirm_receipt", receipt_all_received(), "stored").await;
        let decision = json!({"return_decision_number": "16/QĐ-THADS", "return_decision_date": "2026-11-30"});
        run.step(&app.head(), "decide_return", decision, "return_pending").await;
        let notice = json!({"owner_notified_on": "2026-12-01", "returned_kind": "money"});
        run.step(&app.officer(), "notify_owner", notice, "owner_notified").await;
        // Money is not property: it is deposited, not sold.
        let sale =
            json!({"deposited_on": "2027-04-01", "sale_amount": "1000000", "savings_book_number": "TK-1"});
        run.refused(&app.head(), "sell_unclaimed_property", sale, 422, "transition_not_allowed").await;
        // 15 days from Tuesday 1 December end on Wednesday 16: too early that day.
        let deposit = |on: &str| json!({"deposited_on": on, "savings_book_number": "TK-0915"});
        let early = run
            .refused(
                &app.officer(),
                "deposit_unclaimed_money",
                deposit("2026-12-16"),
                422,
                "validation_failed",
            )
            .await;
        assert!(
            super::common::error_reason(&early, "data.deposited_on").contains("Điều 126"),
            "{backend:?} {early}"
        );
        run.step(&app.officer(), "deposit_unclaimed_money", deposit("2026-12-17"), "kept_for_owner").await;
        // Five years from Monday 20 December 2021 end on Sunday 20 December 2026, so Monday 21.
        let forfeit = |on: &str| json!({"judgment_effective_on": "2021-12-20", "forfeited_on": on, "forfeiture_decision_number": "3/QĐ-SQ"});
        let early =
            run.refused(&app.head(), "forfeit", forfeit("2026-12-21"), 422, "validation_failed").await;
        let reason = super::common::error_reason(&early, "data.forfeited_on");
        assert!(
            reason.contains("60 months must pass and the window ends on 2026-12-21"),
            "{backend:?} {reason}"
        );
        let done = run.step(&app.head(), "forfeit", forfeit("2026-12-22"), "forfeited").await;
        assert_eq!(done["terminal"], true);
        run.verify(&auditor(&app), 8).await;
    }
}
