//! Who is shown a case's personal data beyond its own office and court is recorded, in the
//! request that shows it, append-only; the office's heads, admins and auditors read the records.

use lienganh::domain::Role;
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, spawn};

const NAME: &str = "Nguyễn Văn Nợ";

#[tokio::test]
async fn showings_of_personal_data_beyond_the_office_are_recorded() {
    for backend in backends() {
        let app = spawn(backend).await;
        // A regional office under the Hà Nội office holds the case; the Hà Nội court judged it.
        let region = json!({"code": "THADS-HN-KV1", "kind": "enforcement", "name": "Phòng THADS khu vực 1", "parent": "THADS-HN"});
        assert_eq!(app.post("/api/v1/agencies", &app.admin(), &region).await.status(), 201);
        let own = app.token("officer-kv1", "THADS-HN-KV1", &[Role::EnforcementOfficer]);
        let own_head = app.token("head-kv1", "THADS-HN-KV1", &[Role::EnforcementHead]);
        let auditor = app.token("auditor-1", "TTR-BTP", &[Role::Auditor]);
        let above_head = app.head();
        let above_officer = app.officer();
        let police = app.token("police-1", "CA-HN", &[Role::PoliceLiaison]);
        let mut case = crate::cases::case("THADS-HN-KV1", "KV1-1", "2026-08-03", "5000000");
        case["court"] = json!("TAND-HN");
        let r = app.post("/api/v1/cases", &own, &case).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/cases/{id}");
        let reads_path = format!("{path}/reads");

        // The office and the court see the personal data, and that is their own business.
        for who in [&own, &own_head, &app.court()] {
            let case: Value = app.get(&path, who).await.json().await.unwrap();
            assert_eq!(case["obligor"]["name"], NAME, "{case}");
        }
        // An admin sees the case without it; the police do not see the case at all.
        let case: Value = app.get(&path, &app.admin()).await.json().await.unwrap();
        assert_eq!(case["personal_data_withheld"], true);
        expect_problem(app.get(&path, &police).await, 404, "not_found").await;
        let none: Value = app.get(&reads_path, &own_head).await.json().await.unwrap();
        assert_eq!(none["items"], json!([]), "{backend:?}: {none}");

        // An auditor reads the case, then lists cases; the office above reads it, and changes
        // it, which answers with the case.
        let case: Value = app.get(&path, &auditor).await.json().await.unwrap();
        assert_eq!(case["obligor"]["name"], NAME);
        let page: Value = app.get("/api/v1/cases", &auditor).await.json().await.unwrap();
        assert_eq!(page["items"][0]["obligor"]["name"], NAME);
        let case: Value = app.get(&path, &above_head).await.json().await.unwrap();
        assert_eq!(case["obligor"]["name"], NAME);
        let payment = json!({"amount": "1000000", "paid_on": "2026-08-05", "method": "cash"});
        let r = app.post(&format!("{path}/payments"), &above_officer, &payment).await;
        assert_eq!(r.status(), 201);

        let reads: Value = app.get(&reads_path, &own_head).await.json().await.unwrap();
        let items = reads["items"].as_array().unwrap();
        let seen: Vec<(&str, &str, &str, Value, &str)> = items
            .iter()
            .map(|r| {
                (
                    r["reader_sub"].as_str().unwrap(),
                    r["reader_name"].as_str().unwrap(),
                    r["reader_agency"].as_str().unwrap(),
                    r["reader_roles"].clone(),
                    r["route"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("auditor-1", "User auditor-1", "TTR-BTP", json!(["auditor"]), "GET /api/v1/cases/{id}"),
                ("auditor-1", "User auditor-1", "TTR-BTP", json!(["auditor"]), "GET /api/v1/cases"),
                ("head-1", "User head-1", "THADS-HN", json!(["enforcement_head"]), "GET /api/v1/cases/{id}"),
                (
                    "officer-1",
                    "User officer-1",
                    "THADS-HN",
                    json!(["enforcement_officer"]),
                    "POST /api/v1/cases/{id}/payments"
                ),
            ],
            "{backend:?}: {reads}"
        );
        for r in items {
            assert_eq!(r["case_id"], id.as_str());
            assert!(r["at"].as_str().unwrap().ends_with("+07:00"), "{r}");
        }

        // Who reads the records: the office's heads (and those above), admins, auditors.
        for who in [&app.admin(), &auditor, &above_head] {
            let r: Value = app.get(&reads_path, who).await.json().await.unwrap();
            assert_eq!(r["items"].as_array().unwrap().len(), 4, "{r}");
        }
        for who in [&own, &app.court(), &above_officer] {
            expect_problem(app.get(&reads_path, who).await, 403, "forbidden").await;
        }
        expect_problem(app.get(&reads_path, &police).await, 404, "not_found").await;
        // Reading the records shows no personal data and records nothing.
        let again: Value = app.get(&reads_path, &auditor).await.json().await.unwrap();
        assert_eq!(again["items"].as_array().unwrap().len(), 4);
        assert!(!again.to_string().contains(NAME));

        // Pages.
        let first: Value = app.get(&format!("{reads_path}?limit=3"), &own_head).await.json().await.unwrap();
        assert_eq!(first["items"].as_array().unwrap().len(), 3);
        let cursor = first["next_cursor"].as_str().unwrap();
        let rest: Value =
            app.get(&format!("{reads_path}?limit=3&cursor={cursor}"), &own_head).await.json().await.unwrap();
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        assert_eq!(rest["items"][0]["route"], "POST /api/v1/cases/{id}/payments");
        assert_eq!(rest["next_cursor"], Value::Null);
        expect_problem(
            app.get(&format!("{reads_path}?cursor=zzz"), &own_head).await,
            400,
            "malformed_request",
        )
        .await;

        // The records cannot be changed or removed, even with direct access to the database.
        assert!(app.try_sql("UPDATE personal_data_reads SET reader_sub = 'someone-else'").is_err());
        assert!(app.try_sql("DELETE FROM personal_data_reads").is_err());
        let after: Value = app.get(&reads_path, &own_head).await.json().await.unwrap();
        assert_eq!(after["items"].as_array().unwrap().len(), 4);
        assert_eq!(after["items"][0]["reader_sub"], "auditor-1");

        // A read that cannot be recorded is not answered.
        match backend {
            crate::helpers::Backend::Sqlite => app.sql(
                "CREATE TRIGGER refuse_reads BEFORE INSERT ON personal_data_reads \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            ),
            crate::helpers::Backend::Postgres => app.sql(
                "CREATE TRIGGER refuse_reads BEFORE INSERT ON personal_data_reads \
                 FOR EACH ROW EXECUTE FUNCTION events_append_only();",
            ),
        }
        let r = app.get(&path, &auditor).await;
        assert!(r.status().is_server_error(), "{backend:?}: {}", r.status());
        assert!(!r.text().await.unwrap().contains(NAME));
        let r = app.get("/api/v1/cases", &auditor).await;
        assert!(r.status().is_server_error());
        assert!(!r.text().await.unwrap().contains(NAME));
        // The office itself still reads its case: nothing of its own is recorded.
        let case: Value = app.get(&path, &own).await.json().await.unwrap();
        assert_eq!(case["obligor"]["name"], NAME);
    }
}
