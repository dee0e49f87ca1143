//! Calendar feed URLs: subscribed to without any header, as a calendar program does, rotated
//! and revoked by their user, the old URL refused at once.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::console::{add_user, user_command};
use crate::helpers::{backends, expect_problem, spawn, TestApp};
use crate::reports::scheduled_coercion;
use crate::scenarios::common::police;

/// Fetches a feed URL as a calendar program would: no header of any kind.
async fn subscribe(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

async fn make_feed(app: &TestApp, token: &str, body: Value) -> String {
    let r = app.post("/api/v1/calendar/feed", token, &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let feed: Value = r.json().await.unwrap();
    assert_eq!(feed["url"], location.as_str(), "Location is the feed's URL");
    assert!(location.starts_with("http://127.0.0.1:"), "an absolute URL: {location}");
    location
}

fn events(text: &str) -> usize {
    ical::IcalParser::new(text.as_bytes()).next().unwrap().unwrap().events.len()
}

#[tokio::test]
async fn a_feed_url_serves_the_calendar_without_a_header_until_rotated_or_revoked() {
    for backend in backends() {
        let app = spawn(backend).await;
        scheduled_coercion(&app).await;
        let police = police(&app);
        expect_problem(app.get("/api/v1/calendar/feed", &police).await, 404, "not_found").await;

        let first = make_feed(&app, &police, json!({})).await;
        assert!(!first.contains(&police), "no token in the URL");
        let r = subscribe(&first).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/calendar"));
        let text = r.text().await.unwrap();
        assert_eq!(events(&text), 1, "the police's operation");
        let with_token = app.get("/api/v1/calendar/coercion.ics", &police).await.text().await.unwrap();
        let stamp = |t: &str| t.lines().filter(|l| !l.starts_with("DTSTAMP")).collect::<Vec<_>>().join("\n");
        assert_eq!(stamp(&text), stamp(&with_token), "the same calendar as with the token");

        let shown: Value = app.get("/api/v1/calendar/feed", &police).await.json().await.unwrap();
        assert_eq!(shown["agency"], "CA-HN");
        assert!(shown.get("url").is_none(), "the URL is shown once: {shown}");

        // Rotated: the old URL stops at once, the new one works.
        let second = make_feed(&app, &police, json!({})).await;
        assert_ne!(first, second);
        expect_problem(subscribe(&first).await, 404, "not_found").await;
        assert_eq!(subscribe(&second).await.status(), StatusCode::OK);
        // Another user's feed is their own.
        let other = app.token("cb-lc", "THADS-LC", &[lienganh::domain::Role::EnforcementOfficer]);
        let theirs = make_feed(&app, &other, json!({})).await;
        assert_eq!(events(&subscribe(&theirs).await.text().await.unwrap()), 0, "not a party: nothing");
        expect_problem(
            app.post("/api/v1/calendar/feed", &other, &json!({"agency": "THADS-HN"})).await,
            404,
            "not_found",
        )
        .await;

        // Revoked: gone at once; revoking again finds nothing.
        assert_eq!(app.delete("/api/v1/calendar/feed", &police).await.status(), StatusCode::NO_CONTENT);
        expect_problem(subscribe(&second).await, 404, "not_found").await;
        expect_problem(app.delete("/api/v1/calendar/feed", &police).await, 404, "not_found").await;
        assert_eq!(subscribe(&theirs).await.status(), StatusCode::OK, "another's feed stays");
        // A made-up secret, and the token itself in place of a secret, open nothing.
        let base = second.rsplit_once("/calendar/feeds/").unwrap().0;
        expect_problem(
            subscribe(&format!("{base}/calendar/feeds/{police}/coercion.ics")).await,
            404,
            "not_found",
        )
        .await;
        // Making a feed needs a token.
        let r = reqwest::Client::new()
            .post(app.url("/api/v1/calendar/feed"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_problem(r, 401, "unauthorized").await;
    }
}

/// A console user's feed follows the account: disabled, the feed stops.
#[tokio::test]
async fn a_disabled_users_feed_stops() {
    let app = spawn(backends()[0]).await;
    scheduled_coercion(&app).await;
    add_user(&app, "canbo.ca", "CA-HN", &["police_liaison"]);
    let token = app.token("canbo.ca", "CA-HN", &[lienganh::domain::Role::PoliceLiaison]);
    let url = make_feed(&app, &token, json!({})).await;
    assert_eq!(events(&subscribe(&url).await.text().await.unwrap()), 1);
    let disabled = user_command(&app, &["disable", "canbo.ca"], "");
    assert!(disabled.status.success(), "{}", String::from_utf8_lossy(&disabled.stderr));
    expect_problem(subscribe(&url).await, 404, "not_found").await;
}
