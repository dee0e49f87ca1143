//! `lienganh demo`: the agencies of the seed provinces, tokens to try them with, and enough
//! cases and instances that the reports show real figures at once.
//!
//! Lào Cai's 2024 reporting year is loaded to match its published result: 3,569 of 3,918
//! enforceable cases completed (91.09%) and 484,600,000,000 of 593,000,000,000 VND (81.72%;
//! the press wrote "more than" both amounts, hence 81.73% there). Hà Nội gets a few cases of
//! the current year and the instances around them: a court transfer, a procuracy
//! recommendation past its reply date, and a coercion operation on the calendar.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use crate::config::Settings;
use crate::domain::{today_local, AgencyCode, Role};
use crate::engine::step::Actor;
use crate::engine::Rules;
use crate::error::ApiError;
use crate::http::auth::JwtKeys;
use crate::service::agencies::{self, CreateAgency};
use crate::service::case_stats::reporting_year;
use crate::service::cases::{self, CreateCase, CreateCases};
use crate::service::documents::{self, Upload};
use crate::service::instances::{self, CreateInstance, FireTransition};
use crate::service::users;
use crate::store::files::Files;
use crate::store::DbConn;

/// The seed provinces: code suffix and name.
const PROVINCES: [(&str, &str); 5] =
    [("HN", "Hà Nội"), ("LC", "Lào Cai"), ("ST", "Sóc Trăng"), ("QT", "Quảng Trị"), ("DN", "Đà Nẵng")];

fn actor(sub: &str, agency: &str, role: Role) -> Result<Actor, String> {
    Ok(Actor {
        sub: sub.into(),
        name: format!("Demo {sub}"),
        agency: AgencyCode::parse(agency)?,
        roles: vec![role],
    })
}

fn failed(what: &str) -> impl Fn(ApiError) -> String + '_ {
    move |e| {
        format!(
            "{what}: {} {}",
            e.detail,
            e.errors.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; ")
        )
    }
}

fn agencies_of(province: &str, name: &str) -> Vec<(String, &'static str, String, Option<String>)> {
    let p = province;
    vec![
        (format!("THADS-{p}"), "enforcement", format!("Thi hành án dân sự {name}"), None),
        (
            format!("THADS-{p}-KV1"),
            "enforcement",
            format!("Phòng Thi hành án dân sự khu vực 1 - {name}"),
            Some(format!("THADS-{p}")),
        ),
        (format!("TAND-{p}"), "court", format!("Tòa án nhân dân {name}"), None),
        (format!("CA-{p}"), "police", format!("Công an {name}"), None),
        (format!("VKS-{p}"), "procuracy", format!("Viện kiểm sát nhân dân {name}"), None),
        (format!("BCD-{p}"), "steering_committee", format!("Ban Chỉ đạo thi hành án dân sự {name}"), None),
        (format!("UBND-{p}"), "people_committee", format!("Ủy ban nhân dân {name}"), None),
    ]
}

/// The demo's people: a token each, and a console user each.
const DEMO_USERS: [(&str, &str, Role); 10] = [
    ("cb-hn", "THADS-HN", Role::EnforcementOfficer),
    ("ld-hn", "THADS-HN", Role::EnforcementHead),
    ("ta-hn", "TAND-HN", Role::CourtLiaison),
    ("ca-hn", "CA-HN", Role::PoliceLiaison),
    ("vks-hn", "VKS-HN", Role::ProcuracyInspector),
    ("bcd-hn", "BCD-HN", Role::SteeringMember),
    ("ubnd-hn", "UBND-HN", Role::SteeringMember),
    ("cb-lc", "THADS-LC", Role::EnforcementOfficer),
    ("auditor", "TTR-BTP", Role::Auditor),
    ("admin", "BTP", Role::Admin),
];

/// A fresh password for the demo's console users: three groups of five letters and digits.
fn console_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..3)
        .map(|_| (0..5).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn case(office: &str, court: &str, number: String, received: NaiveDate, due: &str) -> CreateCase {
    let value = json!({
        "agency": office, "number": number, "judgment_ref": "Bản án số 12/2023/KDTM-PT", "court": court,
        "court_name": "Tòa án nhân dân", "category": "credit_bank",
        "obligor": {"name": "Công ty TNHH Demo", "id_number": "5300000000"},
        "obligee": {"name": "Ngân hàng TMCP Demo"},
        "amount_due": due, "received_on": received, "classification": "enforceable"
    });
    // The literal above matches the type; a mismatch would be a bug in this file.
    serde_json::from_value(value).unwrap_or_else(|e| unreachable!("demo case: {e}"))
}

fn payment(amount: &str, on: &str) -> Vec<cases::NewPayment> {
    serde_json::from_value(json!([{"amount": amount, "paid_on": on, "method": "transfer"}]))
        .unwrap_or_else(|e| unreachable!("demo payment: {e}"))
}

/// Lào Cai, reporting year 2024 (1 Oct 2023 to 30 Sep 2024).
fn lao_cai_2024() -> Vec<CreateCase> {
    let received = NaiveDate::from_ymd_opt(2023, 10, 16).unwrap_or_default();
    let mut out = Vec::with_capacity(3918);
    // 3,569 cases of 100,000,000 VND, paid in full: 356,900,000,000.
    for i in 0..3569 {
        let mut c = case("THADS-LC", "TAND-LC", format!("LC-2024-{i:05}"), received, "100000000");
        c.payments = payment("100000000", "2024-05-15");
        out.push(c);
    }
    // 349 open: 348 of 500,000,000 (350,000,000 paid on each) and one of 62,100,000,000
    // (5,900,000,000 paid): 236,100,000,000 due, 127,700,000,000 collected.
    for i in 0..348 {
        let mut c = case("THADS-LC", "TAND-LC", format!("LC-2024-O{i:04}"), received, "500000000");
        c.payments = payment("350000000", "2024-08-20");
        out.push(c);
    }
    let mut big = case("THADS-LC", "TAND-LC", "LC-2024-O0348".into(), received, "62100000000");
    big.payments = payment("5900000000", "2024-09-27");
    out.push(big);
    out
}

fn create(conn: &mut DbConn, rules: &Rules, by: &Actor, request: Value) -> Result<(String, i64), String> {
    let req: CreateInstance = serde_json::from_value(request).map_err(|e| e.to_string())?;
    let reply = instances::create(conn, rules, by, req, None, "").map_err(failed("instance"))?;
    let made = reply.fresh().ok_or("the instance was not made")?;
    Ok((made.id.clone(), made.version))
}

fn fire(
    conn: &mut DbConn,
    rules: &Rules,
    by: &Actor,
    (id, version): &mut (String, i64),
    transition: &str,
    data: Value,
) -> Result<(), String> {
    let data: Map<String, Value> = serde_json::from_value(data).map_err(|e| e.to_string())?;
    let req = FireTransition {
        transition: transition.into(),
        expected_version: Some(*version),
        data,
        comment: None,
    };
    let uuid = uuid::Uuid::parse_str(id).map_err(|e| e.to_string())?;
    let reply = instances::fire(conn, rules, by, uuid, req, None, "").map_err(failed(transition))?;
    *version = reply.fresh().map_or(*version + 1, |i| i.version);
    Ok(())
}

/// Hà Nội: cases of the current year and the instances around them.
fn ha_noi(conn: &mut DbConn, rules: &Rules, papers: Vec<Upload>) -> Result<(), String> {
    let officer = actor("cb-hn", "THADS-HN", Role::EnforcementOfficer)?;
    let head = actor("ld-hn", "THADS-HN", Role::EnforcementHead)?;
    let police = actor("ca-hn", "CA-HN", Role::PoliceLiaison)?;
    let procuracy = actor("vks-hn", "VKS-HN", Role::ProcuracyInspector)?;
    let mut papers = papers.into_iter();
    let mut paper = |conn: &mut DbConn, by: &Actor| -> Result<String, String> {
        let upload = papers.next().ok_or("a paper of the demo is missing")?;
        Ok(documents::record_upload(conn, by, upload).map_err(failed("document"))?.id)
    };
    let instrument_file = paper(conn, &procuracy)?;
    let decision_file = paper(conn, &head)?;
    let today = today_local();
    let year_start = NaiveDate::from_ymd_opt(reporting_year(today) - 1, 10, 1).unwrap_or(today);
    let mut list = Vec::new();
    for i in 0..12 {
        let mut c =
            case("THADS-HN", "TAND-HN", format!("HN-{}-{i:03}", today.year()), year_start, "250000000");
        if i < 7 {
            c.payments = payment("250000000", &year_start.to_string());
        }
        list.push(c);
    }
    let reply =
        cases::create_many(conn, &officer, CreateCases { cases: list }, None, "").map_err(failed("cases"))?;
    let case_id = reply.fresh().map(|made| made["ids"][8].clone()).unwrap_or_default();

    let transfer = json!({
        "workflow": "court_transfer",
        "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {"judgment_number": "125/2026/DS-PT", "judgment_date": today.to_string(),
                 "effective_date": today.to_string(), "category": "standard"}
    });
    let court = actor("ta-hn", "TAND-HN", Role::CourtLiaison)?;
    if let Err(e) = create(conn, rules, &court, transfer) {
        tracing::warn!(error = %e, "the demo court transfer was not started");
    }
    let recommendation = json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": {"instrument": "recommendation", "document_number": "84/KN-VKS", "issued_on": year_start.to_string(),
                 "content": "Chậm xác minh điều kiện thi hành án", "instrument_file": instrument_file}
    });
    create(conn, rules, &procuracy, recommendation)?;

    let plan = json!({
        "workflow": "coercion_plan", "case_id": case_id,
        "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": "UBND-HN"},
        "data": {"case_reference": "HN-coercion-1", "measure": "seize_property",
                 "location": "Phường Hoàn Kiếm, Hà Nội", "estimated_cost": "45000000", "complex": false}
    });
    let mut run = create(conn, rules, &officer, plan)?;
    let day = today.to_string();
    fire(
        conn,
        rules,
        &head,
        &mut run,
        "approve",
        json!({"approved_on": day, "decision_file": decision_file}),
    )?;
    fire(conn, rules, &officer, &mut run, "send", json!({"sent_on": day, "dispatch_number": "77/THADS-CC"}))?;
    fire(
        conn,
        rules,
        &police,
        &mut run,
        "confirm_protection",
        json!({"protection_plan_number": "15/KH-CAHN", "officers": 24}),
    )?;
    // The next working day at 08:00, as the calendar and the coercion time rule allow.
    let mut when = today;
    for _ in 0..30 {
        when = when.succ_opt().unwrap_or(when);
        let at = format!("{when}T08:00:00+07:00");
        if fire(conn, rules, &head, &mut run, "schedule", json!({"scheduled_at": at})).is_ok() {
            break;
        }
    }
    Ok(())
}

/// A demo that could not be loaded, and why.
struct Failed(String);

impl From<crate::store::WriteError> for Failed {
    fn from(e: crate::store::WriteError) -> Self {
        Failed(e.to_string())
    }
}

/// Loads the demo into the configured database and returns what to tell the user.
pub fn load(settings: &Settings) -> Result<String, String> {
    let (db, _) = crate::http::server::open_database(settings)?;
    let rules = Rules {
        registry: Arc::new(crate::http::server::load_registry(settings)?),
        calendar: Arc::new(crate::http::server::load_calendar(settings)?),
    };
    let keys = JwtKeys::from_settings(settings)?;
    // The papers the demo's steps hand over, kept in the documents store first.
    let files = Files::open(&settings.documents_url())?;
    let mut papers = Vec::new();
    for (title, name) in PAPERS {
        let bytes = pdf(title);
        let sha256 = documents::sha256(&bytes);
        let size = bytes.len();
        actix_web::rt::System::new().block_on(files.put(&sha256, bytes.into())).map_err(|e| e.to_string())?;
        papers.push(Upload { sha256, size, media_type: "application/pdf".into(), name: (*name).into() });
    }
    db.write_blocking(move |conn| fill(conn, &rules, &keys, papers).map_err(Failed)).map_err(|e| e.0)
}

/// The papers of the demo: the procuracy's recommendation, and the approved coercion plan.
const PAPERS: [(&str, &str); 2] = [
    ("Kien nghi 84/KN-VKS", "kien-nghi-84-KN-VKS.pdf"),
    ("Quyet dinh cuong che HN-coercion-1", "quyet-dinh-cuong-che.pdf"),
];

/// A one-page PDF showing `title`.
pub fn pdf(title: &str) -> Vec<u8> {
    let text: String = title.chars().filter(|c| c.is_ascii_alphanumeric() || " -/.".contains(*c)).collect();
    let content = format!("BT /F1 18 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for at in offsets {
        out.push_str(&format!("{at:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// Writes the demo through one connection, through the use cases as requests would.
fn fill(conn: &mut DbConn, rules: &Rules, keys: &JwtKeys, papers: Vec<Upload>) -> Result<String, String> {
    let admin = actor("demo-admin", "BTP", Role::Admin)?;
    let mut text = String::new();
    let already = crate::store::agencies::find(conn, "THADS-HN").map_err(|e| e.to_string())?.is_some();
    if already {
        text.push_str("The demo agencies are already here; nothing was added.\n");
    } else {
        for (p, name) in PROVINCES {
            for (code, kind, title, parent) in agencies_of(p, name) {
                let req: CreateAgency = serde_json::from_value(
                    json!({"code": code, "kind": kind, "name": title, "parent": parent}),
                )
                .map_err(|e| e.to_string())?;
                agencies::create(conn, &admin, req, None, "").map_err(failed("agency"))?;
            }
        }
        let lc = actor("cb-lc", "THADS-LC", Role::EnforcementOfficer)?;
        for chunk in lao_cai_2024().chunks(cases::MAX_BATCH) {
            cases::create_many(conn, &lc, CreateCases { cases: chunk.to_vec() }, None, "")
                .map_err(failed("Lào Cai cases"))?;
        }
        for (office, year) in [("THADS-LC", 2024), ("THADS-HN", reporting_year(today_local()))] {
            let code = AgencyCode::parse(office)?;
            let (cases_rate, money_rate) = (rust_decimal::Decimal::from(84), rust_decimal::Decimal::from(45));
            crate::service::reports::set_target(conn, &admin, code, year, cases_rate, money_rate)
                .map_err(failed("target"))?;
        }
        ha_noi(conn, rules, papers)?;
        text.push_str("Loaded the agencies of Hà Nội, Lào Cai, Sóc Trăng, Quảng Trị and Đà Nẵng (THADS-, THADS-…-KV1, TAND-, CA-, VKS-, BCD-, UBND-),\n3,918 cases of Lào Cai's 2024 reporting year and 12 of Hà Nội's current year, with a court transfer,\na procuracy recommendation and a scheduled coercion operation.\n");
    }
    // The national agencies the admin and the auditor belong to.
    for (code, name) in [("BTP", "Bộ Tư pháp"), ("TTR-BTP", "Thanh tra Bộ Tư pháp")] {
        if crate::store::agencies::find(conn, code).map_err(|e| e.to_string())?.is_none() {
            let req: CreateAgency =
                serde_json::from_value(json!({"code": code, "kind": "justice_department", "name": name}))
                    .map_err(|e| e.to_string())?;
            agencies::create(conn, &admin, req, None, "").map_err(failed("agency"))?;
        }
    }
    let ttl = Duration::from_secs(8 * 3600);
    // Console users only into a database that has none: the demo never adds a known password
    // beside real accounts.
    let password = console_password();
    let mut added = Vec::new();
    if users::list(conn).map_err(failed("console users"))?.is_empty() {
        for (sub, agency, role) in DEMO_USERS {
            let user = users::NewUser {
                username: sub.to_owned(),
                name: format!("Demo {sub}"),
                agency: AgencyCode::parse(agency)?,
                roles: vec![role],
                password: password.clone(),
            };
            let row = users::prepare(&user).map_err(failed("console user"))?;
            users::add(conn, &row, "demo").map_err(failed("console user"))?;
            added.push(sub);
        }
    }
    if added.is_empty() {
        text.push_str("\nThe database has console users already; the demo added none (`lienganh user reset NAME` gives one a new password).\n");
    } else {
        text.push_str(&format!(
            "\nWeb console: http://127.0.0.1:8080/console/ (users {}; the password of each: {password})\n",
            added.join(", ")
        ));
    }
    text.push_str("\nTokens (8 hours; `lienganh token` makes more):\n");
    for (sub, agency, role) in DEMO_USERS {
        let token = keys.issue(sub, sub, &AgencyCode::parse(agency)?, &[role], ttl)?;
        text.push_str(&format!("\n{agency} {} ({sub}):\n{token}\n", role.as_str()));
    }
    text.push_str(
        "\nTry, with the Lào Cai officer's token:\n  curl -H \"Authorization: Bearer $TOKEN\" 'http://127.0.0.1:8080/api/v1/reports/enforcement?agency=THADS-LC&year=2024'\n",
    );
    Ok(text)
}
