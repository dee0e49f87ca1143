//! Faults: the server killed under load keeps everything it acknowledged, and two servers on
//! one PostgreSQL database agree on every conflict.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{backends, pdf, unserved, Backend, TestApp};
use crate::operations::{lienganh, serve};

/// A recommendation of the Hà Nội procuracy to the Hà Nội enforcement office, with its signed
/// file, freshly uploaded as the procuracy.
async fn recommendation(app: &TestApp, number: &str) -> Value {
    app.request_with_pdf(&app.procuracy(), "instrument_file", recommendation_of(number)).await
}

/// A recommendation without its file.
fn recommendation_of(number: &str) -> Value {
    json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": "VKS-HN", "enforcement": "THADS-HN"},
        "data": {
            "instrument": "recommendation",
            "document_number": number,
            "issued_on": "2026-11-02",
            "content": "Chậm ra quyết định thi hành án đối với 12 bản án đã nhận"
        }
    })
}

/// The steps after `issued`, with who takes them, to `accepted`.
fn steps(app: &TestApp) -> Vec<(&'static str, String, Value)> {
    vec![
        ("acknowledge", app.officer(), json!({})),
        (
            "answer",
            app.head(),
            json!({"reply_number": "512/THADS-NV", "reply_date": "2026-11-16", "measures": "Đã khắc phục"}),
        ),
        ("accept", app.procuracy(), json!({})),
    ]
}

/// Uploads a PDF of its own as the agency of `token`: its id, or None when the server gave no
/// answer or a server error (killed under load); any other refusal fails the test.
async fn try_upload(app: &TestApp, token: &str) -> Option<String> {
    let r = app
        .client
        .post(app.url("/api/v1/documents?name=van-ban.pdf"))
        .bearer_auth(token)
        .header("Content-Type", "application/pdf")
        .body(pdf("tải lên khi tải nặng"))
        .send()
        .await
        .ok()?;
    if r.status() != StatusCode::CREATED {
        assert!(r.status().is_server_error(), "upload: {}", r.status());
        return None;
    }
    Some(r.json::<Value>().await.ok()?["id"].as_str()?.to_owned())
}

/// The data of one of `steps` as its actor sends it: the answer with a signed reply of its
/// own, uploaded just before as the agency of `token`; None when the upload got no answer.
async fn with_files(app: &TestApp, transition: &str, token: &str, mut data: Value) -> Option<Value> {
    if transition == "answer" {
        data["reply_file"] = json!(try_upload(app, token).await?);
    }
    Some(data)
}

/// Every history in the database verifies: `lienganh audit verify` over it exits 0, the
/// documents read where the test's servers keep them.
fn audit_verifies(app: &TestApp) -> String {
    let out = lienganh()
        .current_dir(app.dir())
        .args(["audit", "verify"])
        .env("LIENGANH_DATABASE_URL", &app.database_url)
        .env("LIENGANH_DOCUMENTS_URL", app.documents())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Under load from 16 clients the server is killed with SIGKILL, then started again: every
/// creation and step that was answered 2xx is there, and every history verifies.
#[tokio::test]
async fn a_server_killed_under_load_keeps_all_it_acknowledged() {
    for backend in backends() {
        let mut app = unserved(backend);
        let mut served = serve(&mut app, &[]);
        app.seed_agencies().await;
        let app = Arc::new(app);
        // Instance id to the version its last acknowledged step left it at.
        let acknowledged: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
        let answered = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..16)
            .map(|c| {
                let (app, acknowledged, answered) = (app.clone(), acknowledged.clone(), answered.clone());
                tokio::spawn(async move {
                    for n in 0.. {
                        let Some(file) = try_upload(&app, &app.procuracy()).await else { return };
                        let mut request = recommendation_of(&format!("{c}-{n}/KN-VKS"));
                        request["data"]["instrument_file"] = json!(file);
                        let r = app
                            .client
                            .post(app.url("/api/v1/instances"))
                            .bearer_auth(app.procuracy())
                            .json(&request)
                            .send()
                            .await;
                        let Ok(r) = r else { return };
                        if r.status() != StatusCode::CREATED {
                            assert!(r.status().is_server_error(), "{}", r.status());
                            return;
                        }
                        let Ok(body) = r.json::<Value>().await else { return };
                        let id = body["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().insert(id.clone(), 1);
                        answered.fetch_add(1, Ordering::SeqCst);
                        for (version, (transition, token, data)) in (1..).zip(steps(&app)) {
                            let Some(data) = with_files(&app, transition, &token, data).await else { return };
                            let body =
                                json!({"transition": transition, "expected_version": version, "data": data});
                            let r = app
                                .client
                                .post(app.url(&format!("/api/v1/instances/{id}/transitions")))
                                .bearer_auth(token)
                                .json(&body)
                                .send()
                                .await;
                            // Refused, cut off or unanswered: not acknowledged, so not counted.
                            let Ok(r) = r else { return };
                            if !r.status().is_success() {
                                assert!(r.status().is_server_error(), "{transition}: {}", r.status());
                                return;
                            }
                            acknowledged.lock().unwrap().insert(id.clone(), version + 1);
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        // Killed in the middle of the load, once a few hundred writes were answered.
        while answered.load(Ordering::SeqCst) < 300 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        served.kill();
        for client in clients {
            client.await.unwrap();
        }
        let acknowledged = acknowledged.lock().unwrap().clone();
        let writes = answered.load(Ordering::SeqCst);

        let mut app = Arc::try_unwrap(app).unwrap_or_else(|_| panic!("clients still hold the app"));
        let _served = serve(&mut app, &[]);
        for (id, version) in &acknowledged {
            let r = app.get(&format!("/api/v1/instances/{id}"), &app.procuracy()).await;
            assert_eq!(r.status(), StatusCode::OK, "{backend:?}: acknowledged instance {id} is gone");
            let instance: Value = r.json().await.unwrap();
            let found = instance["version"].as_i64().unwrap();
            // A step in flight when the server died may have committed unanswered: more is
            // allowed, less never.
            assert!(found >= *version, "{backend:?}: {id} at version {found}, acknowledged {version}");
            let history: Value = app
                .get(&format!("/api/v1/instances/{id}/history"), &app.procuracy())
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(history["events"].as_array().unwrap().len() as i64, found, "{backend:?}: {id}");
            let check: Value = app
                .get(&format!("/api/v1/instances/{id}/history/verify"), &app.procuracy())
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(check["valid"], true, "{backend:?}: {id}: {check}");
        }
        let audit = audit_verifies(&app);
        assert!(audit.contains(": 0 broken"), "{audit}");
        eprintln!(
            "{backend:?}: killed after {writes} acknowledged writes over {} instances",
            acknowledged.len()
        );
        assert!(writes >= 300);
    }
}

/// Two `serve` processes on one PostgreSQL database: of concurrent steps at the same version
/// exactly one wins and the others are told the version moved; steps taken one after another
/// through both nodes are all kept; an idempotency key answers the same through either node.
#[tokio::test]
async fn two_nodes_agree_on_every_conflict() {
    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let mut app = unserved(Backend::Postgres);
    let served_a = serve(&mut app, &[]);
    let node_a = app.base.clone();
    let served_b = serve(&mut app, &[]);
    let node_b = app.base.clone();
    app.seed_agencies().await;
    let nodes = [node_a.clone(), node_b.clone()];
    let app = Arc::new(app);

    // Conflicts: 20 documents, each acknowledged by four requests at once, two per node.
    let mut ids = Vec::new();
    for n in 0..20 {
        let request = recommendation(&app, &format!("{n}/KN-VKS")).await;
        let r = app.post("/api/v1/instances", &app.procuracy(), &request).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let contenders: Vec<_> = ids
        .iter()
        .flat_map(|id| (0..4).map(move |k| (id.clone(), k)))
        .map(|(id, k)| {
            let (app, node) = (app.clone(), nodes[k % 2].clone());
            tokio::spawn(async move {
                let r = app
                    .client
                    .post(format!("{node}/api/v1/instances/{id}/transitions"))
                    .bearer_auth(app.officer())
                    .json(&json!({"transition": "acknowledge", "expected_version": 1, "data": {}}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                (id, status, body)
            })
        })
        .collect();
    let mut wins: HashMap<String, usize> = HashMap::new();
    for c in contenders {
        let (id, status, body) = c.await.unwrap();
        match status {
            StatusCode::OK => *wins.entry(id).or_default() += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "version_conflict", "{body}"),
            other => panic!("a contender got {other}: {body}"),
        }
    }
    for id in &ids {
        assert_eq!(wins.get(id), Some(&1), "exactly one winner for {id}");
        let instance: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.procuracy()).await.json().await.unwrap();
        assert_eq!(instance["version"], 2);
    }

    // No lost update: eight clients, four per node, each extending the reply deadline of one
    // document as often as it can, reading the version anew after each refusal.
    let id = ids[0].clone();
    let stop = Arc::new(AtomicBool::new(false));
    let won = Arc::new(AtomicUsize::new(0));
    let extenders: Vec<_> = (0..8)
        .map(|k| {
            let (app, node, id) = (app.clone(), nodes[k % 2].clone(), id.clone());
            let (stop, won) = (stop.clone(), won.clone());
            tokio::spawn(async move {
                let mut refused = 0;
                while !stop.load(Ordering::SeqCst) {
                    let current: Value = app
                        .client
                        .get(format!("{node}/api/v1/instances/{id}"))
                        .bearer_auth(app.procuracy())
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let body = json!({
                        "transition": "extend_reply",
                        "expected_version": current["version"],
                        "data": {"extension_days": 1, "extension_reason": "Văn phòng đề nghị"}
                    });
                    let r = app
                        .client
                        .post(format!("{node}/api/v1/instances/{id}/transitions"))
                        .bearer_auth(app.procuracy())
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    match r.status() {
                        StatusCode::OK => {
                            won.fetch_add(1, Ordering::SeqCst);
                        }
                        StatusCode::CONFLICT => refused += 1,
                        other => panic!("an extension got {other}: {}", r.text().await.unwrap()),
                    }
                }
                refused
            })
        })
        .collect();
    while won.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut refused = 0;
    for e in extenders {
        refused += e.await.unwrap();
    }
    let won = won.load(Ordering::SeqCst) as i64;
    let instance: Value =
        app.get(&format!("/api/v1/instances/{id}"), &app.procuracy()).await.json().await.unwrap();
    assert_eq!(instance["version"].as_i64().unwrap(), 2 + won, "every acknowledged extension is one version");
    let history: Value =
        app.get(&format!("/api/v1/instances/{id}/history"), &app.procuracy()).await.json().await.unwrap();
    let extensions =
        history["events"].as_array().unwrap().iter().filter(|e| e["transition"] == "extend_reply").count();
    assert_eq!(extensions as i64, won);
    eprintln!("{won} extensions kept, {refused} refused as stale");

    // One idempotency key, the same request sent to both nodes at once, ten times over.
    for n in 0..10 {
        let key = format!("two-nodes-{n}");
        // One upload: the request sent to both nodes is one request, naming the one file.
        let body = recommendation(&app, &format!("IDEM-{n}/KN-VKS")).await;
        let sends: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (app, node, key, body) = (app.clone(), node.clone(), key.clone(), body.clone());
                tokio::spawn(async move {
                    let r = app
                        .client
                        .post(format!("{node}/api/v1/instances"))
                        .bearer_auth(app.procuracy())
                        .header("Idempotency-Key", key)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    (r.status(), r.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut answers = Vec::new();
        for s in sends {
            answers.push(s.await.unwrap());
        }
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
        }
        assert_eq!(answers[0].1, answers[1].1, "both nodes answer with the one instance");
    }
    let page: Value = app.get("/api/v1/instances?limit=500", &app.procuracy()).await.json().await.unwrap();
    let made = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["data"]["document_number"].as_str().is_some_and(|d| d.starts_with("IDEM-")));
    assert_eq!(made.count(), 10, "one instance per key");
    audit_verifies(&app);
    drop((served_a, served_b));
}

/// The PostgreSQL server closes every connection of the service (as at a restart): a request
/// in the moment after may be told to retry (503, never a 500), and once the connections have
/// sat idle for a moment the pool replaces them before any request sees one; nothing that was
/// acknowledged before is lost.
#[tokio::test]
async fn connections_closed_by_postgresql_are_replaced() {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;
    use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

    if !backends().contains(&Backend::Postgres) {
        return;
    }
    let name = format!("lienganh_{}", uuid::Uuid::new_v4().simple());
    let app = crate::helpers::spawn_with(Backend::Postgres, |s| {
        s.database_url.push_str(&format!("&application_name={name}"));
    })
    .await;
    let request = recommendation(&app, "1/KN-VKS").await;
    let r = app.post("/api/v1/instances", &app.procuracy(), &request).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/instances/{id}");

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut admin = PgConnection::establish(&std::env::var("LIENGANH_TEST_POSTGRES_URL").unwrap()).unwrap();
    let closed = diesel::sql_query(format!(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = '{name}'"
    ))
    .get_result::<Count>(&mut admin)
    .unwrap();
    assert!(closed.n >= 1, "the service holds connections");

    // At once: each request is answered or told to retry, never a server error; a connection
    // found lost is dropped, not handed out again, so the refusals stop within the pool's size.
    let mut refused = 0;
    for _ in 0..8 {
        let r = app.get(&path, &app.procuracy()).await;
        match r.status() {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(r.headers()["retry-after"], "1", "a 503 says when to retry");
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["code"], "service_unavailable", "{body}");
                refused += 1;
            }
            other => {
                panic!("a request after the connections closed got {other}: {}", r.text().await.unwrap())
            }
        }
    }
    assert!(refused <= 4, "{refused} of 8 requests refused: lost connections were handed out again");

    // Closed again, then idle past the window: the pool pings and replaces them first.
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{name}'"
        ))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = app.get(&path, &app.procuracy()).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    for (version, (transition, token, data)) in (1..).zip(steps(&app)) {
        let data = with_files(&app, transition, &token, data).await.expect("the upload is answered");
        let body = json!({"transition": transition, "expected_version": version, "data": data});
        let r = app.post(&format!("{path}/transitions"), &token, &body).await;
        assert_eq!(r.status(), StatusCode::OK, "{transition}: {}", r.text().await.unwrap());
    }
    let instance: Value = app.get(&path, &app.procuracy()).await.json().await.unwrap();
    assert_eq!((instance["state"].as_str(), instance["version"].as_i64()), (Some("accepted"), Some(4)));
    assert!(audit_verifies(&app).contains("verified"), "the history verifies");
}
