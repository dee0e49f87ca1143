//! Running instances moved from the 2008 version of a workflow to the version under Law
//! 106/2025: a dry run first, then the move, each instance with an event in its history that
//! still verifies; the transitional rule refused where it keeps an instance under its version;
//! a run cut short resumed.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{backends, expect_problem, register_data, spawn, transfer_request, TestApp};
use crate::scenarios::common::{add_regional_offices, officer_of, REGIONAL_1};

/// A court transfer under the 2008 version (its judgment took effect before 1 July 2026),
/// taken through `steps` of: transfer, register (received or disputed), issue_decision,
/// assign_officer.
async fn old_transfer(app: &TestApp, steps: usize, disputed: bool) -> String {
    let mut request = transfer_request("standard");
    request["reference_date"] = json!("2026-05-01");
    request["data"]["effective_date"] = json!("2026-05-01");
    request["data"]["judgment_date"] = json!("2026-04-20");
    let r = app.post("/api/v1/instances", &app.court(), &request).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let inst: Value = r.json().await.unwrap();
    assert_eq!(inst["workflow_version"], 1);
    let id = inst["id"].as_str().unwrap().to_owned();
    let transfer = json!({"transfer_date": "2026-05-04", "method": "post",
        "documents": [{"description": "Bản án 12/2026/DS-ST", "quantity": "1", "unit": "bản"}]});
    let transfer = app.with_pdf(&app.court(), "judgment_file", transfer).await;
    let mut register = register_data("2026-05-05");
    if disputed {
        register["receipt"] = json!([{"item": 1, "status": "missing", "note": "thiếu bản án"}]);
    }
    let all = [
        (app.court(), "transfer", transfer),
        (app.officer(), "register", register),
        (
            app.head(),
            "issue_decision",
            json!({"decision_number": "7/QĐ-CCTHADS", "decision_date": "2026-05-06"}),
        ),
        (
            app.head(),
            "assign_officer",
            json!({"officer_name": "Trần Văn Bình", "assigned_date": "2026-05-07"}),
        ),
    ];
    for (i, (token, transition, data)) in all.into_iter().take(steps).enumerate() {
        app.fire_ok(&id, &token, transition, i as i64 + 1, data).await;
    }
    id
}

async fn read(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/instances/{id}"), &app.admin()).await.json().await.unwrap()
}

/// Whether the instance's history verifies; the verification, for the message.
async fn verifies(app: &TestApp, id: &str) -> (bool, Value) {
    let v: Value =
        app.get(&format!("/api/v1/instances/{id}/history/verify"), &app.admin()).await.json().await.unwrap();
    (v["valid"] == true, v)
}

fn find<'a>(dry: &'a Value, id: &str) -> &'a Value {
    dry["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == id)
        .unwrap_or_else(|| panic!("{dry}"))
}

fn codes(entry: &Value) -> Vec<&str> {
    entry["obstacles"].as_array().unwrap().iter().map(|o| o["code"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_2008_court_transfer_moves_to_the_2025_version_after_a_dry_run() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_offices(&app).await;
        let registered = old_transfer(&app, 2, false).await;
        let disputed = old_transfer(&app, 2, true).await;
        let issued = old_transfer(&app, 3, false).await;
        let assigned = old_transfer(&app, 4, false).await;
        assert_eq!(read(&app, &disputed).await["state"], "disputed", "{backend:?}");
        let path = "/api/v1/workflows/court_transfer/migrations";
        let dry = json!({"from_version": 1, "to_version": 2, "dry_run": true});

        // Only an admin; only what the rule of version 2 allows; only states that exist.
        expect_problem(app.post(path, &app.head(), &dry).await, 403, "forbidden").await;
        let back = json!({"from_version": 2, "to_version": 1, "dry_run": true});
        expect_problem(app.post(path, &app.admin(), &back).await, 422, "migration_not_allowed").await;
        let bad = json!({"from_version": 1, "to_version": 2, "dry_run": true,
            "states": {"registered": "nowhere", "disputed": "registered", "decision_issued": "decision_sent"}});
        let body = expect_problem(app.post(path, &app.admin(), &bad).await, 422, "validation_failed").await;
        let fields: Vec<&str> =
            body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(
            fields,
            ["states.decision_issued", "states.disputed", "states.registered"],
            "{backend:?} {body}"
        );
        expect_problem(
            app.post("/api/v1/workflows/nope/migrations", &app.admin(), &dry).await,
            404,
            "not_found",
        )
        .await;

        // The dry run: what would move, and why the others cannot; nothing written.
        let r = app.post(path, &app.admin(), &dry).await;
        assert_eq!(r.status(), StatusCode::OK, "{backend:?}");
        let report: Value = r.json().await.unwrap();
        assert_eq!(
            (report["moving"].as_u64(), report["refused"].as_u64()),
            (Some(2), Some(2)),
            "{backend:?} {report}"
        );
        assert_eq!(report["rule"]["operational"], true);
        let moving = find(&report, &registered);
        assert_eq!(
            (moving["moves"].as_bool(), moving["to_state"].as_str()),
            (Some(true), Some("registered"))
        );
        // The office's 5 working days to decide are stated anew under the 2025 version.
        let decide = moving["deadlines"].as_array().unwrap().iter().find(|d| d["change"] == "recomputed");
        let decide = decide.unwrap_or_else(|| panic!("{backend:?} {moving}"));
        assert!(decide["legal_basis"].as_str().unwrap().contains("106/2025"), "{decide}");
        assert_eq!(decide["due_before"], decide["due_after"], "the figure is carried over: {decide}");
        // The decision's sending runs, under version 2, only once a regional office is assigned.
        let issued_move = find(&report, &issued);
        assert_eq!(issued_move["moves"], true, "{backend:?} {issued_move}");
        assert!(
            issued_move["deadlines"].as_array().unwrap().iter().any(|d| d["change"] == "stopped"),
            "{issued_move}"
        );
        assert_eq!(codes(find(&report, &disputed)), ["stays_under_its_version"], "{backend:?}");
        let stuck = codes(find(&report, &assigned));
        assert!(stuck.contains(&"data_missing") && stuck.contains(&"party_unbound"), "{backend:?} {stuck:?}");
        assert_eq!(read(&app, &registered).await["workflow_version"], 1);

        // Carried out, one instance a batch; the assigned one goes back to be assigned to a
        // regional office, as the new law has it.
        let go = json!({"from_version": 1, "to_version": 2, "batch_size": 1,
            "states": {"officer_assigned": "decision_issued"}});
        let r = app.post(path, &app.admin(), &go).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{backend:?}");
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let run: Value = r.json().await.unwrap();
        assert_eq!((run["moved"].as_i64(), run["refused"].as_i64()), (Some(3), Some(1)), "{backend:?} {run}");
        assert!(run["finished_at"].is_string(), "{run}");
        assert_eq!(location, format!("{path}/{}", run["id"].as_str().unwrap()));
        let auditor = app.token("auditor", "BTP", &[lienganh::domain::Role::Auditor]);
        let again: Value = app.get(&location, &auditor).await.json().await.unwrap();
        assert_eq!(again["moved"], 3);
        expect_problem(app.get(&location, &app.head()).await, 403, "forbidden").await;

        for (id, state, version) in [
            (&registered, "registered", 2),
            (&issued, "decision_issued", 2),
            (&assigned, "decision_issued", 2),
            (&disputed, "disputed", 1),
        ] {
            let inst = read(&app, id).await;
            assert_eq!(
                (inst["state"].as_str(), inst["workflow_version"].as_i64()),
                (Some(state), Some(version)),
                "{backend:?} {inst}"
            );
            let (valid, v) = verifies(&app, id).await;
            assert!(valid, "{backend:?} {id} does not verify: {v}");
        }
        let history: Value = app
            .get(&format!("/api/v1/instances/{assigned}/history"), &app.admin())
            .await
            .json()
            .await
            .unwrap();
        let last = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["transition"], "_migration", "{last}");
        assert_eq!(last["from_state"], "officer_assigned");
        assert_eq!(last["data"]["_migration"]["from_version"], 1);
        assert_eq!(last["data"]["_migration"]["to_version"], 2);
        assert_eq!(last["actor"]["role"], "admin");

        // Under version 2 the office assigns a regional office, which sends the decision.
        let assign = json!({"regional_office": REGIONAL_1, "officer_name": "Trần Văn Bình", "assigned_date": "2026-05-08"});
        let version = read(&app, &assigned).await["version"].as_i64().unwrap();
        let after = app.fire_ok(&assigned, &app.head(), "assign_officer", version, assign).await;
        assert_eq!(after["parties"]["regional"], REGIONAL_1, "{backend:?}");
        let sending = json!({"sent_date": "2026-05-08", "dispatch_number": "15/THADS"});
        let sent = app
            .fire_ok(&assigned, &officer_of(&app, REGIONAL_1), "send_decision", version + 1, sending)
            .await;
        assert_eq!(sent["state"], "decision_sent");
        let (valid, v) = verifies(&app, &assigned).await;
        assert!(valid, "{backend:?} {v}");

        // A history that claims another path of versions does not verify.
        app.drop_append_only_guard();
        app.sql(&format!("UPDATE instances SET workflow_version = 1 WHERE id = '{registered}'"));
        assert!(!verifies(&app, &registered).await.0, "{backend:?}");
    }
}

#[tokio::test]
async fn a_run_cut_short_goes_on_where_it_stopped() {
    for backend in backends() {
        let app = spawn(backend).await;
        let ids = [
            old_transfer(&app, 1, false).await,
            old_transfer(&app, 1, false).await,
            old_transfer(&app, 2, false).await,
        ];
        // The operator's command line, stopped after one batch of one.
        let out = Command::new(env!("CARGO_BIN_EXE_lienganh"))
            .env_remove("LIENGANH_CONFIG")
            .env_remove("LIENGANH_WORKFLOWS")
            .env("LIENGANH_DATABASE_URL", &app.database_url)
            .args(["migrate-instances", "--workflow", "court_transfer", "--from", "1", "--to", "2"])
            .args(["--batch-size", "1", "--batches", "1", "--name", "Lê Thị Vận Hành", "--agency", "BTP"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{backend:?} {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("1 moved, 0 stayed; not finished: resume with --resume "), "{text}");
        let run = text.split("--resume ").nth(1).unwrap().trim().to_owned();
        let path = format!("/api/v1/workflows/court_transfer/migrations/{run}");
        let open: Value = app.get(&path, &app.admin()).await.json().await.unwrap();
        assert_eq!(
            (open["moved"].as_i64(), open["finished_at"].is_null()),
            (Some(1), true),
            "{backend:?} {open}"
        );
        assert_eq!(open["started_by"]["name"], "Lê Thị Vận Hành");
        let versions: Vec<i64> = {
            let mut v = Vec::new();
            for id in &ids {
                v.push(read(&app, id).await["workflow_version"].as_i64().unwrap());
            }
            v
        };
        assert_eq!(versions, [2, 1, 1], "{backend:?}");

        // Another run cannot start while this one is open; it resumes from where it stopped.
        let go = json!({"from_version": 1, "to_version": 2});
        expect_problem(
            app.post("/api/v1/workflows/court_transfer/migrations", &app.admin(), &go).await,
            409,
            "already_exists",
        )
        .await;
        expect_problem(app.post(&format!("{path}/resume"), &app.head(), &json!({})).await, 403, "forbidden")
            .await;
        let r = app.post(&format!("{path}/resume?batch_size=1"), &app.admin(), &json!({})).await;
        assert_eq!(r.status(), StatusCode::OK, "{backend:?}");
        let done: Value = r.json().await.unwrap();
        assert_eq!(
            (done["moved"].as_i64(), done["finished_at"].is_string()),
            (Some(3), true),
            "{backend:?} {done}"
        );
        for id in &ids {
            let inst = read(&app, id).await;
            assert_eq!(inst["workflow_version"], 2, "{backend:?}");
            let (valid, v) = verifies(&app, id).await;
            assert!(valid, "{backend:?} {v}");
            // Each moved once: one event of the move in its history.
            let history: Value =
                app.get(&format!("/api/v1/instances/{id}/history"), &app.admin()).await.json().await.unwrap();
            let moves = history["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["transition"] == "_migration")
                .count();
            assert_eq!(moves, 1, "{backend:?}");
        }
    }
}
