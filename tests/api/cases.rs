//! Cases, their money and the enforcement report, through HTTP on every backend.

use lienganh::domain::Role;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, TestApp};
use crate::scenarios::common::{add_agency, auditor, police, Run};

fn lc_officer(app: &TestApp) -> String {
    app.token("cb-lc", "THADS-LC", &[Role::EnforcementOfficer])
}

fn lc_head(app: &TestApp) -> String {
    app.token("ld-lc", "THADS-LC", &[Role::EnforcementHead])
}

/// A case of `office` numbered `number`, received on `received`, owing `due`.
pub fn case(office: &str, number: &str, received: &str, due: &str) -> Value {
    json!({
        "agency": office,
        "number": number,
        "judgment_ref": format!("Bản án số {number}/2025/DS-ST"),
        "court": if office == "THADS-HN" { "TAND-HN" } else { "TAND-LC" },
        "court_name": "Tòa án nhân dân",
        "category": "credit_bank",
        "obligor": {"name": "Nguyễn Văn Nợ", "id_number": "012345678901", "address": "Số 1, phố Cốc Lếu"},
        "obligee": {"name": "Ngân hàng TMCP Đầu tư và Phát triển", "address": "Lào Cai"},
        "amount_due": due,
        "received_on": received,
        "classification": "enforceable"
    })
}

/// Opens cases in batches of 500 and checks each batch is accepted whole.
pub async fn import(app: &TestApp, token: &str, cases: Vec<Value>) {
    for chunk in cases.chunks(500) {
        let r = app.post("/api/v1/cases/batch", token, &json!({"cases": chunk})).await;
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/reports/enforcement?{query}"), token).await;
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    r.json().await.unwrap()
}

async fn open_one(app: &TestApp, token: &str, body: &Value) -> Value {
    let r = app.post("/api/v1/cases", token, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// The seed figures: 22,041 of 22,669 enforceable cases and 385,296,980,000 of
/// 1,026,755,382,000 VND completed in the year give 97.23% and 37.53%, exactly.
#[tokio::test]
async fn the_seed_figures_come_out_exactly() {
    for backend in backends() {
        let app = spawn(backend).await;
        let officer = lc_officer(&app);
        let mut cases = Vec::new();
        // 22,041 cases of 10,000,000 VND each, paid in full during the 2025 reporting year.
        for i in 0..22_041 {
            let mut c = case("THADS-LC", &format!("X{i}"), "2024-10-15", "10000000");
            c["payments"] = json!([{"amount": "10000000", "paid_on": "2025-03-20", "method": "transfer"}]);
            cases.push(c);
        }
        // 628 cases still open: 627 of one billion, one of 179,345,382,000 of which
        // 164,886,980,000 was collected.
        for i in 0..627 {
            cases.push(case("THADS-LC", &format!("O{i}"), "2024-11-02", "1000000000"));
        }
        let mut big = case("THADS-LC", "O627", "2025-01-06", "179345382000");
        big["payments"] =
            json!([{"amount": "164886980000", "paid_on": "2025-09-30", "method": "asset_sale"}]);
        cases.push(big);
        import(&app, &officer, cases).await;

        let r = app
            .put(
                "/api/v1/targets/THADS-LC/2025",
                &lc_head(&app),
                &json!({"cases_rate": "84", "money_rate": "45"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);

        let body = report(&app, &officer, "agency=THADS-LC&year=2025").await;
        let c = &body["cases"];
        assert_eq!(
            (c["total"].as_i64(), c["new"].as_i64(), c["carried_over"].as_i64()),
            (Some(22_669), Some(22_669), Some(0))
        );
        assert_eq!(c["enforceable"], 22_669);
        assert_eq!(c["completed"], 22_041);
        assert_eq!(c["rate"], "97.23");
        assert_eq!(c["target"], "84");
        assert_eq!(c["gap"], "13.23");
        let m = &body["money"];
        assert_eq!(m["enforceable"], "1026755382000");
        assert_eq!(m["completed"], "385296980000");
        assert_eq!(m["rate"], "37.53");
        assert_eq!(m["gap"], "-7.47");
        assert_eq!((body["from"].as_str(), body["to"].as_str()), (Some("2024-10-01"), Some("2025-09-30")));

        // The next year: what was left is carried over, nothing completed yet.
        let next = report(&app, &officer, "agency=THADS-LC&year=2026").await;
        assert_eq!(next["cases"]["carried_over"], 628);
        assert_eq!(next["cases"]["new"], 0);
        assert_eq!(next["money"]["carried_over"], "641458402000");
        assert_eq!(next["cases"]["rate"], "0.00");

        // The same figures from/to a period of one's own, read partly from the cases
        // themselves: 1 Oct 2024 to 20 Sep 2025 leaves out the last payment only.
        let part = report(&app, &officer, "agency=THADS-LC&from=2024-10-01&to=2025-09-20").await;
        assert_eq!(part["cases"]["completed"], 22_041);
        assert_eq!(part["money"]["completed"], "220410000000");
        assert_eq!(part["cases"]["target"], Value::Null);

        // CSV, by query and by Accept, carries the same figures as the JSON.
        for (query, accept) in
            [("agency=THADS-LC&year=2025&format=csv", "*/*"), ("agency=THADS-LC&year=2025", "text/csv")]
        {
            let r = app
                .client
                .get(app.url(&format!("/api/v1/reports/enforcement?{query}")))
                .bearer_auth(&officer)
                .header("Accept", accept)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
            let text = r.text().await.unwrap();
            // A byte-order mark first, so that Excel reads the text as UTF-8.
            let text = text.strip_prefix('\u{FEFF}').expect("a UTF-8 byte-order mark");
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let headers = reader.headers().unwrap().clone();
            let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
            assert_eq!(rows.len(), 1);
            let field = |name: &str| rows[0][headers.iter().position(|h| h == name).unwrap()].to_owned();
            assert_eq!(field("agency"), "THADS-LC");
            for (name, section, key) in [
                ("cases_total", "cases", "total"),
                ("cases_enforceable", "cases", "enforceable"),
                ("cases_completed", "cases", "completed"),
                ("cases_rate", "cases", "rate"),
                ("cases_gap", "cases", "gap"),
                ("money_total", "money", "total"),
                ("money_enforceable", "money", "enforceable"),
                ("money_completed", "money", "completed"),
                ("money_rate", "money", "rate"),
                ("money_target", "money", "target"),
            ] {
                let json = match &body[section][key] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(field(name), json, "{name}");
            }
        }
        let r = app
            .client
            .get(app.url("/api/v1/reports/enforcement?agency=THADS-LC"))
            .bearer_auth(&officer)
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap();
        expect_problem(r, 406, "not_acceptable").await;
    }
}

/// A case completed on 30 September falls in one reporting year, one completed on 1 October
/// in the next; each office is reported on its own under the province.
#[tokio::test]
async fn a_reporting_year_ends_on_30_september() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_agency(&app, "THADS-LC-KV1", "enforcement", "Phòng THADS khu vực 1 - Lào Cai", Some("THADS-LC"))
            .await;
        let officer = lc_officer(&app);
        let mut a = case("THADS-LC", "A1", "2025-05-01", "5000000");
        a["payments"] = json!([{"amount": "5000000", "paid_on": "2025-09-30", "method": "cash"}]);
        let mut b = case("THADS-LC-KV1", "B1", "2025-05-01", "7000000.50");
        b["payments"] = json!([{"amount": "7000000.50", "paid_on": "2025-10-01", "method": "cash"}]);
        import(&app, &officer, vec![a, b]).await;

        let y2025 = report(&app, &officer, "agency=THADS-LC&year=2025&offices=true").await;
        assert_eq!(y2025["cases"]["enforceable"], 2);
        assert_eq!(y2025["cases"]["completed"], 1);
        assert_eq!(y2025["money"]["completed"], "5000000");
        assert_eq!(y2025["money"]["enforceable"], "12000000.5");
        let offices = y2025["offices"].as_array().unwrap();
        let kv1 = offices.iter().find(|o| o["agency"] == "THADS-LC-KV1").unwrap();
        assert_eq!(kv1["parent"], "THADS-LC");
        assert_eq!(kv1["cases"]["completed"], 0);
        assert_eq!(kv1["cases"]["rate"], "0.00");

        let y2026 = report(&app, &officer, "agency=THADS-LC&year=2026").await;
        assert_eq!(y2026["cases"]["carried_over"], 1);
        assert_eq!(y2026["cases"]["completed"], 1);
        assert_eq!(y2026["money"]["carried_over"], "7000000.5");
        assert_eq!(y2026["money"]["completed"], "7000000.5");
        assert_eq!(y2026["cases"]["rate"], "100.00");

        // The regional office sees its own figures, not the province's.
        let kv1_officer = app.token("cb-kv1", "THADS-LC-KV1", &[Role::EnforcementOfficer]);
        let own = report(&app, &kv1_officer, "year=2026").await;
        assert_eq!(own["agency"], "THADS-LC-KV1");
        assert_eq!(own["cases"]["completed"], 1);
        let r = app.get("/api/v1/reports/enforcement?agency=THADS-LC&year=2026", &kv1_officer).await;
        expect_problem(r, 404, "not_found").await;
        // The procuracy supervises: any office, and the whole country.
        let vks = app.token("vks-lc", "VKS-LC", &[Role::ProcuracyInspector]);
        let all = report(&app, &vks, "year=2026").await;
        assert_eq!(all["agency"], Value::Null);
        assert_eq!(all["cases"]["completed"], 1);
        let r = app.get("/api/v1/reports/enforcement?year=1999", &vks).await;
        expect_problem(r, 422, "validation_failed").await;
        let r = app.get("/api/v1/reports/enforcement?from=2025-10-01", &vks).await;
        expect_problem(r, 422, "validation_failed").await;
    }
}

/// Payments add up exactly; more than is due is refused; a correction is a reversing entry
/// that reopens a completed case; everything is in the case's verified history.
#[tokio::test]
async fn payments_are_exact_never_edited_and_never_exceed_what_is_due() {
    for backend in backends() {
        let app = spawn(backend).await;
        let officer = app.officer();
        let body = {
            let mut c = case("THADS-HN", "1520", "2026-08-03", "1302149296000");
            c["classification"] = json!("unclassified");
            c
        };
        let opened = open_one(&app, &officer, &body).await;
        let id = opened["id"].as_str().unwrap().to_owned();
        assert_eq!(opened["amount_due"], "1302149296000");
        assert_eq!(opened["carried_over"], true, "received before 1 October 2026");
        let path = format!("/api/v1/cases/{id}/payments");
        let pay = |amount: &str, day: &str| json!({"amount": amount, "paid_on": day, "method": "transfer"});

        let r = app.post(&path, &officer, &pay("1302149295999.99", "2026-09-01")).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let first: Value = r.json().await.unwrap();
        assert_eq!(first["case"]["outstanding"], "0.01");
        assert_eq!(first["case"]["status"], "open");
        let r = app.post(&path, &officer, &pay("0.02", "2026-09-02")).await;
        let problem = expect_problem(r, 422, "over_collection").await;
        assert!(problem["detail"].as_str().unwrap().contains("0.01 is outstanding"), "{problem}");

        // The last cent completes the case, which then counts as enforceable.
        let r = app.post(&path, &officer, &pay("0.01", "2026-09-03")).await;
        let done: Value = r.json().await.unwrap();
        assert_eq!(done["case"]["status"], "completed");
        assert_eq!(done["case"]["closed_on"], "2026-09-03");
        assert_eq!(done["case"]["classification"], "enforceable");
        let r = app.post(&path, &officer, &pay("1", "2026-09-04")).await;
        expect_problem(r, 422, "case_closed").await;

        // A correction: the first entry is reversed, which reopens the case.
        let first_id = first["payment"]["id"].as_str().unwrap();
        let reversal = json!({"amount": "1302149295999.99", "paid_on": "2026-09-05", "method": "transfer",
            "reverses": first_id, "note": "Chuyển khoản nhầm"});
        let r = app.post(&path, &officer, &reversal).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let reversed: Value = r.json().await.unwrap();
        assert_eq!(reversed["payment"]["amount"], "-1302149295999.99");
        assert_eq!(reversed["case"]["status"], "open");
        assert_eq!(reversed["case"]["collected"], "0.01");
        let r = app.post(&path, &officer, &reversal).await;
        expect_problem(r, 422, "validation_failed").await;

        // Payments cannot be edited in the database either.
        let sql = format!("UPDATE payments SET amount = '1' WHERE case_id = '{id}'");
        assert!(app.try_sql(&sql).is_err(), "payments are append-only");

        let history: Value =
            app.get(&format!("/api/v1/cases/{id}/history"), &officer).await.json().await.unwrap();
        let kinds: Vec<&str> =
            history["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["opened", "payment", "payment", "status", "status", "payment"]);
        assert_eq!(history["payments"].as_array().unwrap().len(), 3);
        assert!(!history.to_string().contains("Nguyễn Văn Nợ"), "the history holds no personal data");
        let verified: Value =
            app.get(&format!("/api/v1/cases/{id}/history/verify"), &officer).await.json().await.unwrap();
        assert_eq!(verified["valid"], true, "{verified}");
        assert_eq!(verified["events"], 6);

        // Someone changes the obligor by hand: the verification says so.
        app.sql(&format!("UPDATE cases SET obligor = '{{\"name\":\"X\"}}' WHERE id = '{id}'"));
        let verified: Value =
            app.get(&format!("/api/v1/cases/{id}/history/verify"), &officer).await.json().await.unwrap();
        assert_eq!(verified["valid"], false);
        assert_eq!(verified["first_broken_seq"], 1);

        // Stale versions, wrong roles, wrong agencies.
        let status = json!({"status": "suspended", "on": "2026-09-10", "basis": "QĐ hoãn số 3", "expected_version": 1});
        let r = app.post(&format!("/api/v1/cases/{id}/status"), &officer, &status).await;
        expect_problem(r, 409, "version_conflict").await;
        let r = app.post(&path, &app.court(), &pay("1", "2026-09-04")).await;
        expect_problem(r, 403, "forbidden").await;
        let r = app.post(&path, &lc_officer(&app), &pay("1", "2026-09-04")).await;
        expect_problem(r, 404, "not_found").await;
        let r = app
            .post(&path, &officer, &json!({"amount": 1.5, "paid_on": "2026-09-04", "method": "cash"}))
            .await;
        expect_problem(r, 422, "validation_failed").await;
        let r = app.post(&path, &officer, &pay("1", "2099-01-01")).await;
        expect_problem(r, 422, "validation_failed").await;
    }
}

/// The obligor and obligee are the case's office's, its court's and the auditors' to read: a
/// police liaison sees a case it takes part in without them, and no other case at all.
#[tokio::test]
async fn personal_data_stays_with_the_case_s_agencies() {
    for backend in backends() {
        let app = spawn(backend).await;
        let opened = open_one(&app, &app.officer(), &case("THADS-HN", "77", "2026-08-03", "5000000")).await;
        let id = opened["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/cases/{id}");
        let r = app.get(&path, &police(&app)).await;
        expect_problem(r, 404, "not_found").await;

        // The police take part in an evidence handover of the case: they see the case, not
        // the people in it.
        let request = json!({
            "workflow": "evidence_handover",
            "case_id": id,
            "parties": {"police": "CA-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
            "data": {"judgment_number": "56/2026/HS-ST", "decision_number": "112/QĐ-THADS", "requested_on": "2026-11-16"}
        });
        let r = app.post("/api/v1/instances", &app.officer(), &request).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        for (token, sees) in [
            (police(&app), false),
            (app.admin(), false),
            (app.officer(), true),
            (app.court(), true),
            (auditor(&app), true),
        ] {
            let r = app.get(&path, &token).await;
            assert_eq!(r.status(), StatusCode::OK);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["personal_data_withheld"], !sees);
            assert_eq!(body["obligor"].is_object(), sees, "{body}");
            assert_eq!(body.to_string().contains("012345678901"), sees);
        }
        let list: Value = app.get("/api/v1/cases", &app.officer()).await.json().await.unwrap();
        assert_eq!(list["items"][0]["obligor"]["name"], "Nguyễn Văn Nợ");
        let list: Value = app.get("/api/v1/cases", &police(&app)).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
        // An instance cannot be tied to a case its starter cannot see.
        let mut request = request.clone();
        request["parties"] = json!({"police": "CA-HN", "enforcement": "THADS-LC", "procuracy": "VKS-LC"});
        let r = app.post("/api/v1/instances", &lc_officer(&app), &request).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// The verification's classification and a coercion's amount collected reach the case.
#[tokio::test]
async fn steps_of_the_workflows_update_the_case() {
    for backend in backends() {
        let app = spawn(backend).await;
        let officer = app.officer();
        let mut body = case("THADS-HN", "1520", "2026-07-20", "3000000000");
        body["classification"] = json!("unclassified");
        let opened = open_one(&app, &officer, &body).await;
        let id = opened["id"].as_str().unwrap().to_owned();

        let request = json!({
            "workflow": "condition_verification",
            "case_id": id,
            "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
            "data": {"decision_number": "1520/QĐ-CTHADS", "decision_sent_date": "2026-07-31"}
        });
        let mut run = Run::start(&app, &officer, request, "awaiting_service").await;
        run.step(
            &officer,
            "record_service",
            json!({"served_on": "2026-08-03", "service_channel": "in_person"}),
            "voluntary_period",
        )
        .await;
        run.step(
            &officer,
            "start_verification",
            json!({"voluntary_period_ended": "2026-08-13"}),
            "verifying",
        )
        .await;
        run.step(
            &app.head(),
            "classify_enforceable",
            json!({"verification_date": "2026-08-20", "findings": "Có nhà đất"}),
            "enforceable",
        )
        .await;
        let case: Value = app.get(&format!("/api/v1/cases/{id}"), &officer).await.json().await.unwrap();
        assert_eq!(case["classification"], "enforceable");

        let plan = json!({
            "workflow": "coercion_plan",
            "case_id": id,
            "reference_date": "2026-11-02",
            "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN"},
            "data": {"case_reference": "1520/QĐ-CTHADS", "measure": "seize_property",
                     "location": "Đông Anh", "estimated_cost": "45000000", "complex": false}
        });
        add_agency(&app, "UBND-X-DONGANH", "people_committee", "UBND xã Đông Anh", None).await;
        let mut plan = plan.clone();
        plan["parties"]["commune"] = json!("UBND-X-DONGANH");
        let mut run = Run::start(&app, &officer, plan, "drafted").await;
        let approval = app.with_pdf(&app.head(), "decision_file", json!({"approved_on": "2026-11-02"})).await;
        run.step(&app.head(), "approve", approval, "approved").await;
        run.step(
            &officer,
            "send",
            json!({"sent_on": "2026-11-02", "dispatch_number": "77/THADS-CC"}),
            "sent",
        )
        .await;
        run.step(
            &police(&app),
            "confirm_protection",
            json!({"protection_plan_number": "15/KH-CAHN", "officers": 24}),
            "protection_confirmed",
        )
        .await;
        run.step(&app.head(), "schedule", json!({"scheduled_at": "2026-11-10T08:00:00+07:00"}), "scheduled")
            .await;
        let execution = |amount: &str| {
            json!({"executed_at": "2026-11-10T10:30:00+07:00", "amount_collected": amount,
                   "actual_cost": "38500000", "result": "Đã kê biên"})
        };
        // More than is owed: the step is refused and nothing changes.
        let r = app.fire(&run.id, &officer, "execute", run.version, execution("3000000001")).await;
        expect_problem(r, 422, "over_collection").await;
        run.step(&officer, "execute", execution("1200000000"), "executed").await;
        let case: Value = app.get(&format!("/api/v1/cases/{id}"), &officer).await.json().await.unwrap();
        assert_eq!(case["collected"], "1200000000");
        assert_eq!(case["outstanding"], "1800000000");
        let history: Value =
            app.get(&format!("/api/v1/cases/{id}/history"), &officer).await.json().await.unwrap();
        let payment = &history["payments"][0];
        assert_eq!(payment["method"], "coercion");
        assert_eq!(payment["instance_id"], run.id.as_str());
        assert_eq!(payment["paid_on"], "2026-11-10");

        // Lào Cai takes part in a transfer of the case, so it sees the case; it may not change
        // it through a workflow of its own any more than directly.
        let mut transfer = crate::helpers::transfer_request("standard");
        transfer["case_id"] = json!(id);
        transfer["parties"] = json!({"court": "TAND-HN", "enforcement": "THADS-LC", "procuracy": "VKS-LC"});
        let r = app.post("/api/v1/instances", &app.court(), &transfer).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        let seen: Value =
            app.get(&format!("/api/v1/cases/{id}"), &lc_officer(&app)).await.json().await.unwrap();
        assert_eq!(seen["personal_data_withheld"], true);
        let request = json!({
            "workflow": "condition_verification",
            "case_id": id,
            "parties": {"enforcement": "THADS-LC", "procuracy": "VKS-LC"},
            "data": {"decision_number": "9/QĐ-CTHADS", "decision_sent_date": "2026-07-31"}
        });
        let mut run = Run::start(&app, &lc_officer(&app), request, "awaiting_service").await;
        let served = json!({"served_on": "2026-08-03", "service_channel": "in_person"});
        run.step(&lc_officer(&app), "record_service", served, "voluntary_period").await;
        let paid = json!({"compliance_date": "2026-08-05", "amount_paid": "1800000000"});
        let r = app.fire(&run.id, &lc_officer(&app), "record_voluntary_compliance", run.version, paid).await;
        expect_problem(r, 403, "forbidden").await;
        let case: Value = app.get(&format!("/api/v1/cases/{id}"), &officer).await.json().await.unwrap();
        assert_eq!((case["status"].as_str(), case["collected"].as_str()), (Some("open"), Some("1200000000")));
    }
}

/// What a report should say, counted from the cases and their payments one by one.
fn recount(
    cases: &[(Value, Vec<Value>)],
    from: &str,
    to: &str,
) -> (i64, i64, i64, i64, Decimal, Decimal, Decimal) {
    let (mut total, mut carried, mut enforceable, mut completed) = (0, 0, 0, 0);
    let (mut money_total, mut money_enforceable, mut money_completed) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (case, payments) in cases {
        let received = case["received_on"].as_str().unwrap();
        let closed = case["closed_on"].as_str();
        if received > to || closed.is_some_and(|c| c < from) {
            continue;
        }
        let due: Decimal = case["amount_due"].as_str().unwrap().parse().unwrap();
        let paid = |pred: &dyn Fn(&str) -> bool| -> Decimal {
            payments
                .iter()
                .filter(|p| pred(p["paid_on"].as_str().unwrap()))
                .map(|p| p["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
                .sum()
        };
        let owed = if received < from { due - paid(&|d| d < from) } else { due };
        total += 1;
        money_total += owed;
        if received < from {
            carried += 1;
        }
        if case["classification"] == "enforceable" {
            enforceable += 1;
            money_enforceable += owed;
            money_completed += paid(&|d| d >= from && d <= to);
            if case["status"] == "completed" && closed.is_some_and(|c| c >= from && c <= to) {
                completed += 1;
            }
        }
    }
    (total, carried, enforceable, completed, money_total, money_enforceable, money_completed)
}

/// Random payments, reversals, classifications and outcomes over a few dozen cases: the
/// figures kept as running sums equal a recount from the cases themselves, for whole years and
/// for a period that starts and ends inside months.
#[tokio::test]
async fn the_kept_figures_match_a_recount() {
    use rand::{Rng, SeedableRng};
    for backend in backends() {
        let app = spawn(backend).await;
        let officer = lc_officer(&app);
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let day = |rng: &mut rand::rngs::StdRng, from: chrono::NaiveDate| {
            let last = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
            from + chrono::Duration::days(rng.random_range(0..=(last - from).num_days()))
        };
        let start = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let mut ids = Vec::new();
        for i in 0..30 {
            let mut c = case("THADS-LC", &format!("R{i}"), &day(&mut rng, start).to_string(), "");
            c["amount_due"] =
                json!(format!("{}.{:02}", rng.random_range(1..1_000_000_000u64), rng.random_range(0..100)));
            c["classification"] = json!(["enforceable", "not_yet_enforceable", "unclassified"][i % 3]);
            ids.push(open_one(&app, &officer, &c).await["id"].as_str().unwrap().to_owned());
        }
        let mut accepted = std::collections::BTreeMap::<&str, i32>::new();
        for _ in 0..120 {
            let id = &ids[rng.random_range(0..ids.len())];
            let c: Value = app.get(&format!("/api/v1/cases/{id}"), &officer).await.json().await.unwrap();
            let received: chrono::NaiveDate = c["received_on"].as_str().unwrap().parse().unwrap();
            let outstanding: Decimal = c["outstanding"].as_str().unwrap().parse().unwrap();
            let on = day(&mut rng, received).to_string();
            let (path, body) = match rng.random_range(0..10) {
                0..4 if !outstanding.is_zero() => {
                    let share =
                        [Decimal::ONE, Decimal::new(5, 1), Decimal::new(1, 1)][rng.random_range(0..3)];
                    let amount = (outstanding * share).round_dp(2).max(Decimal::new(1, 2));
                    ("payments", json!({"amount": amount.to_string(), "paid_on": on, "method": "cash"}))
                }
                4 => {
                    let h: Value =
                        app.get(&format!("/api/v1/cases/{id}/history"), &officer).await.json().await.unwrap();
                    let Some(p) = h["payments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|p| !p["amount"].as_str().unwrap().starts_with('-'))
                    else {
                        continue;
                    };
                    (
                        "payments",
                        json!({"amount": p["amount"], "paid_on": on, "method": "cash", "reverses": p["id"]}),
                    )
                }
                5 | 6 => {
                    let class =
                        ["enforceable", "not_yet_enforceable", "unclassified"][rng.random_range(0..3)];
                    (
                        "classification",
                        json!({"classification": class, "on": on, "basis": "Biên bản xác minh"}),
                    )
                }
                _ => {
                    let status =
                        ["completed", "terminated", "entrusted", "suspended", "open"][rng.random_range(0..5)];
                    ("status", json!({"status": status, "on": on, "basis": "Quyết định"}))
                }
            };
            // Refusals (a closed case, a date before the last payment...) are part of the game;
            // whatever was accepted must be in the figures.
            let r = app.post(&format!("/api/v1/cases/{id}/{path}"), &officer, &body).await;
            assert!(r.status().is_success() || r.status().is_client_error(), "{}", r.status());
            if r.status().is_success() {
                *accepted.entry(path).or_default() += 1;
            }
        }
        assert!(
            accepted.values().all(|n| *n >= 8) && accepted.len() == 3,
            "too little happened: {accepted:?}"
        );
        let mut cases = Vec::new();
        for id in &ids {
            let c: Value = app.get(&format!("/api/v1/cases/{id}"), &officer).await.json().await.unwrap();
            let h: Value =
                app.get(&format!("/api/v1/cases/{id}/history"), &officer).await.json().await.unwrap();
            let v: Value =
                app.get(&format!("/api/v1/cases/{id}/history/verify"), &officer).await.json().await.unwrap();
            assert_eq!(v["valid"], true, "{v}");
            cases.push((c, h["payments"].as_array().unwrap().clone()));
        }
        let mut completed_somewhere = false;
        for (query, from, to) in [
            ("year=2025", "2024-10-01", "2025-09-30"),
            ("year=2026", "2025-10-01", "2026-09-30"),
            ("year=2027", "2026-10-01", "2027-09-30"),
            ("from=2025-02-17&to=2026-03-09", "2025-02-17", "2026-03-09"),
        ] {
            let r = report(&app, &officer, &format!("agency=THADS-LC&{query}")).await;
            let expected = recount(&cases, from, to);
            let dec = |v: &Value| v.as_str().unwrap().parse::<Decimal>().unwrap();
            let got = (
                r["cases"]["total"].as_i64().unwrap(),
                r["cases"]["carried_over"].as_i64().unwrap(),
                r["cases"]["enforceable"].as_i64().unwrap(),
                r["cases"]["completed"].as_i64().unwrap(),
                dec(&r["money"]["total"]),
                dec(&r["money"]["enforceable"]),
                dec(&r["money"]["completed"]),
            );
            assert_eq!(got, expected, "{query}");
            completed_somewhere |= got.3 > 0;
        }
        assert!(completed_somewhere);
    }
}
