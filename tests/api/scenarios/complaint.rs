//! complaint: an obligor complains to the regional office of Hà Nội about a coercion decision;
//! the office accepts it and settles it, the procuracy recommends on the decision (a
//! supervision of its own, linked), the obligor complains again and the city's office, bound
//! by the forwarding step as the regional office's superior, accepts and settles it. A
//! complaint lodged out of time is refused at its start, one forwarded to an office that is
//! not the superior is refused, and the first decision stands when nobody complains again.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{
    add_agency, add_regional_level, auditor, deadline, error_reason, head_of, inspector_of, notified,
    officer_of, Run, REGIONAL_1, REGIONAL_2, REGIONAL_PROCURACY,
};
use crate::helpers::{backends, expect_problem, spawn};

fn complaint(subject: &str, known_on: &str, received_on: &str) -> Value {
    json!({
        "workflow": "complaint",
        "parties": {"first_level": REGIONAL_1, "procuracy": REGIONAL_PROCURACY},
        "data": {
            "complainant": "Trần Văn Bình, người phải thi hành án",
            "subject": subject,
            "contested": "Quyết định số 31/QĐ-THADS về cưỡng chế kê biên tài sản",
            "known_on": known_on,
            "received_on": received_on,
            "content": "Kê biên tài sản có giá trị lớn hơn nhiều so với nghĩa vụ phải thi hành"
        }
    })
}

#[tokio::test]
async fn a_complaint_is_settled_twice_and_the_procuracy_recommends_on_it() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        add_agency(&app, REGIONAL_2, "enforcement", "Phòng THADS khu vực 2 - Hà Nội", Some("THADS-HN")).await;
        let office = head_of(&app, REGIONAL_1);
        let inspector = inspector_of(&app, REGIONAL_PROCURACY);

        // 30 days for a coercive measure: known on 2 November, lodged on 30 November.
        let request = complaint("coercion", "2026-11-02", "2026-11-30");
        let mut run = Run::start(&app, &officer_of(&app, REGIONAL_1), request, "received").await;
        let id = run.id.clone();
        // Monday 30 November + 5 working days: Monday 7 December.
        assert_eq!(deadline(&app, &id, &office, "accept_first").await["due_date"], "2026-12-07");

        // Accepting is the head's; the procuracy may not, nor another office at all.
        run.refused(
            &officer_of(&app, REGIONAL_1),
            "accept",
            json!({"accepted_on": "2026-12-01"}),
            403,
            "forbidden",
        )
        .await;
        run.refused(
            &head_of(&app, REGIONAL_2),
            "accept",
            json!({"accepted_on": "2026-12-01"}),
            404,
            "not_found",
        )
        .await;
        run.step(&office, "accept", json!({"accepted_on": "2026-12-01"}), "accepted").await;
        // A coercive measure: 30 days from acceptance.
        assert_eq!(deadline(&app, &id, &office, "settle_coercion").await["due_date"], "2026-12-31");
        assert_eq!(notified(&app, &id, 2), [REGIONAL_PROCURACY]);

        let decided = app
            .with_pdf(
                &office,
                "first_decision_file",
                json!({"first_decision_number": "05/QĐ-GQKN", "first_decided_on": "2026-12-03",
                       "first_outcome": "rejected"}),
            )
            .await;
        run.step(&office, "settle_first", decided, "settled_first").await;

        // The procuracy recommends on the decision: its own supervision starts, linked.
        let recommendation = app
            .with_pdf(
                &inspector,
                "recommendation_file",
                json!({"recommendation_number": "12/KN-VKS", "recommended_on": "2026-12-04",
                       "recommendation": "Quyết định giải quyết khiếu nại chưa xem xét giá trị tài sản kê biên"}),
            )
            .await;
        let recommended =
            run.step(&inspector, "recommend_on_decision", recommendation, "settled_first").await;
        let started = &recommended["links"]["started"];
        assert_eq!(started[0]["workflow"], "procuracy_supervision", "{backend:?} {recommended}");
        let supervision_id = started[0]["id"].as_str().unwrap();
        let supervision: Value =
            app.get(&format!("/api/v1/instances/{supervision_id}"), &office).await.json().await.unwrap();
        assert_eq!(supervision["data"]["instrument"], "recommendation", "{supervision}");
        assert_eq!(supervision["data"]["document_number"], "12/KN-VKS");
        assert_eq!(supervision["parties"]["enforcement"], REGIONAL_1);
        assert_eq!(supervision["links"]["started_by"]["id"], id.as_str());

        // The obligor complains again: forwarded to an office that is not the superior one,
        // refused; to the city's office, which then sees the complaint and settles it.
        let appeal = |office: &str| {
            json!({"superior_office": office, "first_decision_received_on": "2026-12-04",
                   "appealed_on": "2026-12-10"})
        };
        let problem =
            run.refused(&office, "forward_appeal", appeal(REGIONAL_2), 422, "validation_failed").await;
        assert!(
            error_reason(&problem, "data.superior_office")
                .contains("is not the superior office of THADS-HN-KV1"),
            "{problem}"
        );
        expect_problem(app.get(&run.path(""), &app.head()).await, 404, "not_found").await;
        let forwarded = run.step(&office, "forward_appeal", appeal("THADS-HN"), "appealed").await;
        assert_eq!(forwarded["parties"]["second_level"], "THADS-HN");
        assert_eq!(notified(&app, &id, 5), ["THADS-HN", REGIONAL_PROCURACY]);
        // Thursday 10 December + 5 working days: Thursday 17 December.
        assert_eq!(deadline(&app, &id, &app.head(), "accept_second").await["due_date"], "2026-12-17");
        // The regional office may not settle what is now the city's to settle.
        run.refused(&office, "accept_second", json!({"accepted_second_on": "2026-12-11"}), 403, "forbidden")
            .await;
        run.step(
            &app.head(),
            "accept_second",
            json!({"accepted_second_on": "2026-12-11"}),
            "accepted_second",
        )
        .await;
        let stale = app.fire(&id, &app.head(), "settle_second", run.version - 1, json!({})).await;
        expect_problem(stale, 409, "version_conflict").await;
        let settled = app
            .with_pdf(
                &app.head(),
                "second_decision_file",
                json!({"second_decision_number": "02/QĐ-GQKN", "second_decided_on": "2026-12-21",
                       "second_outcome": "partly_upheld"}),
            )
            .await;
        let last = run.step(&app.head(), "settle_second", settled, "settled_second").await;
        assert_eq!(last["terminal"], true);
        run.verify(&auditor(&app), 7).await;
    }
}

#[tokio::test]
async fn a_late_complaint_is_refused_and_a_first_decision_stands_when_nobody_complains_again() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        let office = head_of(&app, REGIONAL_1);

        // 15 days before any measure: lodged on the 16th day, refused with the article.
        let late = complaint("before_measures", "2026-11-02", "2026-11-18");
        let r = app.post("/api/v1/instances", &officer_of(&app, REGIONAL_1), &late).await;
        let problem = expect_problem(r, 422, "validation_failed").await;
        assert!(error_reason(&problem, "data.received_on").contains("Điều 140"), "{problem}");

        let request = complaint("before_measures", "2026-11-02", "2026-11-17");
        let mut run = Run::start(&app, &officer_of(&app, REGIONAL_1), request, "received").await;
        run.step(&office, "accept", json!({"accepted_on": "2026-11-18"}), "accepted").await;
        // 15 days from acceptance: Thursday 3 December.
        assert_eq!(
            deadline(&app, &run.id, &office, "settle_before_measures").await["due_date"],
            "2026-12-03"
        );
        let decided = app
            .with_pdf(
                &office,
                "first_decision_file",
                json!({"first_decision_number": "07/QĐ-GQKN", "first_decided_on": "2026-11-20",
                       "first_outcome": "upheld"}),
            )
            .await;
        run.step(&office, "settle_first", decided, "settled_first").await;
        // The complainant's 15 days must have passed before the decision is taken to stand.
        let early = json!({"first_decision_received_on": "2026-11-21", "closed_on": "2026-12-01"});
        run.refused(&office, "close_first_level", early, 422, "validation_failed").await;
        // Its 15 days end on Sunday 6 December, so on Monday 7: the decision stands from the 8th.
        let too_soon = json!({"first_decision_received_on": "2026-11-21", "closed_on": "2026-12-07"});
        run.refused(&office, "close_first_level", too_soon, 422, "validation_failed").await;
        let closed = json!({"first_decision_received_on": "2026-11-21", "closed_on": "2026-12-08"});
        let last = run.step(&office, "close_first_level", closed, "final").await;
        assert_eq!(last["terminal"], true);
        assert_eq!(app.get(&run.path(""), &app.head()).await.status(), StatusCode::NOT_FOUND);
        run.verify(&office, 4).await;
    }
}

/// A complaint upheld records on the case the decision it cancelled; one rejected, nothing.
#[tokio::test]
async fn an_upheld_complaint_is_recorded_on_its_case() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        let office = head_of(&app, REGIONAL_1);
        let case = crate::cases::case(REGIONAL_1, "THA-31/2026", "2026-10-05", "300000000");
        let case: Value =
            app.post("/api/v1/cases", &officer_of(&app, REGIONAL_1), &case).await.json().await.unwrap();
        let case_id = case["id"].as_str().unwrap().to_owned();
        let kinds = |history: &Value| -> Vec<String> {
            history["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["kind"].as_str().unwrap().to_owned())
                .collect()
        };
        for (outcome, recorded) in [("rejected", false), ("upheld", true)] {
            let mut request = complaint("coercion", "2026-11-02", "2026-11-30");
            request["case_id"] = json!(case_id);
            let mut run = Run::start(&app, &officer_of(&app, REGIONAL_1), request, "received").await;
            run.step(&office, "accept", json!({"accepted_on": "2026-12-01"}), "accepted").await;
            let decided = app
                .with_pdf(
                    &office,
                    "first_decision_file",
                    json!({"first_decision_number": "09/QĐ-GQKN", "first_decided_on": "2026-12-03",
                           "first_outcome": outcome}),
                )
                .await;
            run.step(&office, "settle_first", decided, "settled_first").await;
            let history: Value =
                app.get(&format!("/api/v1/cases/{case_id}/history"), &office).await.json().await.unwrap();
            let last = history["events"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["kind"] == "record", recorded, "{backend:?} {outcome}: {:?}", kinds(&history));
            if recorded {
                assert_eq!(last["data"]["value"], "Quyết định số 31/QĐ-THADS về cưỡng chế kê biên tài sản");
                assert_eq!(last["data"]["on"], "2026-12-03");
                assert_eq!(last["data"]["source"]["instance_id"], run.id.as_str());
            }
        }
        let verified: Value =
            app.get(&format!("/api/v1/cases/{case_id}/history/verify"), &office).await.json().await.unwrap();
        assert_eq!(verified["valid"], true, "{verified}");
    }
}
