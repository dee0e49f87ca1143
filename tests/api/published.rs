//! A published year keeps its figures: a reversal and a reclassification recorded later show
//! beside them, as the difference the records make today and the cases behind it.

use lienganh::domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::cases::case;
use crate::helpers::{backends, expect_problem, spawn, TestApp};
use crate::scenarios::common::{add_regional_offices, REGIONAL_1};

async fn open(app: &TestApp, body: Value) -> String {
    let r = app.post("/api/v1/cases", &app.officer(), &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn report(app: &TestApp, token: &str, query: &str) -> Value {
    let r = app.get(&format!("/api/v1/reports/enforcement?{query}"), token).await;
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_published_year_is_not_rewritten_by_a_later_reversal() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_offices(&app).await;
        let officer = app.officer();
        // 2025: one case completed in June, one enforceable still open, one not yet enforceable.
        let paid = open(&app, case("THADS-HN", "P-1", "2025-03-01", "10000000")).await;
        let payment = json!({"amount": "10000000", "paid_on": "2025-06-01", "method": "transfer"});
        let r = app.post(&format!("/api/v1/cases/{paid}/payments"), &officer, &payment).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let payment_id = r.json::<Value>().await.unwrap()["payment"]["id"].as_str().unwrap().to_owned();
        open(&app, case("THADS-HN", "P-2", "2025-03-01", "5000000")).await;
        let mut later = case("THADS-HN", "P-3", "2025-03-02", "8000000");
        later["classification"] = json!("not_yet_enforceable");
        let later = open(&app, later).await;
        let before = report(&app, &officer, "agency=THADS-HN&year=2025").await;
        assert_eq!(
            (before["cases"]["enforceable"].as_i64(), before["cases"]["completed"].as_i64()),
            (Some(2), Some(1))
        );
        assert_eq!(before["cases"]["rate"], "50.00");
        assert!(before.get("published").is_none(), "{before}");

        // Who may publish: the provincial office's head for the province, an admin for the country.
        let path = "/api/v1/reports/enforcement/2025/publish";
        let head = app.head();
        let kv1_head = app.token("head-kv1", REGIONAL_1, &[Role::EnforcementHead]);
        let lc_head = app.token("head-lc", "THADS-LC", &[Role::EnforcementHead]);
        expect_problem(
            app.post(&format!("{path}?agency=THADS-HN"), &officer, &json!({})).await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            app.post(&format!("{path}?agency=THADS-HN"), &lc_head, &json!({})).await,
            403,
            "forbidden",
        )
        .await;
        let r = app.post(&format!("{path}?agency={REGIONAL_1}"), &kv1_head, &json!({})).await;
        expect_problem(r, 403, "forbidden").await;
        expect_problem(app.post(path, &head, &json!({})).await, 403, "forbidden").await;
        expect_problem(
            app.post("/api/v1/reports/enforcement/1999/publish", &app.admin(), &json!({})).await,
            422,
            "validation_failed",
        )
        .await;

        // Not a year still running.
        let running =
            app.post("/api/v1/reports/enforcement/2027/publish?agency=THADS-HN", &head, &json!({})).await;
        let problem = expect_problem(running, 422, "validation_failed").await;
        assert!(problem["errors"][0]["reason"].as_str().unwrap().contains("2027-09-30"), "{problem}");

        let r = app.post(&format!("{path}?agency=THADS-HN"), &head, &json!({})).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend:?}");
        assert_eq!(r.headers()["location"], "/api/v1/reports/enforcement?agency=THADS-HN&year=2025");
        let published: Value = r.json().await.unwrap();
        assert_eq!(published["cases"]["rate"], "50.00");
        assert_eq!(published["published"]["published_by"]["agency"], "THADS-HN");
        assert_eq!(published["published"]["difference"], json!({}), "{published}");
        let again = app.post(&format!("{path}?agency=THADS-HN"), &head, &json!({})).await;
        expect_problem(again, 409, "already_exists").await;

        // Later: the June payment is reversed (the case reopens in the year it was completed),
        // and the case not yet enforceable is found enforceable.
        let reversal = json!({"amount": "10000000", "paid_on": "2025-12-01", "method": "transfer",
            "reverses": payment_id, "note": "Chuyển khoản nhầm"});
        let r = app.post(&format!("/api/v1/cases/{paid}/payments"), &officer, &reversal).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let classify =
            json!({"classification": "enforceable", "on": "2026-01-10", "basis": "Biên bản xác minh 3/BB"});
        let r = app.post(&format!("/api/v1/cases/{later}/classification"), &officer, &classify).await;
        assert_eq!(r.status(), StatusCode::OK, "{backend:?} {}", r.text().await.unwrap());

        // The year reads as published, and beside it what the records say today.
        let now = report(&app, &officer, "agency=THADS-HN&year=2025&offices=true").await;
        assert_eq!(
            (now["cases"]["completed"].as_i64(), now["cases"]["rate"].as_str()),
            (Some(1), Some("50.00")),
            "{backend:?} {now}"
        );
        assert_eq!(now["money"]["completed"], "10000000");
        let hn = now["offices"].as_array().unwrap().iter().find(|o| o["agency"] == "THADS-HN").unwrap();
        assert_eq!(hn["cases"]["completed"], 1, "{now}");
        let p = &now["published"];
        assert_eq!(p["published_by"]["name"], "User head-1");
        assert_eq!(p["records_today"]["cases"]["completed"], 0, "{p}");
        assert_eq!(p["records_today"]["cases"]["enforceable"], 3, "{p}");
        assert_eq!(p["difference"]["cases.completed"], "-1", "{p}");
        assert_eq!(p["difference"]["cases.enforceable"], "1", "{p}");
        assert_eq!(p["difference"]["cases.rate"], "-50", "{p}");
        // The money stays collected in 2025: the reversal is dated in the next year.
        assert_eq!(p["difference"]["money.enforceable"], "8000000", "{p}");
        assert!(p["difference"].get("money.completed").is_none(), "{p}");
        let changed: Vec<(&str, Vec<&str>)> = p["changed_cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["number"].as_str().unwrap(),
                    c["changes"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(
            changed,
            [("P-1", vec!["status", "payment"]), ("P-3", vec!["classification"])],
            "{backend:?} {p}"
        );

        // A year not published reads as the records say; the country is the admin's to publish.
        let next = report(&app, &officer, "agency=THADS-HN&year=2026").await;
        assert!(next.get("published").is_none(), "{next}");
        let vks = app.procuracy();
        expect_problem(app.post(path, &vks, &json!({})).await, 403, "forbidden").await;
        let r = app.post(path, &app.admin(), &json!({})).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend:?}");
        let country = report(&app, &vks, "year=2025").await;
        assert_eq!(country["cases"]["completed"], 0, "published after the reversal: {country}");
        assert_eq!(country["published"]["difference"], json!({}));
    }
}

/// The completion rate counts terminated and entrusted cases as the server is set to: by
/// default both stay in the denominator only; set otherwise, a terminated case counts as
/// resolved and an entrusted one leaves the denominator. The report says how it counted.
#[tokio::test]
async fn the_rate_counts_terminated_and_entrusted_cases_as_set() {
    use lienganh::service::reports::{EntrustedCount, TerminatedCount};
    for backend in backends() {
        for (terminated, entrusted, rate) in [
            (TerminatedCount::Denominator, EntrustedCount::Denominator, "25.00"),
            (TerminatedCount::Resolved, EntrustedCount::Denominator, "50.00"),
            (TerminatedCount::Denominator, EntrustedCount::Excluded, "33.33"),
            (TerminatedCount::Resolved, EntrustedCount::Excluded, "66.67"),
        ] {
            let app = crate::helpers::spawn_with(backend, |s| {
                s.statistics_terminated = terminated;
                s.statistics_entrusted = entrusted;
            })
            .await;
            let officer = app.officer();
            let mut paid = case("THADS-HN", "R-1", "2025-03-01", "1000000");
            paid["payments"] = json!([{"amount": "1000000", "paid_on": "2025-04-01", "method": "cash"}]);
            open(&app, paid).await;
            for (number, status) in [("R-2", "terminated"), ("R-3", "entrusted")] {
                let id = open(&app, case("THADS-HN", number, "2025-03-01", "1000000")).await;
                let body = json!({"status": status, "on": "2025-05-01", "basis": "Quyết định 3/QĐ-THADS"});
                let r = app.post(&format!("/api/v1/cases/{id}/status"), &officer, &body).await;
                assert_eq!(r.status(), StatusCode::OK, "{backend:?} {status}: {}", r.text().await.unwrap());
            }
            open(&app, case("THADS-HN", "R-4", "2025-03-01", "1000000")).await;
            let r = report(&app, &officer, "agency=THADS-HN&year=2025").await;
            assert_eq!(r["cases"]["enforceable"], 4, "{backend:?} {r}");
            assert_eq!(r["cases"]["rate"], rate, "{backend:?} {terminated:?} {entrusted:?} {r}");
            assert_eq!(r["counting"], json!({"terminated": terminated, "entrusted": entrusted}));
        }
    }
}
