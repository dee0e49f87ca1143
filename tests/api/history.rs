use serde_json::{json, Value};

use crate::helpers::{backends, register_data, spawn, TestApp};

/// An instance with two steps, the second carrying an item with a declared value.
async fn walked(app: &TestApp) -> String {
    let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
    let mut data = app.transfer_data("Xe máy Honda").await;
    data["documents"][0]["declared_value"] = json!("15000000");
    assert_eq!(app.fire(&id, &app.court(), "transfer", 1, data).await.status(), 200);
    assert_eq!(app.fire(&id, &app.officer(), "register", 2, register_data("2026-10-27")).await.status(), 200);
    id
}

async fn verify(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/instances/{id}/history/verify"), &app.court()).await.json().await.unwrap()
}

#[tokio::test]
async fn the_database_refuses_to_change_events() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = walked(&app).await;
        let update = app.try_sql(&format!("UPDATE events SET comment = 'x' WHERE instance_id = '{id}'"));
        assert!(update.is_err_and(|e| e.contains("append-only")), "{backend:?}");
        let delete = app.try_sql(&format!("DELETE FROM events WHERE instance_id = '{id}' AND seq = 3"));
        assert!(delete.is_err_and(|e| e.contains("append-only")), "{backend:?}");
        assert_eq!(verify(&app, &id).await["valid"], true);
    }
}

#[tokio::test]
async fn verification_detects_a_tampered_event() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = walked(&app).await;
        assert_eq!(verify(&app, &id).await["valid"], true);
        app.drop_append_only_guard();

        // Someone with database access lowers the declared value of the handed-over item.
        let lower = format!("UPDATE events SET data = REPLACE(data, '15000000', '1500000') WHERE instance_id = '{id}' AND seq = 2");
        app.sql(&lower);
        let bad = verify(&app, &id).await;
        assert_eq!(bad["valid"], false, "{backend:?} {bad}");
        assert_eq!(bad["first_broken_seq"], 2);

        // Putting it back restores the chain; deleting the last event breaks it at the head.
        let restore = format!("UPDATE events SET data = REPLACE(data, '1500000', '15000000') WHERE instance_id = '{id}' AND seq = 2");
        app.sql(&restore);
        assert_eq!(verify(&app, &id).await["valid"], true);
        app.sql(&format!("DELETE FROM events WHERE instance_id = '{id}' AND seq = 3"));
        let bad = verify(&app, &id).await;
        assert_eq!(bad["valid"], false);
        assert_eq!(bad["first_broken_seq"], 3);
    }
}

/// The instance row itself is checked against its history.
#[tokio::test]
async fn verification_detects_a_tampered_instance() {
    for backend in backends() {
        let app = spawn(backend).await;
        let tampering = [
            // Moved on without an event.
            ("UPDATE instances SET state = 'decision_sent' WHERE id = '{id}'", "decision_sent"),
            // A party rebound to another court.
            (
                "UPDATE instances SET parties = REPLACE(parties, 'TAND-HN', 'TAND-LC') WHERE id = '{id}'",
                "content",
            ),
            // The data changed without a step.
            ("UPDATE instances SET data = REPLACE(data, '5', '6') WHERE id = '{id}'", "data"),
            // Another agency let in.
            ("INSERT INTO instance_agencies (agency_code, instance_id) VALUES ('CA-HN', '{id}')", "CA-HN"),
        ];
        for (statement, reason) in tampering {
            let id = walked(&app).await;
            app.sql(&statement.replace("{id}", &id));
            let token = if reason == "content" {
                app.token("c", "TAND-LC", &[lienganh::domain::Role::CourtLiaison])
            } else {
                app.court()
            };
            let bad: Value = app
                .get(&format!("/api/v1/instances/{id}/history/verify"), &token)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(bad["valid"], false, "{backend:?} {statement}: {bad}");
            assert!(bad["reason"].as_str().unwrap().contains(reason), "{statement}: {bad}");
        }
    }
}

/// A proposal waiting for the other party's signature is not in the hash chain's instance row
/// alone: editing it is detected before and after the last signature.
#[tokio::test]
async fn verification_detects_a_tampered_proposal() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.fire(&id, &app.court(), "transfer", 1, app.transfer_data("Bản án").await).await.status(),
            200
        );
        let mut missing = register_data("2026-10-27");
        missing["receipt"] = json!([{"item": 1, "status": "missing", "note": "không có bản án"}]);
        assert_eq!(app.fire(&id, &app.officer(), "register", 2, missing).await.status(), 200);
        let proposal = json!({"resolution": "Tòa án giao bổ sung bản án ngày 28/10"});
        assert_eq!(app.fire(&id, &app.court(), "resolve_discrepancy", 3, proposal).await.status(), 200);
        assert_eq!(verify(&app, &id).await["valid"], true);

        app.sql(&format!(
            "UPDATE instances SET pending = REPLACE(pending, 'giao bổ sung', 'không giao') WHERE id = '{id}'"
        ));
        let bad = verify(&app, &id).await;
        assert_eq!(bad["valid"], false, "{backend:?} {bad}");
        assert!(bad["reason"].as_str().unwrap().contains("pending"), "{bad}");

        // Signed anyway, the altered settlement does not verify either.
        assert_eq!(app.fire(&id, &app.officer(), "resolve_discrepancy", 4, json!({})).await.status(), 200);
        let bad = verify(&app, &id).await;
        assert_eq!(bad["valid"], false, "{backend:?} {bad}");
        assert_eq!(bad["first_broken_seq"], 5, "{bad}");
    }
}
