//! information_request: while verifying a case's conditions under Law 106/2025, the Hà Nội
//! office asks a bank and the land registry at once: one request each, linked to the
//! verification, each answered by the agency asked with its papers, or left to run past its
//! deadline. The classification waits until every request is answered or past its deadline.

use lienganh::domain::Role;
use serde_json::{json, Value};

use super::common::{add_agency, auditor, deadline, notified, police, Run};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

const REGISTRY: &str = "VPDKDD-HN";
const BANK: &str = "NH-VCB-HN";
const OTHER_BANK: &str = "NH-BIDV-HN";

async fn add_asked_agencies(app: &TestApp) {
    add_agency(app, REGISTRY, "land_registry", "Văn phòng Đăng ký đất đai Hà Nội", None).await;
    add_agency(app, BANK, "credit_institution", "Ngân hàng Vietcombank - Chi nhánh Hà Nội", None).await;
    add_agency(app, OTHER_BANK, "credit_institution", "Ngân hàng BIDV - Chi nhánh Hà Nội", None).await;
}

fn registry(app: &TestApp) -> String {
    app.token("dkdd-1", REGISTRY, &[Role::RegistryLiaison])
}
fn bank(app: &TestApp, agency: &str) -> String {
    app.token(&format!("nh-{}", agency.to_lowercase()), agency, &[Role::BankLiaison])
}

/// Today in Asia/Ho_Chi_Minh, as the service dates a request sent now.
fn today() -> String {
    chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive().to_string()
}

/// A condition verification under Law 106/2025 at the verifying state.
async fn verifying(app: &TestApp) -> Run<'_> {
    let request = json!({
        "workflow": "condition_verification",
        "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {"decision_number": "1777/QĐ-CTHADS", "decision_sent_date": "2026-10-01"}
    });
    let mut run = Run::start(app, &app.officer(), request, "awaiting_service").await;
    assert_eq!(run.last["workflow_version"], 2, "Law 106/2025's version: {}", run.last);
    let served = json!({"served_on": "2026-10-05", "service_channel": "vneid"});
    run.step(&app.officer(), "record_service", served, "voluntary_period").await;
    run.step(
        &app.officer(),
        "start_verification",
        json!({"voluntary_period_ended": "2026-10-15"}),
        "verifying",
    )
    .await;
    run
}

fn enforceable() -> Value {
    json!({"verification_date": today(), "findings": "Có quyền sử dụng đất và tài khoản có số dư"})
}

/// The requests a verification started, by workflow, as `token` reads them.
async fn started(app: &TestApp, run: &Run<'_>, token: &str) -> Vec<Value> {
    let mut requests = Vec::new();
    for link in run.get(token).await["links"]["started"].as_array().unwrap() {
        assert_eq!(link["workflow"], "information_request");
        let id = link["id"].as_str().unwrap();
        requests.push(app.get(&format!("/api/v1/instances/{id}"), token).await.json().await.unwrap());
    }
    requests
}

#[tokio::test]
async fn the_classification_waits_for_every_answer_or_its_deadline() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_asked_agencies(&app).await;
        let mut run = verifying(&app).await;

        // The bank was asked a month ago and never answered: its 5 working days have passed.
        // The land registry is asked today. Only the agencies named are asked.
        let long_ago = json!({"bank_asked": BANK, "requested_on": "2026-11-02",
                              "questions": "Số dư tài khoản của người phải thi hành án"});
        run.step(&app.officer(), "request_information", long_ago, "verifying").await;
        let now = json!({"land_registry": REGISTRY, "requested_on": today(),
                         "questions": "Quyền sử dụng đất đứng tên người phải thi hành án"});
        let asked = run.step(&app.officer(), "request_information", now, "verifying").await;
        assert_eq!(asked["parties"]["registry"], REGISTRY);
        assert_eq!(asked["parties"]["bank"], BANK);
        let requests = started(&app, &run, &app.officer()).await;
        assert_eq!(requests.len(), 2, "{backend:?} one request per agency named: {requests:?}");
        let (to_bank, to_registry) = if requests[0]["parties"]["bank"] == BANK {
            (&requests[0], &requests[1])
        } else {
            (&requests[1], &requests[0])
        };
        assert_eq!(to_bank["data"]["asks"], "accounts");
        assert_eq!(to_registry["data"]["asks"], "land");
        assert_eq!(to_registry["data"]["decision_number"], "1777/QĐ-CTHADS");
        assert_eq!(to_registry["links"]["started_by"]["id"], run.id.as_str());
        let registry_id = to_registry["id"].as_str().unwrap().to_owned();
        // Monday 2 November + 5 working days: Monday 9 November, long past.
        assert_eq!(
            deadline(&app, to_bank["id"].as_str().unwrap(), &app.officer(), "answer_accounts").await
                ["due_date"],
            "2026-11-09"
        );
        assert_eq!(notified(&app, &registry_id, 1), ["THADS-HN", REGISTRY], "{backend:?}");

        // The registry's answer is awaited: the classification is not open yet.
        assert!(!run.available(&app.head()).await.contains(&"classify_enforceable".to_owned()));
        let problem = run
            .refused(&app.head(), "classify_enforceable", enforceable(), 422, "transition_not_allowed")
            .await;
        assert!(problem["detail"].as_str().unwrap().contains(&registry_id), "{problem}");

        // Only the registry answers its request: not another bank (404), not the police (404).
        let path = format!("/api/v1/instances/{registry_id}");
        expect_problem(app.get(&path, &bank(&app, OTHER_BANK)).await, 404, "not_found").await;
        let answer = app
            .with_pdf(
                &registry(&app),
                "answer_files",
                json!({"answered_on": today(), "holds_anything": true,
                       "answer": "Thửa đất số 12, tờ bản đồ 4, phường Cầu Giấy, đứng tên người phải thi hành án"}),
            )
            .await;
        let answer = {
            let mut a = answer;
            a["answer_files"] = json!([a["answer_files"]]);
            a
        };
        expect_problem(
            app.fire(&registry_id, &police(&app), "answer_registry", 1, answer.clone()).await,
            404,
            "not_found",
        )
        .await;
        expect_problem(
            app.fire(&registry_id, &app.officer(), "answer_registry", 1, answer.clone()).await,
            403,
            "forbidden",
        )
        .await;
        let stale = app.fire(&registry_id, &registry(&app), "answer_registry", 0, answer.clone()).await;
        expect_problem(stale, 409, "version_conflict").await;
        let answered = app.fire_ok(&registry_id, &registry(&app), "answer_registry", 1, answer).await;
        assert_eq!(answered["state"], "answered");
        assert_eq!(notified(&app, &registry_id, 2), ["THADS-HN"]);

        // Answered, or past its deadline: the office classifies.
        assert!(run.available(&app.head()).await.contains(&"classify_enforceable".to_owned()));
        run.step(&app.head(), "classify_enforceable", enforceable(), "enforceable").await;
        run.verify(&auditor(&app), 6).await;
        let r = app.get(&format!("{path}/history/verify"), &registry(&app)).await;
        assert_eq!(r.json::<Value>().await.unwrap()["valid"], true);
    }
}

#[tokio::test]
async fn a_request_names_the_agency_of_its_kind_and_may_be_withdrawn() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_asked_agencies(&app).await;
        let run = verifying(&app).await;
        // A bank is not a land registry.
        let wrong = json!({"land_registry": BANK, "requested_on": today(), "questions": "?"});
        run.refused(&app.officer(), "request_information", wrong, 422, "validation_failed").await;

        // An office may ask on its own; the request it withdraws no longer holds anything up.
        let own = json!({
            "workflow": "information_request",
            "parties": {"enforcement": "THADS-HN", "bank": OTHER_BANK},
            "data": {"asks": "accounts", "decision_number": "1777/QĐ-CTHADS", "requested_on": today(),
                     "questions": "Tài khoản tại chi nhánh"}
        });
        let mut own = Run::start(&app, &app.officer(), own, "requested").await;
        // Asking about accounts needs the bank.
        let mut no_bank = own.get(&app.officer()).await;
        no_bank = json!({"workflow": "information_request", "parties": {"enforcement": "THADS-HN"},
                         "data": no_bank["data"]});
        let r = app.post("/api/v1/instances", &app.officer(), &no_bank).await;
        expect_problem(r, 422, "validation_failed").await;
        own.step(
            &app.officer(),
            "withdraw",
            json!({"withdrawal_reason": "Đã có thông tin từ đương sự"}),
            "withdrawn",
        )
        .await;
        own.verify(&app.officer(), 2).await;
    }
}
