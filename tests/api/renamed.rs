//! What a workflow means to the reports, the coercion calendar, the payments and the console
//! pages is declared in its definition, not recognised by its names: with the workflows, their
//! states, steps, deadlines and fields renamed in a copy of the definitions, everything that
//! reads them follows.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::console::{add_user, Browser, PASSWORD};
use crate::helpers::{backends, spawn_with, TestApp};
use crate::scenarios::common::{add_coercion_agencies, police, CITY_COMMITTEE, COMMUNE};

/// Renames in the definitions: whole words (workflow ids and data fields), and quoted names
/// (states, steps and deadlines), in the files of the two workflows that have them.
const WORDS: &[(&str, &str)] = &[
    ("coercion_plan", "cuong_che"),
    ("procuracy_supervision", "kiem_sat"),
    ("scheduled_at", "thoi_gian"),
    ("case_reference", "so_viec"),
    ("protection_plan_number", "so_ke_hoach_bao_ve"),
    ("location", "dia_diem"),
    ("document_number", "so_van_ban"),
    ("instrument", "loai_van_ban"),
];
const QUOTED: &[(&str, &str)] = &[
    ("scheduled", "da_an_dinh"),
    ("executed", "da_cuong_che"),
    ("sent", "da_gui"),
    ("protection_confirmed", "da_bao_ve"),
    ("execute", "cuong_che_xong"),
    ("schedule_complex", "an_dinh_phuc_tap"),
    ("answered", "da_tra_loi"),
    ("answer", "tra_loi"),
    ("reply_recommendation", "han_tra_loi_kien_nghi"),
];

/// The keys of `[coercion.fields]` and `[supervision]` are the declaration's own words, not
/// names of the definition: they are put back after the renaming.
const KEYS: &[(&str, &str)] = &[("thoi_gian = ", "scheduled_at = "), ("loai_van_ban = ", "instrument = ")];

/// A copy of the shipped definitions, the coercion plan and the procuracy's supervision renamed.
fn renamed_workflows(into: &Path) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let dir = into.join("workflows-renamed");
    std::fs::create_dir_all(dir.join("calendar")).unwrap();
    std::fs::copy(shipped.join("calendar/holidays.toml"), dir.join("calendar/holidays.toml")).unwrap();
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        // The two workflows, and those that start them (whose follow-ups name their fields).
        let starts_them = text.contains("workflow = \"coercion_plan\"")
            || text.contains("workflow = \"procuracy_supervision\"");
        if name.starts_with("coercion_plan") || name.starts_with("procuracy_supervision") || starts_them {
            for (from, to) in WORDS {
                text = replace_word(&text, from, to);
            }
            for (from, to) in QUOTED {
                text = text.replace(&format!("\"{from}\""), &format!("\"{to}\""));
            }
            for (renamed, key) in KEYS {
                text = text.replace(&format!("\n{renamed}"), &format!("\n{key}"));
            }
        }
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// Replaces `from` where it stands as a whole word of lower-case letters, digits and '_'.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let word = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        out.push_str(if before.is_some_and(word) || after.is_some_and(word) { from } else { to });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

async fn fire(app: &TestApp, id: &str, token: &str, transition: &str, data: Value) -> Value {
    let seen: Value = app.get(&format!("/api/v1/instances/{id}"), token).await.json().await.unwrap();
    let r = app.fire(id, token, transition, seen["version"].as_i64().unwrap(), data).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{transition}: {body}");
    body
}

async fn created(app: &TestApp, token: &str, request: Value) -> String {
    let r = app.post("/api/v1/instances", token, &request).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn reports_calendar_payments_and_pages_follow_renamed_steps() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let workflows = renamed_workflows(dir.path());
        let app = spawn_with(backend, |s| s.workflows = workflows.clone()).await;
        add_coercion_agencies(&app).await;
        let listed: Value = app.get("/api/v1/workflows", &app.head()).await.json().await.unwrap();
        let ids: Vec<&str> = listed.as_array().unwrap().iter().filter_map(|w| w["id"].as_str()).collect();
        assert!(ids.contains(&"cuong_che") && ids.contains(&"kiem_sat"), "{ids:?}");
        assert!(!ids.iter().any(|id| *id == "coercion_plan" || *id == "procuracy_supervision"), "{ids:?}");

        // A complex operation on a case, carried out with money collected.
        let case = json!({
            "agency": "THADS-HN", "number": "1520", "judgment_ref": "Bản án số 1520/2025/DS-ST",
            "court": "TAND-HN", "court_name": "Tòa án nhân dân", "category": "credit_bank",
            "obligor": {"name": "Nguyễn Văn Nợ", "id_number": "012345678901", "address": "Đông Anh"},
            "obligee": {"name": "Ngân hàng", "address": "Hà Nội"},
            "amount_due": "3000000000", "received_on": "2026-07-20", "classification": "enforceable"
        });
        let r = app.post("/api/v1/cases", &app.officer(), &case).await;
        assert_eq!(r.status(), 201);
        let case_id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let plan = json!({
            "workflow": "cuong_che",
            "case_id": case_id,
            "reference_date": "2026-11-20",
            "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": COMMUNE,
                        "coordinator": CITY_COMMITTEE},
            "data": {"so_viec": "1520/QĐ-CTHADS", "measure": "seize_property",
                     "dia_diem": "Thôn Đông, xã Đông Anh", "estimated_cost": "45000000", "complex": true}
        });
        let plan = created(&app, &app.officer(), plan).await;
        let approval = app.with_pdf(&app.head(), "decision_file", json!({"approved_on": "2026-11-20"})).await;
        fire(&app, &plan, &app.head(), "approve", approval).await;
        let sent = json!({"sent_on": "2026-11-20", "dispatch_number": "77/THADS-CC"});
        assert_eq!(fire(&app, &plan, &app.officer(), "send", sent).await["state"], "da_gui");

        // The steering page finds the plan and where its protection stands.
        add_user(&app, "chidao.hn", CITY_COMMITTEE, &["steering_member"]);
        let mut member = Browser::new(&app);
        assert_eq!(member.sign_in("chidao.hn", PASSWORD).await.status, 303);
        let page = member.get("/console/steering?month=2026-12").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let waiting = &page.body[page.body.find(r#"id="unscheduled""#).unwrap()..];
        assert!(waiting.contains("1520/QĐ-CTHADS") && waiting.contains("Chờ Công an xác nhận"), "{waiting}");

        let protection = json!({"so_ke_hoach_bao_ve": "15/KH-CAHN", "officers": 24});
        fire(&app, &plan, &police(&app), "confirm_protection", protection).await;
        let committee = app.token("chidao.hn", CITY_COMMITTEE, &[lienganh::domain::Role::SteeringMember]);
        let at = json!({"thoi_gian": "2026-12-01T08:00:00+07:00"});
        assert_eq!(fire(&app, &plan, &committee, "an_dinh_phuc_tap", at).await["state"], "da_an_dinh");
        let page = member.get("/console/steering?month=2026-12").await;
        let cell =
            page.body.split(r#"data-date="2026-12-01""#).nth(1).unwrap().split("</td>").next().unwrap();
        assert!(cell.contains("08:00") && cell.contains("Kê biên tài sản"), "{cell}");
        assert!(cell.contains("Công an đã xác nhận"), "{cell}");
        let listed = &page.body[page.body.find(r#"id="this-month""#).unwrap()..];
        assert!(listed.contains("15/KH-CAHN") && listed.contains("THADS-HN"), "{listed}");

        // The coercion calendar carries the operation at its time, confirmed.
        let feed = app.get("/api/v1/calendar/coercion.ics", &police(&app)).await.text().await.unwrap();
        let calendar = ical::IcalParser::new(feed.as_bytes()).next().unwrap().unwrap();
        assert_eq!(calendar.events.len(), 1, "{feed}");
        let prop = |name: &str| {
            calendar.events[0].properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone())
        };
        assert_eq!(prop("DTSTART").as_deref(), Some("20261201T080000"));
        assert_eq!(prop("STATUS").as_deref(), Some("CONFIRMED"));
        assert!(prop("SUMMARY").unwrap_or_default().contains("1520/QĐ-CTHADS"), "{feed}");
        assert!(prop("DESCRIPTION").unwrap_or_default().contains("15/KH-CAHN"), "{feed}");

        // Carried out: the money collected is a payment by coercion.
        let execution = json!({"executed_at": "2026-12-01T10:30:00+07:00", "amount_collected": "1200000000",
                               "actual_cost": "38500000", "result": "Đã kê biên"});
        assert_eq!(
            fire(&app, &plan, &app.officer(), "cuong_che_xong", execution).await["state"],
            "da_cuong_che"
        );
        let history: Value =
            app.get(&format!("/api/v1/cases/{case_id}/history"), &app.officer()).await.json().await.unwrap();
        assert_eq!(history["payments"][0]["method"], "coercion", "{history}");
        assert_eq!(history["payments"][0]["amount"], "1200000000");

        // A recommendation of the procuracy, answered: its page and the report count it.
        let recommendation = json!({
            "workflow": "kiem_sat",
            "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
            "data": {"loai_van_ban": "recommendation", "so_van_ban": "12/KN-VKS", "issued_on": "2026-11-25",
                     "reply_due": "2026-12-10", "content": "Chậm ra quyết định thi hành án"}
        });
        let recommendation = app.request_with_pdf(&app.procuracy(), "instrument_file", recommendation).await;
        let instrument = created(&app, &app.procuracy(), recommendation).await;
        add_user(&app, "kiemsat.hn", "VKS-HN", &["procuracy_inspector"]);
        let mut inspector = Browser::new(&app);
        assert_eq!(inspector.sign_in("kiemsat.hn", PASSWORD).await.status, 303);
        let view = inspector.get("/console/procuracy").await;
        assert!(view.body.contains(r#"href="/console/new/kiem_sat""#), "{}", view.body);
        let due = &view.body
            [view.body.find(r#"id="replies-due""#).unwrap()..view.body.find(r#"id="to-assess""#).unwrap()];
        assert!(due.contains("Kiến nghị 12/KN-VKS") && due.contains("THADS-HN"), "{due}");

        let answer =
            json!({"reply_number": "512/THADS-NV", "reply_date": "2026-12-01", "measures": "Đã khắc phục"});
        let answer = app.with_pdf(&app.head(), "reply_file", answer).await;
        assert_eq!(fire(&app, &instrument, &app.head(), "tra_loi", answer).await["state"], "da_tra_loi");
        let view = inspector.get("/console/procuracy").await;
        let to_assess = &view.body
            [view.body.find(r#"id="to-assess""#).unwrap()..view.body.find(r#"id="issued""#).unwrap()];
        assert!(
            to_assess.contains("Kiến nghị 12/KN-VKS") && to_assess.contains("512/THADS-NV"),
            "{to_assess}"
        );

        let report: Value =
            app.get("/api/v1/reports/coordination?agency=THADS-HN", &app.head()).await.json().await.unwrap();
        let instruments = report["procuracy_instruments"].as_array().unwrap();
        let recommendation = instruments.iter().find(|i| i["instrument"] == "recommendation").unwrap();
        assert_eq!([&recommendation["issued"], &recommendation["answered_on_time"]], [1, 1], "{report}");
        let step =
            report["steps"].as_array().unwrap().iter().find(|s| s["deadline"] == "han_tra_loi_kien_nghi");
        assert_eq!(step.map(|s| s["workflow"].clone()), Some(json!("kiem_sat")), "{report}");
    }
}
