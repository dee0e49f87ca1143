use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use diesel::RunQueryDsl;
use lienganh::domain::Role;
use lienganh::engine::calendar::{Calendar, Unit};
use lienganh::jobs::{self as reminders, Report};
use lienganh::store::Db;
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, register_data, spawn, transfer_request, TestApp};

fn calendar() -> Calendar {
    Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml")).unwrap()
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// One reminder pass as of `now`, as `lienganh remind --once --now` runs it.
async fn pass(app: &TestApp, node: &str, now: DateTime<Utc>) -> Report {
    let db = Db::connect(&app.database_url, 2).unwrap();
    reminders::pass(&db, node, micros(now), &reminders::http_client().unwrap()).await.unwrap()
}

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    let page: Value = app.get("/api/v1/inbox?limit=500", token).await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn kinds(items: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = items.iter().map(|n| n["kind"].as_str().unwrap().to_owned()).collect();
    kinds.sort();
    kinds
}

async fn deadline(app: &TestApp, id: &str, token: &str, name: &str) -> Value {
    let instance: Value = app.get(&format!("/api/v1/instances/{id}"), token).await.json().await.unwrap();
    let found = instance["deadlines"].as_array().unwrap().iter().rev().find(|d| d["name"] == name).cloned();
    found.unwrap_or_else(|| panic!("no deadline {name}: {instance}"))
}

/// A court_transfer received on Friday 28 August 2026, before Monday 31 August (swapped off),
/// 1 and 2 September: its five working days for the decision end on Wednesday 9 September.
#[tokio::test]
async fn a_decision_deadline_skips_the_holidays() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut request = transfer_request("standard");
        request["reference_date"] = json!("2026-08-20");
        request["data"]["effective_date"] = json!("2026-08-20");
        let id = app.post("/api/v1/instances", &app.court(), &request).await.json::<Value>().await.unwrap()
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            app.fire(&id, &app.court(), "transfer", 1, app.transfer_data("Bản án").await).await.status(),
            200
        );
        assert_eq!(
            app.fire(&id, &app.officer(), "register", 2, register_data("2026-08-28")).await.status(),
            200
        );

        let decision = deadline(&app, &id, &app.officer(), "enforcement_decision").await;
        assert_eq!(decision["due_date"], "2026-09-09", "{backend:?} {decision}");
        assert_eq!(decision["due_at"], "2026-09-10T00:00:00.000000+07:00");
        assert_eq!(decision["starts_at"], "2026-08-28T00:00:00.000000+07:00");
        assert_eq!(decision["unit"], "working_days");
        assert_eq!(decision["responsible"], "THADS-HN");
        assert_eq!(decision["escalate_to"], "VKS-HN");
        assert_eq!(decision["calendar_complete"], true);
        assert!(decision["legal_basis"].as_str().unwrap().contains("Điều 36"));
        // Long past by now: open and overdue.
        assert_eq!((decision["status"].as_str(), decision["overdue"].as_bool()), (Some("open"), Some(true)));

        // The transfer itself came after its 30 days from 20 August (due 19 September): missed.
        let transfer = deadline(&app, &id, &app.officer(), "transfer").await;
        assert_eq!(transfer["due_date"], "2026-09-21", "19/9 is a Saturday: the next working day");
        assert_eq!(transfer["status"], "missed");

        let overdue: Value =
            app.get("/api/v1/deadlines?status=overdue", &app.head()).await.json().await.unwrap();
        let names: Vec<&str> =
            overdue["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["enforcement_decision"]);
        let missed: Value = app
            .get("/api/v1/deadlines?status=missed&agency=TAND-HN", &app.head())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(missed["items"].as_array().unwrap().len(), 1);
        let listed: Value =
            app.get("/api/v1/instances?overdue=true", &app.head()).await.json().await.unwrap();
        assert_eq!(listed["items"][0]["id"], id.as_str());

        // Nothing of it shows to an agency that is no party.
        let police = app.token("police-1", "CA-HN", &[Role::PoliceLiaison]);
        let theirs: Value = app.get("/api/v1/deadlines", &police).await.json().await.unwrap();
        assert_eq!(theirs["items"], json!([]));
        let theirs: Value = app.get("/api/v1/instances?overdue=true", &police).await.json().await.unwrap();
        assert_eq!(theirs["items"], json!([]));
        expect_problem(app.get("/api/v1/deadlines?status=late", &app.head()).await, 400, "malformed_request")
            .await;
    }
}

fn explanation_request() -> Value {
    json!({
        "workflow": "court_explanation",
        "parties": {"enforcement": "THADS-HN", "court": "TAND-HN", "procuracy": "VKS-HN"},
        "data": {
            "judgment_number": "125/2026/KDTM-PT",
            "request_number": "77/THADS",
            "request_date": "2026-11-23",
            "points": "Cách tính lãi chậm thi hành án"
        }
    })
}

async fn start_explanation(app: &TestApp) -> String {
    let r = app.post("/api/v1/instances", &app.officer(), &explanation_request()).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// The court has 15 days to explain: reminders 3 and 1 working days before its last day (at
/// 08:00), the due notice when it passes, and the escalation to the procuracy; each once, in
/// the right inboxes.
#[tokio::test]
async fn reminders_before_at_and_after_the_due_time_each_once() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = start_explanation(&app).await;
        let answer = deadline(&app, &id, &app.court(), "answer").await;
        let due_at: DateTime<Utc> =
            DateTime::parse_from_rfc3339(answer["due_at"].as_str().unwrap()).unwrap().into();
        let last_day: chrono::NaiveDate = answer["due_date"].as_str().unwrap().parse().unwrap();
        let cal = calendar();
        let opened: DateTime<Utc> =
            DateTime::parse_from_rfc3339(answer["starts_at"].as_str().unwrap()).unwrap().into();
        assert_eq!(
            cal.due(opened, 15, Unit::CalendarDays).value.last_day,
            last_day,
            "the due day follows the calendar"
        );
        let at_eight = |day: chrono::NaiveDate| -> DateTime<Utc> {
            day.and_hms_opt(8, 0, 0).unwrap().and_local_timezone(Ho_Chi_Minh).unwrap().with_timezone(&Utc)
        };
        let three_before = at_eight(cal.sub_working_days(last_day, 3).value);
        let one_before = at_eight(cal.sub_working_days(last_day, 1).value);

        let reminders_in =
            |items: &[Value]| items.iter().filter(|n| n["kind"] != "step").cloned().collect::<Vec<_>>();
        assert_eq!(pass(&app, "a", three_before - chrono::Duration::minutes(1)).await, Report::default());
        assert_eq!(pass(&app, "a", three_before).await.reminders_sent, 1);
        assert_eq!(pass(&app, "a", three_before).await.reminders_sent, 0, "sent once");
        let court = reminders_in(&inbox(&app, &app.court()).await);
        assert_eq!(kinds(&court), ["reminder"]);
        assert!(court[0]["subject"].as_str().unwrap().starts_with("Còn 3 ngày làm việc"), "{court:?}");
        assert_eq!(court[0]["payload"]["legal_basis"], answer["legal_basis"]);

        assert_eq!(pass(&app, "a", one_before).await.reminders_sent, 1);
        // On the last day, at 08:00: the notice that it is the last day.
        let last = at_eight(last_day);
        assert_eq!(pass(&app, "a", last - chrono::Duration::seconds(1)).await.reminders_sent, 0);
        assert_eq!(pass(&app, "a", last).await.reminders_sent, 1);
        // When it has passed: the escalation.
        assert_eq!(pass(&app, "a", due_at - chrono::Duration::seconds(1)).await.reminders_sent, 0);
        assert_eq!(pass(&app, "a", due_at).await.reminders_sent, 1, "the escalation");
        assert_eq!(
            pass(&app, "b", due_at + chrono::Duration::days(30)).await.reminders_sent,
            0,
            "nothing twice"
        );

        let court = reminders_in(&inbox(&app, &app.court()).await);
        assert_eq!(kinds(&court), ["due", "reminder", "reminder"]);
        let due_notice = court.iter().find(|n| n["kind"] == "due").unwrap();
        assert!(due_notice["subject"].as_str().unwrap().starts_with("Hôm nay là ngày cuối"), "{due_notice}");
        let procuracy = reminders_in(&inbox(&app, &app.procuracy()).await);
        assert_eq!(kinds(&procuracy), ["escalation"]);
        assert!(procuracy[0]["subject"].as_str().unwrap().contains("TAND-HN"), "{procuracy:?}");
        // The office that asked is told of nothing but the steps.
        assert_eq!(reminders_in(&inbox(&app, &app.officer()).await), Vec::<Value>::new());

        // Read once, by the first reader; another agency cannot touch it.
        let note = court[0]["id"].as_str().unwrap();
        let r = app.post(&format!("/api/v1/inbox/{note}/read"), &app.court(), &json!({})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["read_by"], "court-1");
        expect_problem(
            app.post(&format!("/api/v1/inbox/{note}/read"), &app.procuracy(), &json!({})).await,
            404,
            "not_found",
        )
        .await;
        let unread: Value = app.get("/api/v1/inbox?unread=true", &app.court()).await.json().await.unwrap();
        assert!(unread["items"].as_array().unwrap().iter().all(|n| n["id"] != note));

        // Answered late: the deadline closes as missed and the office may act.
        let answered = json!({"answer_number": "5/TA", "answer_date": "2026-12-20", "explanation": "Lãi tính từ ngày..."});
        assert_eq!(app.fire(&id, &app.court(), "answer", 1, answered).await.status(), 200);
        let answer = deadline(&app, &id, &app.court(), "answer").await;
        assert_eq!(answer["status"], "met", "answered before its real due time");
    }
}

/// A deadline met before its reminders fall due has them cancelled, not sent.
#[tokio::test]
async fn a_met_deadline_sends_no_reminders() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = start_explanation(&app).await;
        let answered =
            json!({"answer_number": "5/TA", "answer_date": "2026-11-24", "explanation": "Như sau"});
        assert_eq!(app.fire(&id, &app.court(), "answer", 1, answered).await.status(), 200);
        let later = Utc::now() + chrono::Duration::days(60);
        let report = pass(&app, "a", later).await;
        // The act_on deadline (5 working days) is still open: its reminders go out; none of answer's.
        assert_eq!(report.reminders_sent, 4, "{report:?}");
        let court = inbox(&app, &app.court()).await;
        assert!(court.iter().all(|n| n["kind"] == "step"), "{court:?}");
    }
}

/// One request a test receiver got.
#[derive(Clone)]
struct Request {
    body: String,
    headers: http::HeaderMap,
    /// The `webhook-id`: the delivery's.
    delivery: String,
}

impl Request {
    /// Whether the request verifies under `secret`, by the Standard Webhooks specification's
    /// own implementation, as a receiver would check it.
    fn verifies_with(&self, secret: &str) -> bool {
        standardwebhooks::Webhook::new(secret).unwrap().verify(self.body.as_bytes(), &self.headers).is_ok()
    }

    fn signatures(&self) -> usize {
        self.headers[standardwebhooks::HEADER_WEBHOOK_SIGNATURE].to_str().unwrap().split(' ').count()
    }
}

/// What a test receiver got.
#[derive(Default)]
struct Received {
    requests: Mutex<Vec<Request>>,
    /// Answer 500 to this many requests first.
    failures: AtomicUsize,
}

async fn receive(req: HttpRequest, body: web::Bytes, state: web::Data<Arc<Received>>) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        headers.append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let delivery = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(&body).into_owned();
    state.requests.lock().unwrap().push(Request { body, headers, delivery });
    let fail = state.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if fail {
        HttpResponse::InternalServerError().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}

/// Starts a webhook receiver on a free port; returns its URL.
fn receiver(state: Arc<Received>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = web::Data::new(state);
    let server =
        HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(receive)))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/hook")
}

/// Registers a webhook; returns its id and the secret the service generated.
async fn register(app: &TestApp, agency: &str, url: &str) -> (String, String) {
    let r =
        app.post(&format!("/api/v1/agencies/{agency}/webhooks"), &app.admin(), &json!({"url": url})).await;
    assert_eq!(r.status(), 201);
    let hook: Value = r.json().await.unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() >= 6 + 43, "generated: {secret}");
    let id = hook["id"].as_str().unwrap().to_owned();
    let shown: Value = app.get(&format!("/api/v1/webhooks/{id}"), &app.admin()).await.json().await.unwrap();
    assert!(shown.get("secret").is_none(), "the secret is shown once: {shown}");
    (id, secret)
}

#[tokio::test]
async fn a_webhook_is_retried_with_backoff_until_it_is_delivered_signed() {
    for backend in backends() {
        let app = spawn(backend).await;
        let received = Arc::new(Received::default());
        received.failures.store(2, Ordering::SeqCst);
        let (hook, secret) = register(&app, "TAND-HN", &receiver(received.clone())).await;
        let (_, another) = register(&app, "TAND-HN", "http://127.0.0.1:9/elsewhere").await;
        assert_ne!(secret, another, "each webhook its own secret");
        start_explanation(&app).await; // the court is told of the request

        let t = Utc::now();
        // Both webhooks are tried; the one nobody listens on fails too.
        assert_eq!(pass(&app, "a", t).await.webhooks_retried, 2, "the first attempts fail");
        assert_eq!(
            pass(&app, "a", t + chrono::Duration::seconds(29)).await.webhooks_retried,
            0,
            "waits 30 s"
        );
        assert_eq!(
            pass(&app, "a", t + chrono::Duration::seconds(30)).await.webhooks_retried,
            2,
            "the second fails"
        );
        assert_eq!(
            pass(&app, "a", t + chrono::Duration::seconds(30 + 299)).await,
            Report::default(),
            "then waits 5 minutes"
        );
        let third = pass(&app, "a", t + chrono::Duration::seconds(30 + 300)).await;
        assert_eq!((third.webhooks_delivered, third.webhooks_retried), (1, 1));
        assert_eq!(
            pass(&app, "a", t + chrono::Duration::days(3)).await.webhooks_delivered,
            0,
            "delivered once"
        );

        let requests = received.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3);
        for r in &requests {
            assert!(r.verifies_with(&secret), "verifies with the webhook's secret");
            assert!(!r.verifies_with(&another), "not with another");
            assert_eq!(r.signatures(), 1);
            let parsed: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(parsed["delivery_id"], r.delivery.as_str());
            assert_eq!(parsed["notification"]["agency"], "TAND-HN");
            assert_eq!(
                parsed["type"],
                format!("notification.{}", parsed["notification"]["kind"].as_str().unwrap())
            );
            // Tampered with, it no longer verifies.
            let tampered = Request { body: r.body.replace("TAND-HN", "TAND-HP"), ..r.clone() };
            assert!(!tampered.verifies_with(&secret));
        }
        assert!(requests.iter().all(|r| r.delivery == requests[0].delivery), "one delivery, three attempts");
        let deliveries: Value =
            app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &app.admin()).await.json().await.unwrap();
        assert_eq!(deliveries[0]["status"], "delivered");
        assert_eq!(deliveries[0]["attempts"], 3);
        expect_problem(
            app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &app.court()).await,
            403,
            "forbidden",
        )
        .await;
    }
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_retried_over_a_day_then_shown_failed() {
    let app = spawn(backends()[0]).await;
    let received = Arc::new(Received::default());
    received.failures.store(usize::MAX, Ordering::SeqCst);
    let (hook, _) = register(&app, "TAND-HN", &receiver(received.clone())).await;
    start_explanation(&app).await;
    let start = Utc::now();
    let mut given_up_after = None;
    for hour in 0..=30 {
        if pass(&app, "a", start + chrono::Duration::hours(hour)).await.webhooks_failed > 0 {
            assert!(given_up_after.is_none(), "given up once");
            given_up_after = Some(hour);
        }
    }
    let hours = given_up_after.expect("given up");
    assert!((24..=30).contains(&hours), "the attempts spread over about a day: {hours} h");
    assert_eq!(received.requests.lock().unwrap().len(), reminders::MAX_ATTEMPTS as usize);
    let failed: Value = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries?status=failed"), &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed[0]["attempts"], reminders::MAX_ATTEMPTS);
    assert!(failed[0]["last_error"].as_str().unwrap().contains("500"), "{failed}");
    // Bad registrations are refused; a secret is not the client's to choose.
    let bad = json!({"url": "ftp://example"});
    let problem = expect_problem(
        app.post("/api/v1/agencies/TAND-HN/webhooks", &app.admin(), &bad).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
    let chosen = json!({"url": "http://127.0.0.1:9/x", "secret": "0123456789abcdef"});
    let problem = expect_problem(
        app.post("/api/v1/agencies/TAND-HN/webhooks", &app.admin(), &chosen).await,
        422,
        "validation_failed",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("secret"), "{problem}");
    let ok = json!({"url": "http://127.0.0.1:9/x"});
    expect_problem(app.post("/api/v1/agencies/TAND-HN/webhooks", &app.court(), &ok).await, 403, "forbidden")
        .await;
    expect_problem(app.post("/api/v1/agencies/TAND-XX/webhooks", &app.admin(), &ok).await, 404, "not_found")
        .await;
}

/// A rotated secret: both signatures during the overlap, each verifying under its own secret;
/// with no overlap the old secret stops at once.
#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_during_the_overlap() {
    for backend in backends() {
        let app = spawn(backend).await;
        let received = Arc::new(Received::default());
        let (hook, first) = register(&app, "TAND-HN", &receiver(received.clone())).await;
        start_explanation(&app).await;
        assert_eq!(pass(&app, "a", Utc::now()).await.webhooks_delivered, 1);

        let rotate = |overlap: Value| {
            let (app, hook) = (&app, hook.clone());
            async move {
                let r = app.post(&format!("/api/v1/webhooks/{hook}/secret"), &app.admin(), &overlap).await;
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.unwrap()
            }
        };
        let rotated = rotate(json!({})).await;
        let second = rotated["secret"].as_str().unwrap().to_owned();
        assert!(second.starts_with("whsec_") && second != first);
        let until = DateTime::parse_from_rfc3339(rotated["previous_secret_until"].as_str().unwrap()).unwrap();
        let hours = (until.with_timezone(&Utc) - Utc::now()).num_minutes() as f64 / 60.0;
        assert!((23.9..=24.0).contains(&hours), "a day's overlap unless said: {hours}");
        start_explanation(&app).await;
        assert_eq!(pass(&app, "a", Utc::now()).await.webhooks_delivered, 1);

        let third = rotate(json!({"overlap_hours": 0})).await["secret"].as_str().unwrap().to_owned();
        start_explanation(&app).await;
        assert_eq!(pass(&app, "a", Utc::now()).await.webhooks_delivered, 1);

        let requests = received.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3);
        let (before, during, after) = (&requests[0], &requests[1], &requests[2]);
        assert!(before.verifies_with(&first) && !before.verifies_with(&second));
        assert_eq!(during.signatures(), 2, "both signatures during the overlap");
        assert!(during.verifies_with(&first) && during.verifies_with(&second));
        assert_eq!(after.signatures(), 1, "no overlap asked: the replaced secret stops");
        assert!(after.verifies_with(&third) && !after.verifies_with(&second) && !after.verifies_with(&first));

        expect_problem(
            app.post(
                &format!("/api/v1/webhooks/{hook}/secret"),
                &app.admin(),
                &json!({"overlap_hours": 169}),
            )
            .await,
            422,
            "validation_failed",
        )
        .await;
        expect_problem(
            app.post(&format!("/api/v1/webhooks/{hook}/secret"), &app.court(), &json!({})).await,
            403,
            "forbidden",
        )
        .await;
        assert_eq!(app.delete(&format!("/api/v1/webhooks/{hook}"), &app.admin()).await.status(), 200);
        expect_problem(
            app.post(&format!("/api/v1/webhooks/{hook}/secret"), &app.admin(), &json!({})).await,
            409,
            "webhook_removed",
        )
        .await;
    }
}

/// An admin sends a failed delivery again: same `webhook-id`, a fresh round of attempts, who
/// asked kept on the delivery.
#[tokio::test]
async fn an_admin_sends_a_failed_delivery_again() {
    for backend in backends() {
        let app = spawn(backend).await;
        let received = Arc::new(Received::default());
        received.failures.store(usize::MAX, Ordering::SeqCst);
        let (hook, secret) = register(&app, "TAND-HN", &receiver(received.clone())).await;
        start_explanation(&app).await;
        let start = Utc::now();
        for hour in 0..=30 {
            pass(&app, "a", start + chrono::Duration::hours(hour)).await;
        }
        let deliveries = format!("/api/v1/webhooks/{hook}/deliveries");
        let failed: Value =
            app.get(&format!("{deliveries}?status=failed"), &app.admin()).await.json().await.unwrap();
        let delivery = failed[0]["id"].as_str().unwrap().to_owned();
        let again = format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/redeliver");

        expect_problem(app.post(&again, &app.court(), &json!({})).await, 403, "forbidden").await;
        let missing = format!("/api/v1/webhooks/{hook}/deliveries/{}/redeliver", uuid::Uuid::now_v7());
        expect_problem(app.post(&missing, &app.admin(), &json!({})).await, 404, "not_found").await;

        received.failures.store(0, Ordering::SeqCst);
        let r = app.post(&again, &app.admin(), &json!({})).await;
        assert_eq!(r.status(), 200);
        let queued: Value = r.json().await.unwrap();
        assert_eq!((queued["status"].as_str(), queued["attempts"].as_i64()), (Some("pending"), Some(0)));
        assert!(queued["redelivered_by"].as_str().unwrap().ends_with("/admin"), "{queued}");
        expect_problem(app.post(&again, &app.admin(), &json!({})).await, 409, "delivery_pending").await;

        assert_eq!(pass(&app, "a", Utc::now()).await.webhooks_delivered, 1);
        let requests = received.requests.lock().unwrap().clone();
        let last = requests.last().unwrap();
        assert_eq!(last.delivery, delivery, "the same webhook-id");
        assert!(last.verifies_with(&secret));
        let shown: Value = app.get(&deliveries, &app.admin()).await.json().await.unwrap();
        assert_eq!(shown[0]["status"], "delivered");
        assert!(shown[0]["redelivered_at"].is_string());

        assert_eq!(app.delete(&format!("/api/v1/webhooks/{hook}"), &app.admin()).await.status(), 200);
        expect_problem(app.post(&again, &app.admin(), &json!({})).await, 409, "webhook_removed").await;
    }
}

/// Two nodes sweeping at once over the same due rows: several hundred reminders, each sent
/// once, and every webhook delivery received once by the agencies' receiver.
#[tokio::test]
async fn two_nodes_send_each_reminder_and_webhook_exactly_once() {
    for backend in backends() {
        let app = spawn(backend).await;
        let received = Arc::new(Received::default());
        let url = receiver(received.clone());
        register(&app, "TAND-HN", &url).await;
        register(&app, "VKS-HN", &url).await;
        let instances = 300;
        for _ in 0..instances {
            start_explanation(&app).await;
        }
        let later = Utc::now() + chrono::Duration::days(60);
        let node = |name: &'static str| {
            let url = app.database_url.clone();
            async move {
                // Each node has pools of its own, as two processes would.
                let db = Db::connect(&url, 2).unwrap();
                reminders::pass(&db, name, micros(later), &reminders::http_client().unwrap()).await.unwrap()
            }
        };
        let (a, b) = tokio::join!(tokio::spawn(node("node-a")), tokio::spawn(node("node-b")));
        let (a, b) = (a.unwrap(), b.unwrap());
        println!("{backend:?}: node a {a:?}, node b {b:?}");
        // Four reminders each: 3 and 1 working days before, at the due time, and the escalation.
        assert_eq!(a.reminders_sent + b.reminders_sent, 4 * instances, "{backend:?} {a:?} {b:?}");
        assert_eq!(a.webhooks_retried + b.webhooks_retried + a.webhooks_failed + b.webhooks_failed, 0);

        let requests = received.requests.lock().unwrap().clone();
        let mut by_delivery: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &requests {
            *by_delivery.entry(r.delivery.as_str()).or_default() += 1;
        }
        assert!(by_delivery.values().all(|n| *n == 1), "{backend:?}: a delivery was received twice");
        // The court hears of each request and of its 3 reminders; the procuracy of each request
        // and of each escalation.
        assert_eq!(requests.len(), instances * (1 + 3) + instances * (1 + 1), "{backend:?}");
        assert_eq!(a.webhooks_delivered + b.webhooks_delivered, requests.len());
        let reminders_seen: BTreeSet<String> = requests
            .iter()
            .filter_map(|r| {
                let v: Value = serde_json::from_str(&r.body).ok()?;
                (v["notification"]["kind"] != "step")
                    .then(|| v["notification"]["id"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(reminders_seen.len(), 4 * instances);
    }
}

/// `lienganh remind --once --now` runs one pass against the configured database.
#[tokio::test]
async fn the_remind_command_runs_one_pass() {
    let app = spawn(backends()[0]).await;
    start_explanation(&app).await;
    let run = |now: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lienganh"))
            .env("LIENGANH_DATABASE_URL", &app.database_url)
            .env("LIENGANH_WORKFLOWS", Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows"))
            .env_remove("LIENGANH_JWT_SECRET")
            .args(["remind", "--once", "--now", &now])
            .output()
            .unwrap()
    };
    let later = (Utc::now() + chrono::Duration::days(60)).to_rfc3339();
    let out = run(later.clone());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("reminders sent 4,"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let again = run(later);
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("reminders sent 0,"));
    let bad = run("yesterday".into());
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"));
}

/// A reply deadline extended by the procuracy moves by the days granted; a suspended
/// re-verification clock stops and runs on.
#[tokio::test]
async fn deadlines_are_extended_and_suspended_where_the_definition_allows() {
    for backend in backends() {
        let app = spawn(backend).await;
        let request = json!({
            "workflow": "procuracy_supervision",
            "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
            "data": {"instrument": "request", "document_number": "90/YC-VKS", "issued_on": "2026-11-02",
                     "content": "Báo cáo việc chậm ra quyết định", "reply_due": "2026-11-20"}
        });
        let request = app.request_with_pdf(&app.procuracy(), "instrument_file", request).await;
        let id =
            app.post("/api/v1/instances", &app.procuracy(), &request).await.json::<Value>().await.unwrap()
                ["id"]
                .as_str()
                .unwrap()
                .to_owned();
        assert_eq!(deadline(&app, &id, &app.head(), "reply_request").await["due_date"], "2026-11-20");
        assert_eq!(app.fire(&id, &app.officer(), "acknowledge", 1, json!({})).await.status(), 200);
        let extension =
            json!({"extension_days": 5, "extension_reason": "Cần thêm thời gian xác minh 12 việc"});
        app.fire_ok(&id, &app.procuracy(), "extend_reply", 2, extension).await;
        let reply = deadline(&app, &id, &app.head(), "reply_request").await;
        assert_eq!(reply["due_date"], "2026-11-25", "{backend:?} five calendar days more");
        assert_eq!(reply["status"], "open");
        let history: Value =
            app.get(&format!("/api/v1/instances/{id}/history"), &app.head()).await.json().await.unwrap();
        assert_eq!(history["events"][2]["data"]["extension_reason"], "Cần thêm thời gian xác minh 12 việc");

        let verification = json!({
            "workflow": "condition_verification",
            "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
            "data": {"decision_number": "88/QĐ-THADS", "decision_sent_date": "2026-11-02"}
        });
        let id =
            app.post("/api/v1/instances", &app.officer(), &verification).await.json::<Value>().await.unwrap()
                ["id"]
                .as_str()
                .unwrap()
                .to_owned();
        let steps = [
            ("record_service", json!({"served_on": "2026-11-03", "service_channel": "vneid"})),
            ("start_verification", json!({"voluntary_period_ended": "2026-11-13"})),
            (
                "classify_not_yet",
                json!({"decision_not_yet_number": "5/QĐ", "verification_date": "2026-11-20",
                                        "reverification_basis": "standard", "findings": "Không có tài sản"}),
            ),
        ];
        let head = app.head();
        for (i, (step, data)) in steps.into_iter().enumerate() {
            let token = if step == "classify_not_yet" { &head } else { &app.officer() };
            let r = app.fire(&id, token, step, i as i64 + 1, data).await;
            assert_eq!(r.status(), 200, "{step}: {}", r.text().await.unwrap());
        }
        // Everything else due within the year is sent first, so what follows sees the cycle alone.
        pass(&app, "a", Utc::now() + chrono::Duration::days(400)).await;
        let cycle = deadline(&app, &id, &head, "reverification").await;
        assert_eq!(cycle["due_date"], "2027-05-20", "six months from the verification");
        let suspended = json!({"suspension_decision": "12/QĐ-THADS tạm đình chỉ (mở thủ tục phá sản)"});
        app.fire_ok(&id, &head, "suspend_enforcement", 4, suspended).await;
        assert_eq!(deadline(&app, &id, &head, "reverification").await["status"], "suspended");
        // A suspended clock sends nothing.
        let report = pass(&app, "a", Utc::now() + chrono::Duration::days(400)).await;
        assert_eq!(report.reminders_sent, 0, "{report:?}");
        app.fire_ok(&id, &head, "resume_enforcement", 5, json!({"resumption_decision": "13/QĐ-THADS"})).await;
        let resumed = deadline(&app, &id, &head, "reverification").await;
        assert_eq!(resumed["status"], "open");
        assert_eq!(resumed["due_date"], "2027-05-20", "suspended for moments: the same day");
    }
}

#[tokio::test]
async fn an_admin_adds_a_calendar_year_through_the_api() {
    let app = spawn(backends()[0]).await;
    let years: Value = app.get("/api/v1/calendar/years", &app.court()).await.json().await.unwrap();
    let listed: Vec<i64> = years.as_array().unwrap().iter().map(|y| y["year"].as_i64().unwrap()).collect();
    assert_eq!(listed, [2024, 2025, 2026, 2027]);
    assert_eq!(years[3]["provisional"], true);

    let year_2028 = json!({
        "tet": "2028-01-26",
        "holidays": ["2028-01-01", "2028-01-25", "2028-01-26", "2028-01-27", "2028-01-28", "2028-01-31"],
        "working_weekends": [],
        "source": "Thông báo nghỉ Tết 2028 (ví dụ kiểm thử)",
        "provisional": true
    });
    expect_problem(
        app.client
            .put(app.url("/api/v1/calendar/years/2028"))
            .bearer_auth(app.court())
            .json(&year_2028)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let mut wrong = year_2028.clone();
    wrong["tet"] = json!("2027-02-06");
    expect_problem(
        app.client
            .put(app.url("/api/v1/calendar/years/2028"))
            .bearer_auth(app.admin())
            .json(&wrong)
            .send()
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let r = app
        .client
        .put(app.url("/api/v1/calendar/years/2028"))
        .bearer_auth(app.admin())
        .json(&year_2028)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let years: Value = r.json().await.unwrap();
    assert_eq!(years[4]["year"], 2028);
    assert_eq!(years[4]["origin"], "api");

    // From now on coercion in 2028 is checked against it: Monday 7 February 2028 is a working
    // day within Tết's window; 31 January is one of the holidays given.
    let cal = {
        let db = Db::connect(&app.database_url, 1).unwrap();
        let mut conn = db.read().unwrap();
        lienganh::service::calendar::effective(&mut conn, &calendar()).unwrap()
    };
    assert!(cal.covers(2028));
    assert!(cal.check_coercion_day("2028-02-07".parse().unwrap()).unwrap_err().contains("Tết"));
    assert!(cal.check_coercion_day("2028-01-31".parse().unwrap()).unwrap_err().contains("holiday"));
    assert!(cal.check_coercion_day("2028-03-07".parse().unwrap()).is_ok());
    assert!(cal.due(Utc::now(), 1, Unit::WorkingDays).complete);
}

/// A removed webhook gets nothing more; what was pending for it is given up, with the reason.
#[tokio::test]
async fn a_removed_webhook_gets_nothing_more() {
    for backend in backends() {
        let app = spawn(backend).await;
        let received = Arc::new(Received::default());
        let (hook, _) = register(&app, "TAND-HN", &receiver(received.clone())).await;
        start_explanation(&app).await;
        expect_problem(app.delete(&format!("/api/v1/webhooks/{hook}"), &app.court()).await, 403, "forbidden")
            .await;
        let r = app.delete(&format!("/api/v1/webhooks/{hook}"), &app.admin()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["active"], false);
        start_explanation(&app).await;
        assert_eq!(pass(&app, "a", Utc::now()).await, Report::default(), "{backend:?}");
        assert!(received.requests.lock().unwrap().is_empty());

        let deliveries: Value =
            app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &app.admin()).await.json().await.unwrap();
        let deliveries = deliveries.as_array().unwrap();
        assert_eq!(deliveries.len(), 1, "the second request queued nothing");
        assert_eq!(deliveries[0]["status"], "failed");
        assert_eq!(deliveries[0]["attempts"], 0);
        assert!(deliveries[0]["last_error"].as_str().unwrap().contains("removed"));
        let listed: Value =
            app.get("/api/v1/agencies/TAND-HN/webhooks", &app.admin()).await.json().await.unwrap();
        assert_eq!(listed[0]["active"], false);
        let missing = "0190a0a0-0000-7000-8000-000000000000";
        expect_problem(
            app.delete(&format!("/api/v1/webhooks/{missing}"), &app.admin()).await,
            404,
            "not_found",
        )
        .await;
    }
}

/// A node that claims reminders and dies before sending them leaves them to another once its
/// lease runs out; should it come back, it can no longer mark them sent.
#[tokio::test]
async fn a_node_that_dies_mid_pass_leaves_its_claims_to_another() {
    for backend in backends() {
        let app = spawn(backend).await;
        start_explanation(&app).await;
        let later = micros(Utc::now() + chrono::Duration::days(60));
        let lease_until = later + micros_of(reminders::LEASE);
        let claimed = {
            let mut conn = lienganh::store::direct(&app.database_url).unwrap();
            lienganh::store::reminders::claim_due(&mut conn, "dead-node", later, lease_until, 100).unwrap()
        };
        assert_eq!(claimed.len(), 4, "{backend:?}");
        let at = |t: i64| DateTime::from_timestamp_micros(t).unwrap();
        assert_eq!(pass(&app, "b", at(later)).await.reminders_sent, 0, "still leased");
        assert_eq!(pass(&app, "b", at(lease_until + 1)).await.reminders_sent, 4, "taken over");
        let mut conn = lienganh::store::direct(&app.database_url).unwrap();
        let late =
            lienganh::store::reminders::finish(&mut conn, &claimed[0], "dead-node", "sent", lease_until + 2);
        assert!(!late.unwrap(), "the dead node's claim is void");
        drop(conn);
        let court = inbox(&app, &app.court()).await;
        assert_eq!(court.iter().filter(|n| n["kind"] != "step").count(), 3, "each once");
    }
}

fn micros_of(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap()
}

/// A coercion plan the police have not answered with a protection plan in 3 working days:
/// the police are reminded, and the escalation goes to the coordinator of a complex case (the
/// steering committee under Law 26/2008), or to the procuracy when there is none.
#[tokio::test]
async fn a_late_protection_plan_is_escalated_to_the_coordinator_when_there_is_one() {
    use crate::scenarios::common::{add_coercion_agencies, police, steering_member, COMMUNE, STEERING};
    for backend in backends() {
        let app = spawn(backend).await;
        add_coercion_agencies(&app).await;
        let mut ids = Vec::new();
        for (reference_date, coordinator) in [("2026-05-04", Some(STEERING)), ("2026-11-10", None)] {
            let mut request = json!({
                "workflow": "coercion_plan",
                "reference_date": reference_date,
                "parties": {"enforcement": "THADS-HN", "police": "CA-HN", "procuracy": "VKS-HN", "commune": COMMUNE},
                "data": {"case_reference": "1520/QĐ-CTHADS", "measure": "seize_property",
                         "location": "Thôn Đông, xã Đông Anh", "estimated_cost": "45000000",
                         "complex": coordinator.is_some()}
            });
            if let Some(c) = coordinator {
                request["parties"]["coordinator"] = json!(c);
            }
            let r = app.post("/api/v1/instances", &app.officer(), &request).await;
            assert_eq!(r.status(), 201);
            let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            let approve =
                app.with_pdf(&app.head(), "decision_file", json!({"approved_on": reference_date})).await;
            assert_eq!(app.fire(&id, &app.head(), "approve", 1, approve).await.status(), 200);
            let send = json!({"sent_on": reference_date, "dispatch_number": "77/THADS-CC"});
            assert_eq!(app.fire(&id, &app.officer(), "send", 2, send).await.status(), 200);
            let protection = deadline(&app, &id, &police(&app), "protection_plan").await;
            assert_eq!(protection["escalate_to"], coordinator.unwrap_or("VKS-HN"), "{backend:?}");
            ids.push(id);
        }
        pass(&app, "a", Utc::now() + chrono::Duration::days(30)).await;

        let escalations = |items: Vec<Value>| -> Vec<String> {
            items
                .iter()
                .filter(|n| n["kind"] == "escalation")
                .map(|n| n["instance_id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(escalations(inbox(&app, &steering_member(&app)).await), [ids[0].clone()]);
        assert_eq!(escalations(inbox(&app, &app.procuracy()).await), [ids[1].clone()]);
        let police_told = inbox(&app, &police(&app)).await;
        let due: Vec<&Value> = police_told.iter().filter(|n| n["kind"] == "due").collect();
        assert_eq!(due.len(), 2, "the police are told of both");
        assert!(due.iter().all(|n| n["payload"]["legal_basis"].as_str().unwrap().contains("Điều 72")
            || n["payload"]["legal_basis"].as_str().unwrap().contains("106/2025")));
    }
}

/// Starts a condition_verification and classifies it not yet enforceable as of `verified_on`:
/// its re-verification clock runs six months from that day.
async fn not_yet_enforceable(app: &TestApp, verified_on: &str) -> String {
    let request = json!({
        "workflow": "condition_verification",
        "parties": {"enforcement": "THADS-HN", "procuracy": "VKS-HN"},
        "data": {"decision_number": "88/QĐ-THADS", "decision_sent_date": "2025-12-01"}
    });
    let r = app.post("/api/v1/instances", &app.officer(), &request).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let steps = [
        ("record_service", json!({"served_on": "2025-12-02", "service_channel": "vneid"})),
        ("start_verification", json!({"voluntary_period_ended": "2025-12-12"})),
        (
            "classify_not_yet",
            json!({"decision_not_yet_number": "5/QĐ", "verification_date": verified_on,
                   "reverification_basis": "standard", "findings": "Không có tài sản"}),
        ),
    ];
    for (i, (step, data)) in steps.into_iter().enumerate() {
        let token = if step == "classify_not_yet" { app.head() } else { app.officer() };
        let r = app.fire(&id, &token, step, i as i64 + 1, data).await;
        assert_eq!(r.status(), 200, "{step}: {}", r.text().await.unwrap());
    }
    id
}

/// A clock that is overdue when suspended and resumed escalates once, not again; one that was
/// suspended in time is met when the instance leaves, however long it then stood still.
#[tokio::test]
async fn suspension_neither_repeats_an_escalation_nor_turns_a_stopped_clock_late() {
    for backend in backends() {
        let app = spawn(backend).await;
        let head = app.head();
        // Verified on 10 January 2026: re-verification was due by 10 July, long past.
        let late = not_yet_enforceable(&app, "2026-01-10").await;
        assert_eq!(deadline(&app, &late, &head, "reverification").await["due_date"], "2026-07-10");
        assert_eq!(
            pass(&app, "a", Utc::now()).await.reminders_sent,
            2,
            "{backend:?}: the due notice and escalation"
        );
        let suspend = json!({"suspension_decision": "12/QĐ-THADS"});
        app.fire_ok(&late, &head, "suspend_enforcement", 4, suspend.clone()).await;
        app.fire_ok(&late, &head, "resume_enforcement", 5, json!({"resumption_decision": "13/QĐ"})).await;
        assert_eq!(pass(&app, "a", Utc::now()).await.reminders_sent, 0, "{backend:?}: not escalated twice");
        assert_eq!(
            inbox(&app, &app.procuracy()).await.iter().filter(|n| n["kind"] == "escalation").count(),
            1
        );

        // Suspended two days before its due time, then a week passes (moved here by editing the
        // rows, as time would), and the instance leaves the state: met, the clock stood still.
        let stopped = not_yet_enforceable(&app, "2026-11-20").await;
        app.fire_ok(&stopped, &head, "suspend_enforcement", 4, suspend).await;
        let row = deadline(&app, &stopped, &head, "reverification").await;
        let day = 86_400_000_000i64;
        let now = micros(Utc::now());
        diesel::sql_query(format!(
            "UPDATE deadlines SET suspended_at = {}, due_at = {} WHERE id = '{}'",
            now - 9 * day,
            now - 7 * day,
            row["id"].as_str().unwrap()
        ))
        .execute(&mut lienganh::store::direct(&app.database_url).unwrap())
        .unwrap();
        let leave = json!({"verification_date": "2026-11-23", "findings": "Đã có tài sản"});
        let r = app.fire(&stopped, &head, "reclassify_enforceable", 5, leave).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert_eq!(deadline(&app, &stopped, &head, "reverification").await["status"], "met", "{backend:?}");
    }
}

/// An extension grants at least one and at most a year of the deadline's unit.
#[tokio::test]
async fn an_extension_out_of_bounds_is_refused() {
    let app = spawn(backends()[0]).await;
    let request = json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": {"instrument": "request", "document_number": "90/YC-VKS", "issued_on": "2026-11-02",
                 "content": "Báo cáo việc chậm ra quyết định", "reply_due": "2026-11-30"}
    });
    let request = app.request_with_pdf(&app.procuracy(), "instrument_file", request).await;
    let r = app.post("/api/v1/instances", &app.procuracy(), &request).await;
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.fire(&id, &app.officer(), "acknowledge", 1, json!({})).await.status(), 200);
    for days in [json!(0), json!(-5), json!(366), json!(4294967295u64)] {
        let extension = json!({"extension_days": days, "extension_reason": "Xin thêm thời gian"});
        let problem = expect_problem(
            app.fire(&id, &app.procuracy(), "extend_reply", 2, extension).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "data.extension_days", "{days}: {problem}");
    }
    assert_eq!(deadline(&app, &id, &app.head(), "reply_request").await["due_date"], "2026-11-30");
}

/// The deadlines page by cursor, soonest due first, without repeating or skipping one; a bad
/// cursor is a 400.
#[tokio::test]
async fn deadlines_page_by_cursor_in_due_order() {
    for backend in backends() {
        let app = spawn(backend).await;
        for _ in 0..5 {
            start_explanation(&app).await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/deadlines?limit=2&cursor={c}"),
                None => "/api/v1/deadlines?limit=2".to_owned(),
            };
            let page: Value = app.get(&path, &app.court()).await.json().await.unwrap();
            for d in page["items"].as_array().unwrap() {
                seen.push((d["due_at"].as_str().unwrap().to_owned(), d["id"].as_str().unwrap().to_owned()));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5, "{backend:?}: {seen:?}");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "soonest due first");
        sorted.dedup();
        assert_eq!(sorted.len(), 5, "none twice");
        expect_problem(
            app.get("/api/v1/deadlines?cursor=nonsense", &app.court()).await,
            400,
            "malformed_request",
        )
        .await;
    }
}

/// Deadlines are titled by their definitions (`Trả lời kiến nghị...`), never by their names:
/// a new one is, and one opened before deadlines had titles (titled with the workflow's title
/// and its name) is titled anew when the service next starts, once.
#[tokio::test]
async fn deadlines_are_titled_by_their_definitions() {
    for backend in backends() {
        let app = spawn(backend).await;
        let transfer = app.start_transfer("standard").await;
        let id = transfer["id"].as_str().unwrap().to_owned();
        let read: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.json().await.unwrap();
        let deadline = &read["deadlines"][0];
        assert_eq!(deadline["name"], "transfer", "{backend:?}");
        assert_eq!(deadline["title"], "Tòa án chuyển giao bản án, quyết định", "{backend:?}");

        // As the service titled it before.
        let old = "Chuyển giao bản án, quyết định và ra quyết định thi hành án (Luật 106/2025): transfer";
        app.sql(&format!("UPDATE deadlines SET title = '{old}' WHERE instance_id = '{id}'"));
        app.sql("INSERT INTO pending_tasks (name) VALUES ('title_deadlines')");
        let settings = crate::helpers::settings_for(&app.database_url);
        let db = Db::connect(&app.database_url, 1).unwrap();
        let registry = Arc::new(lienganh::http::server::load_registry(&settings).unwrap());
        lienganh::http::server::finish_migrations(&db, &registry).unwrap();
        let read: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.json().await.unwrap();
        assert_eq!(read["deadlines"][0]["title"], "Tòa án chuyển giao bản án, quyết định", "{backend:?}");

        // Done once: a title written since is left as it is.
        app.sql(&format!("UPDATE deadlines SET title = '{old}' WHERE instance_id = '{id}'"));
        lienganh::http::server::finish_migrations(&db, &registry).unwrap();
        let read: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.json().await.unwrap();
        assert_eq!(read["deadlines"][0]["title"], old, "{backend:?}");
    }
}
