use std::collections::HashSet;

use lienganh::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{backends, spawn};

#[tokio::test]
async fn lists_page_by_cursor_and_filter() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut created = Vec::new();
        for _ in 0..5 {
            created.push(app.start_transfer("standard").await["id"].as_str().unwrap().to_owned());
        }
        let first = &created[0];
        let data = app.transfer_data("Bản án").await;
        assert_eq!(app.fire(first, &app.court(), "transfer", 1, data).await.status(), 200);

        // Three pages of 2, 2 and 1, newest first, no repeats.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/instances?limit=2&cursor={c}"),
                None => "/api/v1/instances?limit=2".to_owned(),
            };
            let page: Value = app.get(&path, &app.head()).await.json().await.unwrap();
            pages += 1;
            seen.extend(
                page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut newest_first = created.clone();
        newest_first.reverse();
        assert_eq!(seen, newest_first, "{backend:?}");

        let page: Value =
            app.get("/api/v1/instances?state=transferred", &app.head()).await.json().await.unwrap();
        let ids: Vec<&str> =
            page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [first.as_str()]);
        let page: Value = app
            .get("/api/v1/instances?workflow=court_transfer&party=VKS-HN", &app.head())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 5);
        let page: Value =
            app.get("/api/v1/instances?party=THADS-LC", &app.head()).await.json().await.unwrap();
        assert_eq!(page["items"], json!([]));

        // Lào Cai's own instance is invisible to Hà Nội, and the other way round.
        let lc_court = app.token("court-lc", "TAND-LC", &[Role::CourtLiaison]);
        let mut req = crate::helpers::transfer_request("standard");
        req["parties"] = json!({"court": "TAND-LC", "enforcement": "THADS-LC", "procuracy": "VKS-LC"});
        assert_eq!(app.post("/api/v1/instances", &lc_court, &req).await.status(), 201);
        let hn: Value = app.get("/api/v1/instances?limit=500", &app.head()).await.json().await.unwrap();
        let hn: HashSet<&str> =
            hn["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(hn.len(), 5);
        let lc: Value = app.get("/api/v1/instances", &lc_court).await.json().await.unwrap();
        assert_eq!(lc["items"].as_array().unwrap().len(), 1);
        assert!(!hn.contains(lc["items"][0]["id"].as_str().unwrap()));
    }
}

/// The ids on a page of the instance list.
async fn listed(app: &crate::helpers::TestApp, path: &str, token: &str) -> Vec<String> {
    let page: Value = app.get(path, token).await.json().await.unwrap();
    page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// Takes a procuracy request from issue to acceptance, which ends it; its id.
async fn a_request_answered_and_accepted(app: &crate::helpers::TestApp) -> String {
    let request = json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": {"instrument": "request", "document_number": "9/YC-VKS", "issued_on": "2026-11-02",
                 "reply_due": "2026-11-20", "content": "Chậm ra quyết định thi hành án"}
    });
    let request = app.request_with_pdf(&app.procuracy(), "instrument_file", request).await;
    let made: Value = app.post("/api/v1/instances", &app.procuracy(), &request).await.json().await.unwrap();
    let id = made["id"].as_str().unwrap().to_owned();
    let answer =
        json!({"reply_number": "1/THADS", "reply_date": "2026-11-16", "measures": "Đã ra quyết định"});
    let steps = [
        (app.officer(), "acknowledge", json!({})),
        (app.head(), "answer", app.with_pdf(&app.head(), "reply_file", answer).await),
        (app.procuracy(), "accept", json!({"assessment": "Đã khắc phục"})),
    ];
    for (version, (token, transition, data)) in (1..).zip(steps) {
        assert_eq!(app.fire(&id, &token, transition, version, data).await.status(), 200, "{transition}");
    }
    id
}

/// `open=true` lists what still runs and `open=false` what has ended, for an agency by its
/// access index and for an auditor over all; a step into a terminal state moves an instance
/// from the one to the other.
#[tokio::test]
async fn open_instances_are_listed_apart_from_those_that_ended() {
    for backend in backends() {
        let app = spawn(backend).await;
        let running = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let ended = a_request_answered_and_accepted(&app).await;
        let auditor = app.token("kt", "BTP", &[Role::Auditor]);
        for token in [app.head(), auditor] {
            assert_eq!(
                listed(&app, "/api/v1/instances?open=true", &token).await,
                vec![running.clone()],
                "{backend:?}"
            );
            assert_eq!(listed(&app, "/api/v1/instances?open=false", &token).await, vec![ended.clone()]);
            assert_eq!(listed(&app, "/api/v1/instances", &token).await, [ended.clone(), running.clone()]);
        }
        // The procuracy sees both, and the filter holds beside another party's.
        let path = "/api/v1/instances?open=true&party=THADS-HN";
        assert_eq!(listed(&app, path, &app.procuracy()).await, [running]);
        let r = app.get("/api/v1/instances?open=maybe", &app.head()).await;
        crate::helpers::expect_problem(r, 400, "malformed_request").await;
    }
}

/// Instances that ended before instances kept whether they were closed are closed by the
/// migration that added it, from the definitions' terminal states.
#[tokio::test]
async fn instances_that_ended_before_the_open_flag_are_closed_by_its_migration() {
    use diesel_migrations::MigrationHarness;
    use lienganh::store::{Backend as DbBackend, Db, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
    for backend in backends() {
        let app = spawn(backend).await;
        let running = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let ended = a_request_answered_and_accepted(&app).await;
        let backend_of = Db::connect(&app.database_url, 1).unwrap().backend;
        let reverted = {
            let mut conn = lienganh::store::direct(&app.database_url).unwrap();
            let source = || match backend_of {
                DbBackend::Sqlite => SQLITE_MIGRATIONS,
                DbBackend::Postgres => POSTGRES_MIGRATIONS,
            };
            // Back to before the open flag, undoing the migrations that came after it too.
            let mut reverted = 0;
            loop {
                reverted += 1;
                let version = conn.revert_last_migration(source()).unwrap().to_string().replace('-', "");
                if version.starts_with("20261201000001") {
                    break;
                }
            }
            reverted
        };
        let settings = crate::helpers::settings_for(&app.database_url);
        let (db, applied) = lienganh::http::server::open_database(&settings).unwrap();
        assert_eq!(applied, reverted, "{backend:?}");
        // Until the service has done its part, the instance that ended shows as open.
        assert_eq!(listed(&app, "/api/v1/instances?open=false", &app.head()).await, Vec::<String>::new());
        let registry = std::sync::Arc::new(lienganh::http::server::load_registry(&settings).unwrap());
        lienganh::http::server::finish_migrations(&db, &registry).unwrap();
        // Done once: a second start finds nothing left to do.
        lienganh::http::server::finish_migrations(&db, &registry).unwrap();
        // Closed for every agency that sees it, and for those who read all.
        let auditor = app.token("kt", "BTP", &[Role::Auditor]);
        for token in [app.head(), app.procuracy(), auditor] {
            assert_eq!(listed(&app, "/api/v1/instances?open=false", &token).await, vec![ended.clone()]);
            assert_eq!(listed(&app, "/api/v1/instances?open=true", &token).await, vec![running.clone()]);
        }
    }
}
