//! denunciation: someone denounces the head of a regional office of Hà Nội to the city's
//! office, which settles it. The denouncer's name, address and ID number are seen by the
//! city's office only: the regional office that must explain, the procuracy that supervises
//! and an auditor see the denunciation without them, in the instance, the lists, the
//! history, their inboxes, search and the supervision the procuracy starts from it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::common::{
    add_agency, add_regional_level, auditor, deadline, head_of, inspector_of, notified, officer_of,
    REGIONAL_1, REGIONAL_2,
};
use crate::helpers::{backends, expect_problem, spawn, TestApp};

const DENOUNCER: [&str; 3] = ["denouncer_name", "denouncer_address", "denouncer_id_number"];

fn denunciation() -> Value {
    json!({
        "workflow": "denunciation",
        "parties": {"settling": "THADS-HN", "procuracy": "VKS-HN", "denounced": REGIONAL_1},
        "data": {
            "denouncer_name": "Lê Thị Hoa",
            "denouncer_address": "Số 8 ngõ 12 phố Kim Mã, Ba Đình, Hà Nội",
            "denouncer_id_number": "001190012345",
            "denounced_person": "Phạm Văn Quân, Trưởng phòng THADS khu vực 1",
            "denounced_in": "subordinate_office",
            "received_on": "2026-11-02",
            "content": "Nhận tiền của người phải thi hành án để trì hoãn việc cưỡng chế"
        }
    })
}

/// Whether anything `text` holds names the denouncer.
fn names_the_denouncer(text: &str) -> bool {
    ["Lê Thị Hoa", "Kim Mã", "001190012345"].iter().any(|s| text.contains(s))
}

async fn seen(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get(path, token).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

async fn fire(app: &TestApp, id: &str, token: &str, transition: &str, version: i64, data: Value) -> Value {
    app.fire_ok(id, token, transition, version, data).await
}

#[tokio::test]
async fn the_denouncer_is_seen_by_the_settling_office_only() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_regional_level(&app).await;
        add_agency(&app, REGIONAL_2, "enforcement", "Phòng THADS khu vực 2 - Hà Nội", Some("THADS-HN")).await;
        let settling = app.head();
        let denounced = head_of(&app, REGIONAL_1);
        let inspector = inspector_of(&app, "VKS-HN");
        let others = [denounced.clone(), inspector.clone(), auditor(&app)];

        let r = app.post("/api/v1/instances", &app.officer(), &denunciation()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: Value = r.json().await.unwrap();
        assert_eq!(created["data"]["denouncer_name"], "Lê Thị Hoa", "the office that took it sees who");
        let id = created["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/instances/{id}");
        // Monday 2 November + 7 working days: Wednesday 11 November.
        assert_eq!(deadline(&app, &id, &settling, "accept").await["due_date"], "2026-11-11");

        // Accepting is the head's, and another regional office does not see the matter.
        expect_problem(
            app.fire(&id, &app.officer(), "accept", 1, json!({"accepted_on": "2026-11-04"})).await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(app.get(&path, &head_of(&app, REGIONAL_2)).await, 404, "not_found").await;
        fire(&app, &id, &settling, "accept", 1, json!({"accepted_on": "2026-11-04"})).await;
        assert_eq!(notified(&app, &id, 2), [REGIONAL_1, "VKS-HN"]);
        // 30 days from acceptance: Friday 4 December.
        assert_eq!(deadline(&app, &id, &settling, "settle").await["due_date"], "2026-12-04");

        let asked = json!({"explanation_requested_on": "2026-11-05", "questions": "Giải trình việc hoãn cưỡng chế ngày 20/10/2026"});
        let stale = app.fire(&id, &settling, "request_explanation", 1, asked.clone()).await;
        expect_problem(stale, 409, "version_conflict").await;
        fire(&app, &id, &settling, "request_explanation", 2, asked).await;
        // The office denounced explains, and its answer does not tell it who denounced.
        let explained = fire(
            &app,
            &id,
            &denounced,
            "explain",
            3,
            json!({"explanation": "Việc hoãn theo đề nghị của Viện kiểm sát, có văn bản kèm theo"}),
        )
        .await;
        assert!(!names_the_denouncer(&explained.to_string()), "{backend:?} {explained}");
        assert_eq!(explained["data"]["denounced_person"], "Phạm Văn Quân, Trưởng phòng THADS khu vực 1");

        // The procuracy recommends; its supervision carries nothing of the denouncer.
        let recommendation = app
            .with_pdf(
                &inspector,
                "recommendation_file",
                json!({"recommendation_number": "20/KN-VKS", "recommended_on": "2026-11-20",
                       "recommendation": "Chậm xác minh nội dung tố cáo"}),
            )
            .await;
        let recommended = fire(&app, &id, &inspector, "recommend", 4, recommendation).await;
        let supervision_id = recommended["links"]["started"][0]["id"].as_str().unwrap().to_owned();
        let supervision = seen(&app, &format!("/api/v1/instances/{supervision_id}"), &settling).await;
        assert_eq!(supervision["data"]["document_number"], "20/KN-VKS", "{supervision}");
        assert!(!names_the_denouncer(&supervision.to_string()), "{supervision}");

        let concluded = app
            .with_pdf(
                &settling,
                "conclusion_file",
                json!({"concluded_on": "2026-11-27", "finding": "partly_founded",
                       "conclusion": "Tố cáo đúng một phần; kiểm điểm trách nhiệm"}),
            )
            .await;
        let last = fire(&app, &id, &settling, "conclude", 5, concluded).await;
        assert_eq!(last["state"], "concluded");

        // Who denounced: the settling office sees it in the instance, its list and the history.
        let own = seen(&app, &path, &settling).await;
        assert_eq!(own["data"]["denouncer_address"], "Số 8 ngõ 12 phố Kim Mã, Ba Đình, Hà Nội");
        let history = seen(&app, &format!("{path}/history"), &settling).await;
        assert_eq!(history["events"][0]["data"]["denouncer_id_number"], "001190012345");
        let list = seen(&app, "/api/v1/instances?workflow=denunciation", &settling).await;
        assert_eq!(list["items"][0]["data"]["denouncer_name"], "Lê Thị Hoa");

        // Nobody else does: not in the instance, the lists, the history, the inbox.
        for token in &others {
            let instance = seen(&app, &path, token).await;
            for field in DENOUNCER {
                assert!(instance["data"].get(field).is_none(), "{backend:?} {field}: {instance}");
            }
            assert_eq!(instance["data"]["content"], denunciation()["data"]["content"]);
            let list = seen(&app, "/api/v1/instances?workflow=denunciation", token).await;
            let history = seen(&app, &format!("{path}/history"), token).await;
            let inbox = seen(&app, "/api/v1/inbox?limit=500", token).await;
            for shown in [&instance, &list, &history, &inbox] {
                assert!(!names_the_denouncer(&shown.to_string()), "{backend:?}: {shown}");
            }
            // The chain still verifies for them: it is the server that hashes what they cannot see.
            let verified = seen(&app, &format!("{path}/history/verify"), token).await;
            assert_eq!(verified["valid"], true, "{backend:?} {verified}");
        }
        // Search never finds a denunciation by its denouncer, not even for the settling office.
        let found = seen(&app, "/api/v1/search?q=le%20thi%20hoa", &settling).await;
        assert!(!found.to_string().contains(&id), "{found}");

        // The workflow as published says who sees what.
        let def = seen(&app, "/api/v1/workflows/denunciation", &denounced).await;
        let name = def["versions"][0]["create"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "denouncer_name")
            .unwrap();
        assert_eq!(name["visible_to"], json!(["settling"]));

        // The office denounced is not asked to explain when it is the settling office itself.
        let mut own_office = denunciation();
        own_office["data"]["denounced_in"] = json!("settling_office");
        own_office["parties"].as_object_mut().unwrap().remove("denounced");
        let r = app.post("/api/v1/instances", &officer_of(&app, "THADS-HN"), &own_office).await;
        let created: Value = r.json().await.unwrap();
        let other = created["id"].as_str().unwrap();
        fire(&app, other, &settling, "accept", 1, json!({"accepted_on": "2026-11-03"})).await;
        let asked = json!({"explanation_requested_on": "2026-11-05", "questions": "?"});
        expect_problem(
            app.fire(other, &settling, "request_explanation", 2, asked).await,
            422,
            "transition_not_allowed",
        )
        .await;
    }
}
