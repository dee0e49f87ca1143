//! The console's views for the procuracy and the steering committee, over HTTP: instruments
//! issued and replies due, a reply accepted from its page; the month calendar of coercion
//! operations with the police's confirmation; the reports as tables, charts and CSV.

use serde_json::{json, Value};

use crate::console::{add_user, Browser, FormFile, PASSWORD};
use crate::helpers::{backends, spawn, TestApp};
use crate::scenarios::common::{add_coercion_agencies, police, CITY_COMMITTEE, COMMUNE};

/// Takes a step from the instance's page, as its form posts it.
async fn step(b: &mut Browser<'_>, id: &str, fields: &[(&str, &str)]) -> u16 {
    crate::console::step(b, id, fields).await.status
}

async fn fire(app: &TestApp, id: &str, token: &str, transition: &str, data: Value) {
    let seen: Value = app.get(&format!("/api/v1/instances/{id}"), token).await.json().await.unwrap();
    let r = app.fire(id, token, transition, seen["version"].as_i64().unwrap(), data).await;
    assert_eq!(r.status(), 200, "{transition}: {}", r.text().await.unwrap());
}

#[tokio::test]
async fn an_inspector_issues_a_recommendation_and_accepts_its_answer() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_user(&app, "kiemsat.hn", "VKS-HN", &["procuracy_inspector"]);
        let mut inspector = Browser::new(&app);
        assert_eq!(inspector.sign_in("kiemsat.hn", PASSWORD).await.status, 303);
        let home = inspector.get("/console/inbox").await;
        assert!(home.body.contains(r#"href="/console/procuracy""#));

        let form = inspector.get("/console/new/procuracy_supervision").await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains(r#"<option value="recommendation">Kiến nghị</option>"#), "{}", form.body);
        let at = form.body.find(r#"name="form_key" value=""#).unwrap() + r#"name="form_key" value=""#.len();
        let key = form.body[at..at + 32].to_owned();
        let csrf = form.csrf();
        // The signed instrument goes with it: the form posts files.
        assert!(form.body.contains(r#"enctype="multipart/form-data""#), "{}", form.body);
        assert!(form.body.contains(r#"name="d.instrument_file""#), "{}", form.body);
        let signed = [FormFile::pdf("d.instrument_file", "kien-nghi-12.pdf")];
        let issued = inspector
            .post_multipart(
                "/console/new/procuracy_supervision",
                &[
                    ("csrf", &csrf),
                    ("form_key", &key),
                    ("p.enforcement", "THADS-HN"),
                    ("d.instrument", "recommendation"),
                    ("d.document_number", "12/KN-VKS"),
                    ("d.issued_on", "2026-11-25"),
                    ("d.content", "Chậm ra quyết định thi hành án"),
                    ("d.reply_due", "2026-12-10"),
                ],
                &signed,
            )
            .await;
        assert_eq!(issued.status, 303, "{backend:?} {}", issued.body);
        let id = issued.location.unwrap().trim_start_matches("/console/instances/").to_owned();
        let seen: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.procuracy()).await.json().await.unwrap();
        let file = &seen["data"]["instrument_file"];
        assert_eq!(
            (file["name"].as_str(), file["media_type"].as_str()),
            (Some("kien-nghi-12.pdf"), Some("application/pdf"))
        );
        assert_eq!(file["sha256"], signed[0].sha256(), "{seen}");

        // The reply is due from the office, on the date the document set.
        let view = inspector.get("/console/procuracy").await;
        assert_eq!(view.status, 200);
        let due = &view.body
            [view.body.find(r#"id="replies-due""#).unwrap()..view.body.find(r#"id="to-assess""#).unwrap()];
        assert!(due.contains("Kiến nghị 12/KN-VKS"), "{due}");
        assert!(due.contains("10/12/2026"), "{due}");
        assert!(due.contains("THADS-HN"));

        fire(&app, &id, &app.officer(), "acknowledge", json!({})).await;
        let answer = json!({"reply_number": "512/THADS-NV", "reply_date": "2026-12-01", "measures": "Đã ra quyết định"});
        let answer = app.with_pdf(&app.head(), "reply_file", answer).await;
        fire(&app, &id, &app.head(), "answer", answer).await;
        let view = inspector.get("/console/procuracy").await;
        let to_assess = &view.body
            [view.body.find(r#"id="to-assess""#).unwrap()..view.body.find(r#"id="issued""#).unwrap()];
        assert!(to_assess.contains("Kiến nghị 12/KN-VKS"), "{to_assess}");
        assert!(to_assess.contains("512/THADS-NV"));

        assert_eq!(
            step(&mut inspector, &id, &[("transition", "accept"), ("d.assessment", "Đã khắc phục")]).await,
            303
        );
        let seen: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(seen["state"], "accepted");
        let view = inspector.get("/console/procuracy").await;
        assert!(view.body.contains("Viện kiểm sát chấp nhận"), "{}", view.body);

        // An office's officer has no procuracy view to speak of: nothing of Lào Cai's shows.
        add_user(&app, "kiemsat.lc", "VKS-LC", &["procuracy_inspector"]);
        let mut other = Browser::new(&app);
        assert_eq!(other.sign_in("kiemsat.lc", PASSWORD).await.status, 303);
        let view = other.get("/console/procuracy").await;
        assert_eq!(view.status, 200);
        assert!(view.body.contains(r#"id="issued""#));
        assert!(!view.body.contains("12/KN-VKS"));
    }
}

#[tokio::test]
async fn the_steering_calendar_shows_the_operation_and_its_protection() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        add_user(&app, "chidao.hn", CITY_COMMITTEE, &["steering_member"]);
        let request = json!({
            "workflow": "coercion_plan",
            "reference_date": "2026-12-01",
            "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": COMMUNE,
                        "coordinator": CITY_COMMITTEE},
            "data": {"case_reference": "1520/QĐ-CTHADS", "measure": "seize_property",
                     "location": "Thôn Đông, xã Đông Anh", "estimated_cost": "45000000", "complex": true}
        });
        let r = app.post("/api/v1/instances", &app.officer(), &request).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let approval = app.with_pdf(&app.head(), "decision_file", json!({"approved_on": "2026-12-01"})).await;
        fire(&app, &id, &app.head(), "approve", approval).await;
        fire(
            &app,
            &id,
            &app.officer(),
            "send",
            json!({"sent_on": "2026-12-01", "dispatch_number": "77/THADS-CC"}),
        )
        .await;

        let mut member = Browser::new(&app);
        assert_eq!(member.sign_in("chidao.hn", PASSWORD).await.status, 303);
        let page = member.get("/console/steering?month=2026-12").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Tháng 12/2026"));
        let waiting = &page.body[page.body.find(r#"id="unscheduled""#).unwrap()..];
        assert!(waiting.contains("1520/QĐ-CTHADS") && waiting.contains("Chờ Công an xác nhận"), "{waiting}");

        fire(
            &app,
            &id,
            &police(&app),
            "confirm_protection",
            json!({"protection_plan_number": "15/KH-CAHN", "officers": 24}),
        )
        .await;
        // The committee schedules it from the page: Tuesday 15 December 2026, 08:00.
        assert_eq!(
            step(
                &mut member,
                &id,
                &[("transition", "schedule_complex"), ("d.scheduled_at", "2026-12-15T08:00")]
            )
            .await,
            303
        );
        let page = member.get("/console/steering?month=2026-12").await;
        let cell =
            page.body.split(r#"data-date="2026-12-15""#).nth(1).unwrap().split("</td>").next().unwrap();
        assert!(cell.contains("08:00") && cell.contains("Kê biên tài sản"), "{cell}");
        assert!(cell.contains("Công an đã xác nhận"), "{cell}");
        let listed = &page.body[page.body.find(r#"id="this-month""#).unwrap()..];
        assert!(listed.contains("15/KH-CAHN"), "{listed}");

        // A feed for the member's calendar app, made from the page, shown once, then revoked.
        let card = &page.body[page.body.find(r#"id="calendar-feed""#).unwrap()..];
        assert!(card.contains("Tạo đường dẫn") && !card.contains("Thu hồi"), "{card}");
        let made = member.post("/console/steering/feed", &[("csrf", &page.csrf())]).await;
        assert_eq!(made.status, 200, "{}", made.body);
        let url = made.body.split(r#"id="feed-url" type="text" readonly value=""#).nth(1).unwrap();
        let url = url.split('"').next().unwrap().to_owned();
        let ics = reqwest::get(&url).await.unwrap();
        assert_eq!(ics.status(), 200, "{url}");
        assert!(ics.text().await.unwrap().contains("20261215T080000"), "the operation, without a header");
        let page = member.get("/console/steering?month=2026-12").await;
        assert!(!page.body.contains(&url), "the URL is shown once");
        assert!(page.body.contains("Thu hồi đường dẫn"));
        let refused = member.post("/console/steering/feed/revoke", &[("csrf", "forged")]).await;
        assert_eq!(refused.status, 403);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 200, "a forged form revokes nothing");
        let revoked = member.post("/console/steering/feed/revoke", &[("csrf", &page.csrf())]).await;
        assert_eq!(revoked.status, 303);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 404, "revoked at once");

        // Another month has none of it.
        let november = member.get("/console/steering?month=2026-11").await;
        assert_eq!(november.status, 200);
        assert!(november.body.contains("Tháng 11/2026"));
        assert!(!november.body.contains("Kê biên tài sản"));
        for month in ["12-2026", "%2B262142-12", "-262143-01", "1999-12", "2026-13"] {
            assert_eq!(member.get(&format!("/console/steering?month={month}")).await.status, 400, "{month}");
        }
        let typo = member.get("/console/reports?year=abc").await;
        assert_eq!(typo.status, 400);
        assert!(
            typo.body.contains(r#"<p class="problem" role="alert">"#),
            "a page, not a bare status: {}",
            typo.body
        );

        // The reports: tables, charts and the CSV of each.
        let reports = member.get("/console/reports?agency=THADS-HN&year=2027").await;
        assert_eq!(reports.status, 200, "{}", reports.body);
        let body = &reports.body;
        let coordination = &body[body.find(r#"id="coordination""#).unwrap()..];
        assert!(coordination.contains("Kế hoạch cưỡng chế thi hành án (Luật 106/2025)"), "{coordination}");
        assert!(coordination.contains(">CA-HN<"), "{coordination}");
        let enforcement =
            &body[body.find(r#"id="enforcement""#).unwrap()..body.find(r#"id="coordination""#).unwrap()];
        assert!(
            enforcement.contains(r#"<th scope="row" data-label="Cơ quan THADS">THADS-HN</th>"#),
            "{enforcement}"
        );
        let csv = member.get("/console/reports/enforcement.csv?agency=THADS-HN&year=2027").await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.body.starts_with("\u{FEFF}agency,agency_name,parent,from,to,cases_total"),
            "{}",
            csv.body
        );
        assert!(csv.body.lines().nth(1).unwrap().starts_with("THADS-HN,"));
        let csv = member.get("/console/reports/coordination.csv?agency=THADS-HN&year=2027").await;
        assert_eq!(csv.status, 200);
        assert!(csv.body.starts_with("\u{FEFF}kind,from,to,workflow"), "{}", csv.body);
        assert!(csv.body.contains("step,2026-10-01,2027-09-30,coercion_plan"), "{}", csv.body);
    }
}
