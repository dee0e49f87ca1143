use lienganh::domain::Role;
use serde_json::Value;

use crate::helpers::{backends, expect_problem, spawn};

/// An instance exists only for its parties' agencies, auditors and admins.
#[tokio::test]
async fn other_agencies_get_404_and_auditors_read_all() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let outsiders = [
            app.token("police-1", "CA-HN", &[Role::PoliceLiaison]),
            app.token("court-lc", "TAND-LC", &[Role::CourtLiaison]),
            app.token("head-lc", "THADS-LC", &[Role::EnforcementHead, Role::EnforcementOfficer]),
        ];
        for token in &outsiders {
            for path in ["", "/transitions", "/history", "/history/verify"] {
                expect_problem(
                    app.get(&format!("/api/v1/instances/{id}{path}"), token).await,
                    404,
                    "not_found",
                )
                .await;
            }
            let page: Value = app.get("/api/v1/instances", token).await.json().await.unwrap();
            assert_eq!(page["items"], serde_json::json!([]));
        }
        // Asking for a missing id answers exactly the same, but for the id in the detail.
        let missing_id = uuid::Uuid::now_v7().to_string();
        let theirs = expect_problem(
            app.get(&format!("/api/v1/instances/{id}"), &outsiders[0]).await,
            404,
            "not_found",
        )
        .await;
        let missing = expect_problem(
            app.get(&format!("/api/v1/instances/{missing_id}"), &outsiders[0]).await,
            404,
            "not_found",
        )
        .await;
        assert_eq!(theirs.to_string().replace(&id, "ID"), missing.to_string().replace(&missing_id, "ID"));

        let auditor = app.token("audit-1", "TTCP", &[Role::Auditor]);
        assert_eq!(app.get(&format!("/api/v1/instances/{id}/history"), &auditor).await.status(), 200);
        let page: Value = app.get("/api/v1/instances", &auditor).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        // Reading is all an auditor does: there is nothing for them to fire.
        let available: Value =
            app.get(&format!("/api/v1/instances/{id}/transitions"), &auditor).await.json().await.unwrap();
        assert_eq!(available, serde_json::json!([]));
    }
}
