use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_document, backends, expect_problem, register_data, spawn, transfer_request};
use crate::scenarios::common::{add_agency, add_regional_offices, officer_of, REGIONAL_1, REGIONAL_2};

/// The whole transfer, court to enforcement to procuracy, with the tokens of each side.
#[tokio::test]
async fn court_transfer_walks_to_its_end() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_offices(&app).await;
        let health: Value = app.client.get(app.url("/healthz")).send().await.unwrap().json().await.unwrap();
        let expected = if backend == crate::helpers::Backend::Postgres { "postgres" } else { "sqlite" };
        assert_eq!(health["database"], expected);
        let mut request = transfer_request("standard");
        request["reference_date"] = json!("2026-10-20");
        let r = app.post("/api/v1/instances", &app.court(), &request).await;
        assert_eq!(r.status(), 201);
        let inst: Value = r.json().await.unwrap();
        let id = inst["id"].as_str().unwrap().to_owned();
        assert_eq!(inst["state"], "judgment_effective");
        assert_eq!(inst["version"], 1);
        // Its judgment took effect after 1 July 2026: the instance runs under Law 106/2025.
        assert_eq!(inst["workflow_version"], 2, "{backend:?}");

        let transfer = json!({"transfer_date": "2026-10-25", "method": "in_person",
            "documents": [{"description": "Bản án phúc thẩm 125/2026/KDTM-PT", "quantity": "2", "unit": "bản"}]});
        let transfer = app.with_pdf(&app.court(), "judgment_file", transfer).await;
        let judgment_file = transfer["judgment_file"].as_str().unwrap().to_owned();
        let steps: [(String, &str, Value, &str); 5] = [
            (app.court(), "transfer", transfer, "transferred"),
            (app.officer(), "register", register_data("2026-10-27"), "registered"),
            (
                app.head(),
                "issue_decision",
                json!({"decision_number": "88/QĐ-THADS", "decision_date": "2026-10-29"}),
                "decision_issued",
            ),
            (
                app.head(),
                "assign_officer",
                json!({"regional_office": "THADS-HN-KV1", "officer_name": "Nguyễn Văn An", "assigned_date": "2026-10-30"}),
                "officer_assigned",
            ),
            (
                officer_of(&app, REGIONAL_1),
                "send_decision",
                json!({"sent_date": "2026-10-30", "dispatch_number": "91/THADS", "service_channel": "vneid"}),
                "decision_sent",
            ),
        ];
        // The follow-up started by the last step takes the law in force on the day of that
        // step: today (the day before or after, should the test run over midnight).
        let sent_on = lienganh::domain::today_local();
        for (i, (token, transition, data, to)) in steps.iter().enumerate() {
            let version = i as i64 + 1;
            let r = app.fire(&id, token, transition, version, data.clone()).await;
            assert_eq!(r.status(), StatusCode::OK, "{backend:?} {transition}: {}", r.text().await.unwrap());
            let after: Value = r.json().await.unwrap();
            assert_eq!(after["state"], *to);
            assert_eq!(after["version"], version + 1);
        }

        let done: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(done["state"], "decision_sent");
        assert_eq!(done["terminal"], true);
        assert_eq!(done["data"]["decision_number"], "88/QĐ-THADS");
        assert_eq!(done["data"]["documents"][0]["quantity"], "2");
        // The judgment's file is kept by what proves its bytes, not by the id sent.
        assert_document(&done["data"]["judgment_file"], &judgment_file, "application/pdf");

        // Sending the decision started the verification of the conditions of enforcement,
        // linked both ways, its parties and data carried over: it waits for the decision to
        // be served on the obligor, and knows when it was sent.
        let started = &done["links"]["started"];
        assert_eq!(started.as_array().unwrap().len(), 1, "{done}");
        assert_eq!(started[0]["workflow"], "condition_verification");
        assert_eq!(started[0]["seq"], 6);
        assert_eq!(started[0]["state"], "awaiting_service", "a party of both sees the state: {done}");
        let follow_up_id = started[0]["id"].as_str().unwrap().to_owned();
        let follow_up_path = format!("/api/v1/instances/{follow_up_id}");
        let follow_up: Value = app.get(&follow_up_path, &app.officer()).await.json().await.unwrap();
        assert_eq!(follow_up["state"], "awaiting_service");
        assert_eq!(follow_up["workflow"], "condition_verification");
        // The regional office assigned verifies; the provincial office looks on.
        assert_eq!(
            follow_up["parties"],
            json!({"enforcement": "THADS-HN-KV1", "provincial": "THADS-HN", "procuracy": "VKS-HN"})
        );
        assert_eq!(
            follow_up["data"],
            json!({"decision_number": "88/QĐ-THADS", "decision_sent_date": "2026-10-30"}),
            "the sending date, not yet the date of service"
        );
        assert_eq!(follow_up["links"]["started_by"]["id"], id.as_str());
        assert_eq!(follow_up["links"]["started_by"]["seq"], 6);
        assert_eq!(follow_up["links"]["started_by"]["state"], "decision_sent");
        assert!(
            [sent_on, lienganh::domain::today_local()]
                .iter()
                .any(|d| follow_up["reference_date"] == d.to_string()),
            "{follow_up}"
        );
        assert_ne!(follow_up["reference_date"], inst["reference_date"]);
        let verified: Value =
            app.get(&format!("{follow_up_path}/history/verify"), &app.officer()).await.json().await.unwrap();
        assert_eq!(verified["valid"], true, "{verified}");
        // The court is no party to it: it sees that the step started it (the step is in its
        // history), but not its state, and not the instance itself.
        let court_view: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.json().await.unwrap();
        assert_eq!(
            court_view["links"]["started"],
            json!([{"id": follow_up_id, "workflow": "condition_verification", "state": null, "seq": 6}]),
            "{court_view}"
        );
        expect_problem(app.get(&follow_up_path, &app.court()).await, 404, "not_found").await;
        expect_problem(app.get(&format!("{follow_up_path}/history"), &app.court()).await, 404, "not_found")
            .await;

        // Nothing is left to fire at the end.
        let left: Value =
            app.get(&format!("/api/v1/instances/{id}/transitions"), &app.head()).await.json().await.unwrap();
        assert_eq!(left, json!([]));

        let history: Value =
            app.get(&format!("/api/v1/instances/{id}/history"), &app.court()).await.json().await.unwrap();
        let events = history["events"].as_array().unwrap();
        let transitions: Vec<&str> = events.iter().map(|e| e["transition"].as_str().unwrap()).collect();
        assert_eq!(
            transitions,
            ["create", "transfer", "register", "issue_decision", "assign_officer", "send_decision"]
        );
        // The transfer's event records the judgment's file as the instance keeps it.
        assert_document(&events[1]["data"]["judgment_file"], &judgment_file, "application/pdf");
        assert_eq!(events[1]["data"]["judgment_file"], done["data"]["judgment_file"]);
        assert_eq!(events[2]["actor"]["agency"], "THADS-HN");
        assert_eq!(events[2]["actor"]["role"], "enforcement_officer");
        assert_eq!(events[3]["actor"]["role"], "enforcement_head");
        assert!(events[0]["occurred_at"].as_str().unwrap().ends_with("+07:00"));

        let verify: Value = app
            .get(&format!("/api/v1/instances/{id}/history/verify"), &app.court())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(verify["valid"], true, "{verify}");
        assert_eq!(verify["events"], 6);
        assert_eq!(verify["head_hash"], events[5]["hash"]);
    }
}

/// Each side may fire only its own steps, and only under the roles the definition allows.
#[tokio::test]
async fn wrong_role_or_party_is_forbidden() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();

        // The enforcement office cannot transfer on the court's behalf.
        let r = app.fire(&id, &app.head(), "transfer", 1, json!({})).await;
        expect_problem(r, 403, "forbidden").await;

        let data = app.transfer_data("Bản án").await;
        assert_eq!(app.fire(&id, &app.court(), "transfer", 1, data).await.status(), 200);
        assert_eq!(
            app.fire(&id, &app.officer(), "register", 2, register_data("2026-10-27")).await.status(),
            200
        );

        // Only the head issues the decision: an officer of the right office is refused.
        let decision = json!({"decision_number": "1/QĐ", "decision_date": "2026-10-28"});
        let body = expect_problem(
            app.fire(&id, &app.officer(), "issue_decision", 3, decision.clone()).await,
            403,
            "forbidden",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("enforcement_head"), "{body}");

        // A head of another province's office: not a party, so the instance does not exist for it.
        let other_head = app.token("head-lc", "THADS-LC", &[lienganh::domain::Role::EnforcementHead]);
        expect_problem(
            app.fire(&id, &other_head, "issue_decision", 3, decision.clone()).await,
            404,
            "not_found",
        )
        .await;

        // The procuracy sees the instance but may not act for the enforcement office.
        expect_problem(
            app.fire(&id, &app.procuracy(), "issue_decision", 3, decision.clone()).await,
            403,
            "forbidden",
        )
        .await;

        // Refusals changed nothing.
        let inst: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.head()).await.json().await.unwrap();
        assert_eq!(inst["version"], 3);
        assert_eq!(inst["state"], "registered");
        assert_eq!(app.fire(&id, &app.head(), "issue_decision", 3, decision).await.status(), 200);
    }
}

#[tokio::test]
async fn stale_version_conflicts_and_wrong_state_is_unprocessable() {
    for backend in backends() {
        let app = spawn(backend).await;
        let id = app.start_transfer("immediate").await["id"].as_str().unwrap().to_owned();

        // Not from this state: the court has not transferred yet.
        let r = app.fire(&id, &app.officer(), "register", 1, register_data("2026-10-27")).await;
        expect_problem(r, 422, "transition_not_allowed").await;
        expect_problem(
            app.fire(&id, &app.court(), "teleport", 1, json!({})).await,
            422,
            "unknown_transition",
        )
        .await;

        let data = app.transfer_data("Bản án").await;
        assert_eq!(app.fire(&id, &app.court(), "transfer", 1, data).await.status(), 200);
        // The same step again (with a file of its own) with the version the caller saw
        // before: someone moved it on.
        let data = app.transfer_data("Bản án").await;
        let body =
            expect_problem(app.fire(&id, &app.court(), "transfer", 1, data).await, 409, "version_conflict")
                .await;
        assert!(body["detail"].as_str().unwrap().contains("version 2"), "{body}");

        // Missing and malformed data are named field by field.
        let r = app.fire(&id, &app.officer(), "register", 2, json!({"received_date": "27/10/2026"})).await;
        let body = expect_problem(r, 422, "validation_failed").await;
        let fields: Vec<&str> =
            body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["data.receipt", "data.received_date", "data.register_number"]);
    }
}

/// Two users fire at once from the same version: exactly one wins, the other gets 409.
#[tokio::test]
async fn concurrent_steps_have_exactly_one_winner() {
    for backend in backends() {
        let app = spawn(backend).await;
        for round in 0..5 {
            let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
            let (one, two) = (app.transfer_data("Bản 1").await, app.transfer_data("Bản 2").await);
            let court = app.court();
            let (a, b) = tokio::join!(
                app.fire(&id, &court, "transfer", 1, one),
                app.fire(&id, &court, "transfer", 1, two),
            );
            let mut statuses = [a.status().as_u16(), b.status().as_u16()];
            statuses.sort();
            assert_eq!(statuses, [200, 409], "{backend:?} round {round}");
            let verify: Value = app
                .get(&format!("/api/v1/instances/{id}/history/verify"), &app.court())
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(verify["events"], 2);
            assert_eq!(verify["valid"], true);
        }
    }
}

/// A new instance takes the version in force on its legal reference date; a running one keeps it.
#[tokio::test]
async fn instances_take_the_version_in_force_on_their_reference_date() {
    for backend in backends() {
        let app = spawn(backend).await;
        let mut old = transfer_request("standard");
        old["reference_date"] = json!("2026-05-01");
        let r = app.post("/api/v1/instances", &app.court(), &old).await;
        assert_eq!(r.status(), 201);
        let old: Value = r.json().await.unwrap();
        assert_eq!(old["workflow_version"], 1);
        assert_eq!(old["reference_date"], "2026-05-01");

        let mut new = transfer_request("standard");
        new["reference_date"] = json!("2026-07-01");
        let new: Value = app.post("/api/v1/instances", &app.court(), &new).await.json().await.unwrap();
        assert_eq!(new["workflow_version"], 2);

        // The 2008 version has no regional office to assign.
        let id = old["id"].as_str().unwrap();
        let data = json!({"transfer_date": "2026-05-02", "method": "post", "documents": [{"description": "Bản án", "quantity": "1", "unit": "bản"}]});
        let data = app.with_pdf(&app.court(), "judgment_file", data).await;
        assert_eq!(app.fire(id, &app.court(), "transfer", 1, data).await.status(), 200);
        assert_eq!(
            app.fire(id, &app.officer(), "register", 2, register_data("2026-05-04")).await.status(),
            200
        );
        let decision = json!({"decision_number": "2/QĐ", "decision_date": "2026-05-05"});
        assert_eq!(app.fire(id, &app.head(), "issue_decision", 3, decision).await.status(), 200);
        let r = app
            .fire(
                id,
                &app.head(),
                "assign_officer",
                4,
                json!({"regional_office": "X", "officer_name": "A", "assigned_date": "2026-05-06"}),
            )
            .await;
        let body = expect_problem(r, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "data.regional_office");

        let mut before_law = transfer_request("standard");
        before_law["reference_date"] = json!("2001-01-01");
        expect_problem(
            app.post("/api/v1/instances", &app.court(), &before_law).await,
            422,
            "no_definition_in_force",
        )
        .await;

        let versions: Value =
            app.get("/api/v1/workflows/court_transfer", &app.court()).await.json().await.unwrap();
        let listed: Vec<i64> =
            versions["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
        assert_eq!(listed, [1, 2]);
        assert_eq!(versions["versions"][0]["valid_until"], "2026-06-30");
        let deadline = &versions["versions"][0]["deadlines"][0];
        assert!(deadline["legal_basis"].as_str().unwrap().contains("Điều 28"), "{deadline}");
        expect_problem(app.get("/api/v1/workflows/nope", &app.court()).await, 404, "not_found").await;
    }
}

/// Under Law 106/2025 the provincial office assigns the case to one of its regional offices:
/// that step binds the office as a party, which then sees the instance, is reminded of the
/// decision's sending and sends it. Only an enforcement office under the provincial one can be
/// assigned, once; another regional office still sees nothing.
#[tokio::test]
async fn a_regional_office_acts_on_its_own_court_transfer() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_offices(&app).await;
        add_agency(&app, "THADS-LC-KV1", "enforcement", "Phòng THADS khu vực 1 - Lào Cai", Some("THADS-LC"))
            .await;
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/instances/{id}");
        let data = app.transfer_data("Bản án 7/2026/DS-ST").await;
        app.fire_ok(&id, &app.court(), "transfer", 1, data).await;
        app.fire_ok(&id, &app.officer(), "register", 2, register_data("2026-10-27")).await;
        let decision = json!({"decision_number": "90/QĐ-THADS", "decision_date": "2026-10-29"});
        app.fire_ok(&id, &app.head(), "issue_decision", 3, decision).await;
        let (kv1, kv2) = (officer_of(&app, REGIONAL_1), officer_of(&app, REGIONAL_2));
        expect_problem(app.get(&path, &kv1).await, 404, "not_found").await;

        // Not an office under THADS-HN, not an enforcement office, no agency at all: refused,
        // and nothing bound.
        for (office, reason) in [
            ("THADS-LC-KV1", "is not the superior office of THADS-LC-KV1"),
            ("TAND-HN", "is a court agency"),
            ("THADS-XX", "no agency has the code"),
        ] {
            let assign = json!({"regional_office": office, "officer_name": "Nguyễn Văn An", "assigned_date": "2026-10-30"});
            let body = expect_problem(
                app.fire(&id, &app.head(), "assign_officer", 4, assign).await,
                422,
                "validation_failed",
            )
            .await;
            assert_eq!(body["errors"][0]["field"], "data.regional_office", "{backend:?} {body}");
            assert!(body["errors"][0]["reason"].as_str().unwrap().contains(reason), "{backend:?} {body}");
        }
        let assign = json!({"regional_office": REGIONAL_1, "officer_name": "Nguyễn Văn An", "assigned_date": "2026-10-30"});
        let assigned = app.fire_ok(&id, &app.head(), "assign_officer", 4, assign).await;
        assert_eq!(assigned["parties"]["regional"], REGIONAL_1, "{backend:?} {assigned}");

        // The regional office sees it, finds it among its own, and owes the decision's sending.
        let seen: Value = app.get(&path, &kv1).await.json().await.unwrap();
        assert_eq!(seen["state"], "officer_assigned", "{backend:?}");
        let listed: Value = app.get("/api/v1/instances", &kv1).await.json().await.unwrap();
        assert!(
            listed["items"].as_array().unwrap().iter().any(|i| i["id"] == id.as_str()),
            "{backend:?} {listed}"
        );
        let owed: Value = app.get("/api/v1/deadlines?status=overdue", &kv1).await.json().await.unwrap();
        let send = owed["items"].as_array().unwrap().iter().find(|d| d["name"] == "send_decision").cloned();
        let send = send.unwrap_or_else(|| panic!("{backend:?} {owed}"));
        assert_eq!(send["responsible"], REGIONAL_1, "{backend:?} {send}");
        // Its 3 working days count from the decision (Thursday 29 October): Tuesday 3 November.
        assert_eq!(send["due_date"], "2026-11-03", "{backend:?} {send}");

        // The other regional office still sees nothing; the provincial office no longer sends it.
        let sending = json!({"sent_date": "2026-10-30", "dispatch_number": "93/THADS"});
        expect_problem(app.get(&path, &kv2).await, 404, "not_found").await;
        expect_problem(app.fire(&id, &kv2, "send_decision", 5, sending.clone()).await, 404, "not_found")
            .await;
        expect_problem(
            app.fire(&id, &app.officer(), "send_decision", 5, sending.clone()).await,
            403,
            "forbidden",
        )
        .await;
        let sent = app.fire_ok(&id, &kv1, "send_decision", 5, sending).await;
        assert_eq!(sent["state"], "decision_sent", "{backend:?}");

        // The verification it started is the regional office's to carry out, and only its.
        let verification = sent["links"]["started"][0]["id"].as_str().unwrap().to_owned();
        let served = json!({"served_on": "2026-11-02", "service_channel": "in_person"});
        expect_problem(
            app.fire(&verification, &kv2, "record_service", 1, served.clone()).await,
            404,
            "not_found",
        )
        .await;
        expect_problem(
            app.fire(&verification, &app.officer(), "record_service", 1, served.clone()).await,
            403,
            "forbidden",
        )
        .await;
        let served = app.fire_ok(&verification, &kv1, "record_service", 1, served).await;
        assert_eq!(served["state"], "voluntary_period", "{backend:?}");

        let verify: Value = app.get(&format!("{path}/history/verify"), &kv1).await.json().await.unwrap();
        assert_eq!(verify["valid"], true, "{backend:?} {verify}");
        let history: Value =
            app.get(&format!("{path}/history"), &app.procuracy()).await.json().await.unwrap();
        let last = &history["events"][5];
        assert_eq!(
            (last["actor"]["agency"].as_str(), last["transition"].as_str()),
            (Some(REGIONAL_1), Some("send_decision"))
        );

        // The agency bound by a step is proven by the step's event: moved by hand, it shows.
        let moved = format!(
            "UPDATE instances SET parties = replace(parties, '{REGIONAL_1}', '{REGIONAL_2}') WHERE id = '{id}'"
        );
        app.try_sql(&moved).unwrap();
        let verify: Value =
            app.get(&format!("{path}/history/verify"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(verify["valid"], false, "{backend:?} {verify}");
        assert!(verify["reason"].as_str().unwrap().contains("bound to regional"), "{backend:?} {verify}");
    }
}
