use serde_json::{json, Value};

use crate::helpers::{backends, spawn};

#[tokio::test]
async fn verification_detects_a_tampered_event() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = app.start_transfer("standard").await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let data = json!({"transfer_date": "2026-10-25", "method": "post", "documents": [{"description": "Xe máy Honda", "quantity": "1", "unit": "chiếc", "declared_value": "15000000"}]});
        assert_eq!(
            app.fire(&id, &app.court(), "transfer", 1, data).await.status(),
            200
        );
        assert_eq!(
            app.fire(
                &id,
                &app.officer(),
                "register",
                2,
                json!({"received_date": "2026-10-27", "register_number": "5"})
            )
            .await
            .status(),
            200
        );
        let verify_path = format!("/api/v1/instances/{id}/history/verify");
        let ok: Value = app.get(&verify_path, &app.court()).await.json().await.unwrap();
        assert_eq!(ok["valid"], true, "{ok}");

        // Someone with database access lowers the declared value of the handed-over item.
        app.sql(&format!(
            "UPDATE events SET data = REPLACE(data, '15000000', '1500000') WHERE instance_id = '{id}' AND seq = 2"
        ));
        let bad: Value = app.get(&verify_path, &app.court()).await.json().await.unwrap();
        assert_eq!(bad["valid"], false, "{backend:?} {bad}");
        assert_eq!(bad["first_broken_seq"], 2);

        // Putting it back restores the chain; deleting the last event breaks it at the head.
        app.sql(&format!(
            "UPDATE events SET data = REPLACE(data, '1500000', '15000000') WHERE instance_id = '{id}' AND seq = 2"
        ));
        let ok: Value = app.get(&verify_path, &app.court()).await.json().await.unwrap();
        assert_eq!(ok["valid"], true, "{ok}");
        app.sql(&format!(
            "DELETE FROM events WHERE instance_id = '{id}' AND seq = 3"
        ));
        let bad: Value = app.get(&verify_path, &app.court()).await.json().await.unwrap();
        assert_eq!(bad["valid"], false);
        assert_eq!(bad["first_broken_seq"], 3);
    }
}
