//! What the scenarios share: the extra agencies of Hà Nội, the tokens of their people, and a
//! `Run` that walks one instance step by step, checking the state and version after each.
#![allow(dead_code)]

use lienganh::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{expect_problem, TestApp};

/// The steering committee for judgment enforcement of Hà Nội (coordinator under Law 26/2008).
pub const STEERING: &str = "BCD-HN";
/// The People's Committee of Hà Nội (coordinator of complex cases under Law 106/2025).
pub const CITY_COMMITTEE: &str = "UBND-HN";
/// A commune People's Committee of Hà Nội where a coercion takes place.
pub const COMMUNE: &str = "UBND-X-DONGANH";
/// Two regional offices (phòng THADS khu vực) under the Hà Nội provincial office.
pub const REGIONAL_1: &str = "THADS-HN-KV1";
pub const REGIONAL_2: &str = "THADS-HN-KV2";
/// A regional procuracy and a regional court (khu vực) of Hà Nội, under the city's: with the
/// regional office THADS-HN-KV1 they make the level below VKS-HN, TAND-HN and THADS-HN.
pub const REGIONAL_PROCURACY: &str = "VKS-HN-KV1";
pub const REGIONAL_COURT: &str = "TAND-HN-KV1";

/// Creates an agency through the API as the admin.
pub async fn add_agency(app: &TestApp, code: &str, kind: &str, name: &str, parent: Option<&str>) {
    let mut body = json!({"code": code, "kind": kind, "name": name});
    if let Some(parent) = parent {
        body["parent"] = json!(parent);
    }
    let r = app.post("/api/v1/agencies", &app.admin(), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED, "creating {code}: {}", r.text().await.unwrap());
}

pub async fn add_coercion_agencies(app: &TestApp) {
    add_agency(app, STEERING, "steering_committee", "Ban Chỉ đạo thi hành án dân sự thành phố Hà Nội", None)
        .await;
    add_agency(app, CITY_COMMITTEE, "people_committee", "Ủy ban nhân dân thành phố Hà Nội", None).await;
    add_agency(app, COMMUNE, "people_committee", "Ủy ban nhân dân xã Đông Anh, thành phố Hà Nội", None).await;
}

pub async fn add_regional_offices(app: &TestApp) {
    for (code, n) in [(REGIONAL_1, 1), (REGIONAL_2, 2)] {
        let name = format!("Phòng Thi hành án dân sự khu vực {n} - Hà Nội");
        add_agency(app, code, "enforcement", &name, Some("THADS-HN")).await;
    }
}

/// The regional level of Hà Nội: the regional office THADS-HN-KV1 (parent THADS-HN), the
/// regional procuracy VKS-HN-KV1 (parent VKS-HN) and the regional court TAND-HN-KV1 (parent
/// TAND-HN). The city's agencies are their superior offices on record.
pub async fn add_regional_level(app: &TestApp) {
    let office = "Phòng Thi hành án dân sự khu vực 1 - Hà Nội";
    add_agency(app, REGIONAL_1, "enforcement", office, Some("THADS-HN")).await;
    let procuracy = "Viện kiểm sát nhân dân khu vực 1 - Hà Nội";
    add_agency(app, REGIONAL_PROCURACY, "procuracy", procuracy, Some("VKS-HN")).await;
    add_agency(app, REGIONAL_COURT, "court", "Tòa án nhân dân khu vực 1 - Hà Nội", Some("TAND-HN")).await;
}

pub fn police(app: &TestApp) -> String {
    app.token("police-1", "CA-HN", &[Role::PoliceLiaison])
}
pub fn head_of(app: &TestApp, agency: &str) -> String {
    app.token(&format!("head-{}", agency.to_lowercase()), agency, &[Role::EnforcementHead])
}
pub fn officer_of(app: &TestApp, agency: &str) -> String {
    app.token(&format!("officer-{}", agency.to_lowercase()), agency, &[Role::EnforcementOfficer])
}
pub fn inspector_of(app: &TestApp, agency: &str) -> String {
    app.token(&format!("vks-{}", agency.to_lowercase()), agency, &[Role::ProcuracyInspector])
}
pub fn steering_member(app: &TestApp) -> String {
    app.token("bcd-1", STEERING, &[Role::SteeringMember])
}
pub fn committee_chair(app: &TestApp) -> String {
    app.token("ubnd-1", CITY_COMMITTEE, &[Role::SteeringChair])
}
pub fn commune_member(app: &TestApp) -> String {
    app.token("ubnd-x-1", COMMUNE, &[Role::SteeringMember])
}
pub fn auditor(app: &TestApp) -> String {
    app.token("audit-1", "TTCP", &[Role::Auditor])
}

/// Starts an instance and expects 201; the error body is shown when it fails.
pub async fn create(app: &TestApp, token: &str, request: &Value) -> Value {
    let r = app.post("/api/v1/instances", token, request).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{:?} creating {}: {body}", app.backend, request["workflow"]);
    body
}

/// The `field` of each error of a validation problem, in order.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

/// The reason given for one field of a validation problem.
pub fn error_reason(problem: &Value, field: &str) -> String {
    let errors = problem["errors"].as_array().unwrap();
    let error = errors
        .iter()
        .find(|e| e["field"] == field)
        .unwrap_or_else(|| panic!("no error on {field}: {problem}"));
    error["reason"].as_str().unwrap().to_owned()
}

/// The agencies notified of the event `seq` of an instance, as their inboxes received it.
pub fn notified(app: &TestApp, id: &str, seq: i64) -> Vec<String> {
    let db = lienganh::store::Db::connect(&app.database_url, 1).unwrap();
    let mut conn = db.read().unwrap();
    let mut agencies: Vec<String> = lienganh::store::notifications::of_instance(&mut conn, id)
        .unwrap()
        .into_iter()
        .filter(|row| row.kind == "step")
        .filter(|row| serde_json::from_str::<Value>(&row.payload).unwrap()["seq"] == seq)
        .map(|row| row.agency_code)
        .collect();
    agencies.sort();
    agencies
}

/// The deadlines the event `seq` of an instance opened and closed: (opened, closed), by name,
/// sorted.
pub fn deadlines_moved(app: &TestApp, id: &str, seq: i64) -> (Vec<String>, Vec<String>) {
    let db = lienganh::store::Db::connect(&app.database_url, 1).unwrap();
    let mut conn = db.read().unwrap();
    let rows = lienganh::store::deadlines::of_instance(&mut conn, id).unwrap();
    let names = |pick: &dyn Fn(&lienganh::store::deadlines::DeadlineRow) -> bool| {
        let mut names: Vec<String> = rows.iter().filter(|r| pick(r)).map(|r| r.name.clone()).collect();
        names.sort();
        names
    };
    (names(&|r| r.opened_seq == seq), names(&|r| r.closed_seq == Some(seq)))
}

/// The deadline of that name an instance shows, as the API gives it (the latest of the name).
pub async fn deadline(app: &TestApp, id: &str, token: &str, name: &str) -> Value {
    let instance: Value = app.get(&format!("/api/v1/instances/{id}"), token).await.json().await.unwrap();
    instance["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|d| d["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no deadline {name}: {instance}"))
}

/// One instance walked step by step: it remembers the version to send back.
pub struct Run<'a> {
    pub app: &'a TestApp,
    pub id: String,
    pub version: i64,
    /// The instance as the last step answered it.
    pub last: Value,
}

impl<'a> Run<'a> {
    /// Starts the instance; expects 201, version 1, and the initial state `state`.
    pub async fn start(app: &'a TestApp, token: &str, request: Value, state: &str) -> Run<'a> {
        let created = create(app, token, &request).await;
        assert_eq!(created["state"], state, "{created}");
        assert_eq!(created["version"], 1);
        assert_eq!(created["terminal"], false);
        Run { app, id: created["id"].as_str().unwrap().to_owned(), version: 1, last: created }
    }

    pub fn path(&self, suffix: &str) -> String {
        format!("/api/v1/instances/{}{suffix}", self.id)
    }

    /// Fires a step that must succeed and lead to `to`; returns the instance after it.
    pub async fn step(&mut self, token: &str, transition: &str, data: Value, to: &str) -> Value {
        let r = self.app.fire(&self.id, token, transition, self.version, data).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{:?} {transition}: {body}", self.app.backend);
        assert_eq!(body["state"], to, "{transition}: {body}");
        assert_eq!(body["version"], self.version + 1, "{transition}: {body}");
        let read = self.get(token).await;
        assert_eq!(body["deadlines"], read["deadlines"], "the deadlines {transition} answered");
        self.version += 1;
        self.last = body.clone();
        body
    }

    /// Fires a step that must be refused with `status` and `code`, and checks that the
    /// refusal changed nothing; returns the problem.
    pub async fn refused(
        &self,
        token: &str,
        transition: &str,
        data: Value,
        status: u16,
        code: &str,
    ) -> Value {
        let r = self.app.fire(&self.id, token, transition, self.version, data).await;
        let problem = expect_problem(r, status, code).await;
        let now = self.get(&auditor(self.app)).await;
        assert_eq!(now["version"], self.version, "a refused {transition} changed the instance: {now}");
        assert_eq!(now["state"], self.last["state"]);
        assert_eq!(now["data"], self.last["data"]);
        problem
    }

    /// The instance as `token` sees it (expects 200).
    pub async fn get(&self, token: &str) -> Value {
        let r = self.app.get(&self.path(""), token).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// The names of the steps `token` may fire now.
    pub async fn available(&self, token: &str) -> Vec<String> {
        let r = self.app.get(&self.path("/transitions"), token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let list: Value = r.json().await.unwrap();
        list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    }

    /// The transitions of the history, in order, with the agency and role of each actor.
    pub async fn history(&self, token: &str) -> Vec<(String, String, String)> {
        let r = self.app.get(&self.path("/history"), token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let history: Value = r.json().await.unwrap();
        history["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let s = |v: &Value| v.as_str().unwrap().to_owned();
                (s(&e["transition"]), s(&e["actor"]["agency"]), s(&e["actor"]["role"]))
            })
            .collect()
    }

    /// Checks that the history verifies and holds `events` events, one per version.
    pub async fn verify(&self, token: &str, events: i64) {
        let r = self.app.get(&self.path("/history/verify"), token).await;
        assert_eq!(r.status(), StatusCode::OK);
        let verify: Value = r.json().await.unwrap();
        assert_eq!(verify["valid"], true, "{:?} {verify}", self.app.backend);
        assert_eq!(verify["events"], events, "{verify}");
        assert_eq!(self.version, events, "one event per version");
        assert_eq!(verify["head_hash"].as_str().map(str::len), Some(64), "{verify}");
    }
}
