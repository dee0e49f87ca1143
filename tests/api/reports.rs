//! The coordination report and the coercion calendar feed, through HTTP on every backend.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn, TestApp};
use crate::scenarios::common::{add_agency, police, steering_member, Run};

/// An instrument of the Hà Nội procuracy, with its signed file uploaded as the procuracy.
pub async fn instrument(app: &TestApp, kind: &str, number: &str, reply_due: &str) -> Value {
    let request = json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": {
            "instrument": kind,
            "document_number": number,
            "issued_on": "2026-11-02",
            "reply_due": reply_due,
            "content": "Chậm ra quyết định thi hành án đối với 12 bản án đã nhận"
        }
    });
    app.request_with_pdf(&app.procuracy(), "instrument_file", request).await
}

/// The office's answer, with its signed reply uploaded as the head's office.
pub async fn answer(app: &TestApp) -> Value {
    let answer = json!({"reply_number": "512/THADS-NV", "reply_date": "2026-11-16", "measures": "Đã ra 12 quyết định"});
    app.with_pdf(&app.head(), "reply_file", answer).await
}

fn find<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i[key] == value)
        .unwrap_or_else(|| panic!("no {value} in {items}"))
}

/// Replies on time, late and missing are counted per instrument, and per step with the
/// responsible agency, the time taken and what is overdue now.
#[tokio::test]
async fn the_coordination_report_counts_who_is_late() {
    for backend in backends() {
        let app = spawn(backend).await;
        // A request due in the future, answered now: on time.
        let request = instrument(&app, "request", "1/YC", "2026-12-20").await;
        let mut on_time = Run::start(&app, &app.procuracy(), request, "issued").await;
        on_time.step(&app.head(), "answer", answer(&app).await, "answered").await;
        // A request due on 20 November, answered now: late.
        let request = instrument(&app, "request", "2/YC", "2026-11-20").await;
        let mut late = Run::start(&app, &app.procuracy(), request, "issued").await;
        late.step(&app.head(), "answer", answer(&app).await, "answered").await;
        // A recommendation due on 20 November, not answered: overdue.
        let request = instrument(&app, "recommendation", "3/KN", "2026-11-20").await;
        Run::start(&app, &app.procuracy(), request, "issued").await;

        let r = app.get("/api/v1/reports/coordination?agency=THADS-HN", &app.head()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let report: Value = r.json().await.unwrap();
        assert_eq!(
            (report["from"].as_str(), report["to"].as_str()),
            (Some("2026-10-01"), Some("2027-09-30"))
        );
        let request = find(&report["procuracy_instruments"], "instrument", "request");
        assert_eq!(
            [
                &request["issued"],
                &request["answered_on_time"],
                &request["answered_late"],
                &request["unanswered"]
            ],
            [2, 1, 1, 0]
        );
        let recommendation = find(&report["procuracy_instruments"], "instrument", "recommendation");
        assert_eq!([&recommendation["issued"], &recommendation["unanswered_overdue"]], [1, 1]);

        let replies = find(&report["steps"], "deadline", "reply_request");
        assert_eq!(replies["workflow"], "procuracy_supervision");
        assert_eq!(replies["responsible_agency"], "THADS-HN");
        assert_eq!([&replies["on_time"], &replies["late"], &replies["open_now"]], [1, 1, 0]);
        // Both clocks started on 2 November, 00:00 and stopped now: 21 days and some.
        let median = replies["median_seconds"].as_i64().unwrap();
        assert!(median >= 21 * 86_400, "{replies}");
        assert!(replies["p90_seconds"].as_i64().unwrap() >= median);
        let overdue = find(&report["steps"], "deadline", "reply_recommendation");
        assert_eq!([&overdue["open_now"], &overdue["overdue_now"]], [1, 1]);
        assert_eq!(overdue["median_seconds"], Value::Null);

        // The procuracy supervises any office; the Lào Cai office sees only its own.
        let r = app.get("/api/v1/reports/coordination?agency=THADS-HN", &app.procuracy()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let lc = app.token("cb-lc", "THADS-LC", &[lienganh::domain::Role::EnforcementOfficer]);
        let r = app.get("/api/v1/reports/coordination?agency=THADS-HN", &lc).await;
        expect_problem(r, 404, "not_found").await;
        let own: Value = app.get("/api/v1/reports/coordination", &lc).await.json().await.unwrap();
        assert_eq!(own["agency"], "THADS-LC");
        assert_eq!(own["steps"].as_array().unwrap().len(), 0);
        let r = app.get("/api/v1/reports/coordination?from=2026-12-01&to=2026-11-01", &app.head()).await;
        expect_problem(r, 422, "validation_failed").await;
    }
}

/// A place long enough to be folded, written on two lines.
const LOCATION: &str =
    "Thôn Đông, xã Đông Anh; Hà Nội\r\nCổng số 2, cạnh trụ sở Ủy ban nhân dân xã, đường liên thôn, gần chợ Đông Anh";

pub(crate) async fn scheduled_coercion(app: &TestApp) -> String {
    add_agency(app, "UBND-X-DONGANH", "people_committee", "UBND xã Đông Anh", None).await;
    let plan = json!({
        "workflow": "coercion_plan",
        "reference_date": "2026-11-16",
        "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": "UBND-X-DONGANH"},
        "data": {"case_reference": "1520/QĐ-CTHADS", "measure": "seize_property",
                 "location": LOCATION, "estimated_cost": "45000000", "complex": false}
    });
    let mut run = Run::start(app, &app.officer(), plan, "drafted").await;
    let approval = app.with_pdf(&app.head(), "decision_file", json!({"approved_on": "2026-11-16"})).await;
    run.step(&app.head(), "approve", approval, "approved").await;
    run.step(
        &app.officer(),
        "send",
        json!({"sent_on": "2026-11-16", "dispatch_number": "77/THADS-CC"}),
        "sent",
    )
    .await;
    run.step(
        &police(app),
        "confirm_protection",
        json!({"protection_plan_number": "15/KH-CAHN", "officers": 24}),
        "protection_confirmed",
    )
    .await;
    run.step(&app.head(), "schedule", json!({"scheduled_at": "2026-12-01T08:00:00+07:00"}), "scheduled")
        .await;
    run.id
}

/// The feed parses as iCalendar, carries the operation at its local time with the zone it
/// names, and shows each agency only its own operations.
#[tokio::test]
async fn the_coercion_calendar_is_a_valid_ics_feed() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = scheduled_coercion(&app).await;
        let r = app.get("/api/v1/calendar/coercion.ics", &police(&app)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let text = r.text().await.unwrap();
        assert!(text.lines().all(|l| l.len() <= 75), "lines are folded at 75 octets");
        assert!(text.contains("\r\n"), "lines end in CRLF");
        assert!(!text.replace("\r\n", "").contains('\r'), "no bare CR");

        let calendar = ical::IcalParser::new(text.as_bytes()).next().expect("a calendar").expect("it parses");
        assert_eq!(calendar.timezones.len(), 1);
        assert_eq!(calendar.events.len(), 1);
        let event = &calendar.events[0];
        let prop =
            |name: &str| event.properties.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name}"));
        let start = prop("DTSTART");
        assert_eq!(start.value.as_deref(), Some("20261201T080000"));
        let tzid = start.params.as_ref().unwrap().iter().find(|(k, _)| k == "TZID").unwrap();
        assert_eq!(tzid.1, ["Asia/Ho_Chi_Minh"]);
        assert_eq!(prop("UID").value.as_deref(), Some(format!("{id}@lienganh").as_str()));
        assert_eq!(prop("STATUS").value.as_deref(), Some("CONFIRMED"));
        assert!(prop("DESCRIPTION").value.as_deref().unwrap().contains("15/KH-CAHN"));
        let location = "Thôn Đông\\, xã Đông Anh\\; Hà Nội\\nCổng số 2\\, cạnh trụ sở Ủy ban nhân dân xã\\, \
                        đường liên thôn\\, gần chợ Đông Anh";
        assert_eq!(prop("LOCATION").value.as_deref(), Some(location));
        let zone = &calendar.timezones[0];
        assert!(zone
            .properties
            .iter()
            .any(|p| p.name == "TZID" && p.value.as_deref() == Some("Asia/Ho_Chi_Minh")));

        // Not a party: an empty feed; another agency's feed: not found.
        let lc = app.token("cb-lc", "THADS-LC", &[lienganh::domain::Role::EnforcementOfficer]);
        let text = app.get("/api/v1/calendar/coercion.ics", &lc).await.text().await.unwrap();
        let calendar = ical::IcalParser::new(text.as_bytes()).next().unwrap().unwrap();
        assert_eq!(calendar.events.len(), 0);
        let r = app.get("/api/v1/calendar/coercion.ics?agency=THADS-HN", &lc).await;
        expect_problem(r, 404, "not_found").await;
        let r = app.get("/api/v1/calendar/coercion.ics?agency=BCD-HN", &steering_member(&app)).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
}
