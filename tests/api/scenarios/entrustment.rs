//! entrustment: a Hà Nội enforcement office entrusts a case to an office where the obligor's
//! assets are; the receiving office issues its decision and reports the outcome. Under Law
//! 106/2025 there is no entrustment between regional offices of one province.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{
    add_regional_offices, auditor, error_fields, error_reason, head_of, officer_of, Run, REGIONAL_1,
    REGIONAL_2,
};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

fn request(entrusting: &str, receiving: &str, reference_date: &str) -> Value {
    json!({
        "workflow": "entrustment",
        "reference_date": reference_date,
        "parties": {"entrusting": entrusting, "receiving": receiving, "procuracy": "VKS-HN"},
        "data": {
            "case_reference": "1520/QĐ-CTHADS",
            "grounds": "Người phải thi hành án có quyền sử dụng đất tại thành phố Lào Cai",
            "grounds_date": reference_date
        }
    })
}

fn entrust(date: &str) -> Value {
    json!({
        "entrustment_decision_number": "12/QĐ-UTTHA",
        "entrusted_on": date,
        "documents": [
            {"description": "Quyết định ủy thác", "quantity": "1", "unit": "bản"},
            {"description": "Bản án phúc thẩm 47/2026/DS-PT", "quantity": "1", "unit": "bản"}
        ]
    })
}

/// Entrusted, accepted by the receiving office, outcome reported.
async fn walk_to_reported(app: &TestApp, run: &mut Run<'_>, entrusting: &str, receiving: &str, date: &str) {
    run.step(&head_of(app, entrusting), "entrust", entrust(date), "entrusted").await;
    run.step(
        &head_of(app, receiving),
        "issue_decision",
        json!({"receiving_decision_number": "305/QĐ-THADS", "receiving_decision_date": date}),
        "accepted",
    )
    .await;
    let reported = run
        .step(
            &officer_of(app, receiving),
            "report_outcome",
            json!({"outcome": "partly_completed", "amount_collected": "650000000", "reported_on": date}),
            "reported",
        )
        .await;
    assert_eq!(reported["terminal"], true);
    assert_eq!(reported["data"]["amount_collected"], "650000000");
}

/// Under Law 26/2008: Hà Nội entrusts to Lào Cai, which decides and reports.
#[tokio::test]
async fn a_2008_entrustment_to_another_province() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run =
            Run::start(&app, &app.head(), request("THADS-HN", "THADS-LC", "2026-05-04"), "grounds_arisen")
                .await;
        assert_eq!(run.last["workflow_version"], 1);
        walk_to_reported(&app, &mut run, "THADS-HN", "THADS-LC", "2026-05-08").await;

        let history = run.history(&head_of(&app, "THADS-LC")).await;
        let actors: Vec<(&str, &str, &str)> =
            history.iter().map(|(t, a, r)| (t.as_str(), a.as_str(), r.as_str())).collect();
        assert_eq!(
            actors,
            [
                ("create", "THADS-HN", "enforcement_head"),
                ("entrust", "THADS-HN", "enforcement_head"),
                ("issue_decision", "THADS-LC", "enforcement_head"),
                ("report_outcome", "THADS-LC", "enforcement_officer"),
            ]
        );
        run.verify(&app.procuracy(), 4).await;
    }
}

/// Two regional offices of Hà Nội: allowed under Law 26/2008, refused under Law 106/2025,
/// where a regional office may still entrust to another province's office.
#[tokio::test]
async fn regional_offices_of_one_province_cannot_entrust_under_the_2025_law() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_offices(&app).await;

        // v2: refused, naming the slot.
        let r = app
            .post(
                "/api/v1/instances",
                &head_of(&app, REGIONAL_1),
                &request(REGIONAL_1, REGIONAL_2, "2026-08-03"),
            )
            .await;
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["parties.receiving"], "{problem}");
        let reason = error_reason(&problem, "parties.receiving");
        assert!(reason.contains(REGIONAL_1) && reason.contains(REGIONAL_2), "{reason}");
        assert!(reason.contains("106/2025"), "{reason}");
        // A regional office and its own provincial office are one province as well.
        let r =
            app.post("/api/v1/instances", &app.head(), &request("THADS-HN", REGIONAL_2, "2026-08-03")).await;
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["parties.receiving"]);

        // v2: to Lào Cai is fine, and walks to its end.
        let mut run = Run::start(
            &app,
            &head_of(&app, REGIONAL_1),
            request(REGIONAL_1, "THADS-LC", "2026-08-03"),
            "grounds_arisen",
        )
        .await;
        assert_eq!(run.last["workflow_version"], 2);
        walk_to_reported(&app, &mut run, REGIONAL_1, "THADS-LC", "2026-08-07").await;
        run.verify(&head_of(&app, REGIONAL_1), 4).await;

        // v1 (1 May 2026): the same pair of regional offices is accepted.
        let mut old = Run::start(
            &app,
            &head_of(&app, REGIONAL_1),
            request(REGIONAL_1, REGIONAL_2, "2026-05-01"),
            "grounds_arisen",
        )
        .await;
        assert_eq!(old.last["workflow_version"], 1);
        walk_to_reported(&app, &mut old, REGIONAL_1, REGIONAL_2, "2026-05-06").await;
        old.verify(&head_of(&app, REGIONAL_2), 4).await;

        // Only the accepted ones exist.
        let page: Value =
            app.get("/api/v1/instances?workflow=entrustment", &auditor(&app)).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
    }
}

/// The receiving office returns the entrustment; the entrusting office drops it.
#[tokio::test]
async fn a_returned_entrustment_is_dropped() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut run =
            Run::start(&app, &app.head(), request("THADS-HN", "THADS-LC", "2026-09-01"), "grounds_arisen")
                .await;
        run.step(&app.head(), "entrust", entrust("2026-09-04"), "entrusted").await;
        // Only the receiving office returns it.
        run.refused(&app.head(), "return_entrustment", json!({"return_reason": "x"}), 403, "forbidden").await;
        run.step(
            &head_of(&app, "THADS-LC"),
            "return_entrustment",
            json!({"return_reason": "Tài sản đã được chuyển nhượng trước khi kê biên; không thuộc thẩm quyền"}),
            "grounds_arisen",
        )
        .await;
        // Once returned, Lào Cai has nothing to do; Hà Nội may entrust again or drop it.
        assert_eq!(run.available(&head_of(&app, "THADS-LC")).await, Vec::<String>::new());
        assert_eq!(run.available(&app.head()).await, ["entrust", "cancel"]);
        let dropped = run
            .step(
                &app.head(),
                "cancel",
                json!({"cancel_reason": "Người phải thi hành án đã nộp đủ tiền"}),
                "cancelled",
            )
            .await;
        assert_eq!(dropped["terminal"], true);
        run.verify(&app.procuracy(), 4).await;
    }
}

#[tokio::test]
async fn refusals_of_role_party_and_state() {
    for backend in backends() {
        let app = spawn(backend).await;
        // The receiving office cannot start an entrustment on Hà Nội's behalf.
        let hn_to_lc = request("THADS-HN", "THADS-LC", "2026-09-01");
        expect_problem(
            app.post("/api/v1/instances", &head_of(&app, "THADS-LC"), &hn_to_lc).await,
            403,
            "forbidden",
        )
        .await;
        // A court in an enforcement office's slot.
        let to_court = request("THADS-HN", "TAND-LC", "2026-09-01");
        let problem = expect_problem(
            app.post("/api/v1/instances", &app.head(), &to_court).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["parties.receiving"]);
        assert!(error_reason(&problem, "parties.receiving").contains("court"), "{problem}");

        let mut run = Run::start(&app, &app.officer(), hn_to_lc, "grounds_arisen").await;
        // Only the head decides the entrustment.
        run.refused(&app.officer(), "entrust", entrust("2026-09-04"), 403, "forbidden").await;
        // Nothing to decide before it is entrusted.
        run.refused(
            &head_of(&app, "THADS-LC"),
            "issue_decision",
            json!({"receiving_decision_number": "1", "receiving_decision_date": "2026-09-05"}),
            422,
            "transition_not_allowed",
        )
        .await;
        // The Lào Cai procuracy is no party.
        let vks_lc = app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector]);
        expect_problem(app.get(&run.path(""), &vks_lc).await, 404, "not_found").await;
        run.step(&app.head(), "entrust", entrust("2026-09-04"), "entrusted").await;
        run.verify(&auditor(&app), 2).await;
    }
}

/// The case figures of an office's enforcement report for reporting year 2027.
async fn cases_of(app: &TestApp, office: &str) -> Value {
    let r = app.get(&format!("/api/v1/reports/enforcement?agency={office}&year=2027"), &auditor(app)).await;
    let body: Value = r.json().await.unwrap();
    json!({"new": body["cases"]["new"], "entrusted": body["cases"]["entrusted"], "money_new": body["money"]["new"]})
}

/// When the receiving office takes the entrustment up, the case closes as entrusted at the
/// entrusting office and opens at the receiving one for what is outstanding: each office's
/// report counts it as it should.
#[tokio::test]
async fn the_case_moves_to_the_receiving_office_with_what_is_outstanding() {
    for backend in backends() {
        let app = spawn(backend).await;
        let case = crate::cases::case("THADS-HN", "THA-1520/2026", "2026-10-05", "900000000");
        let case: Value = app.post("/api/v1/cases", &app.officer(), &case).await.json().await.unwrap();
        let case_id = case["id"].as_str().unwrap().to_owned();
        let pay = json!({"amount": "100000000", "paid_on": "2026-10-15", "method": "transfer"});
        app.post(&format!("/api/v1/cases/{case_id}/payments"), &app.officer(), &pay).await;
        assert_eq!(cases_of(&app, "THADS-LC").await, json!({"new": 0, "entrusted": 0, "money_new": "0"}));

        let mut request = request("THADS-HN", "THADS-LC", "2026-10-20");
        request["case_id"] = json!(case_id);
        let mut run = Run::start(&app, &app.head(), request, "grounds_arisen").await;
        assert_eq!(run.last["workflow_version"], 2);
        run.step(&app.head(), "entrust", entrust("2026-10-22"), "entrusted").await;
        let taken =
            json!({"receiving_decision_number": "305/QĐ-THADS", "receiving_decision_date": "2026-10-26"});
        run.step(&head_of(&app, "THADS-LC"), "issue_decision", taken, "accepted").await;

        let sent: Value =
            app.get(&format!("/api/v1/cases/{case_id}"), &app.head()).await.json().await.unwrap();
        assert_eq!(
            (sent["status"].as_str(), sent["closed_on"].as_str()),
            (Some("entrusted"), Some("2026-10-26"))
        );
        let history: Value =
            app.get(&format!("/api/v1/cases/{case_id}/history"), &app.head()).await.json().await.unwrap();
        let closed = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(closed["data"]["source"]["agency"], "THADS-LC", "{history}");
        let received_id = closed["data"]["source"]["case_id"].as_str().unwrap().to_owned();

        let lao_cai = head_of(&app, "THADS-LC");
        let received: Value =
            app.get(&format!("/api/v1/cases/{received_id}"), &lao_cai).await.json().await.unwrap();
        assert_eq!(received["agency"], "THADS-LC", "{backend:?} {received}");
        assert_eq!(received["number"], "305/QĐ-THADS");
        assert_eq!(received["amount_due"], "800000000");
        assert_eq!(received["received_on"], "2026-10-26");
        assert_eq!(received["status"], "open");
        assert_eq!(
            received["obligor"]["name"], "Nguyễn Văn Nợ",
            "the receiving office sees whom it enforces"
        );
        let verified: Value = app
            .get(&format!("/api/v1/cases/{received_id}/history/verify"), &lao_cai)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(verified["valid"], true, "{verified}");

        assert_eq!(
            cases_of(&app, "THADS-LC").await,
            json!({"new": 1, "entrusted": 0, "money_new": "800000000"})
        );
        let hanoi = cases_of(&app, "THADS-HN").await;
        assert_eq!((hanoi["new"].clone(), hanoi["entrusted"].clone()), (json!(1), json!(1)), "{hanoi}");
    }
}
