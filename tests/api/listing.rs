use std::collections::HashSet;

use lienganh::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{backends, spawn, transfer_data};

#[tokio::test]
async fn lists_page_by_cursor_and_filter() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut created = Vec::new();
        for _ in 0..5 {
            created.push(app.start_transfer("standard").await["id"].as_str().unwrap().to_owned());
        }
        let first = &created[0];
        let data = transfer_data("Bản án");
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
