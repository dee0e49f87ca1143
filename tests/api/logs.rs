//! Personal data never reaches the log: the real binary at the most verbose log level, fed
//! cases with personal data, successful and failing requests alike.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lienganh::domain::{AgencyCode, Role};
use lienganh::http::auth::JwtKeys;
use serde_json::{json, Value};

use crate::helpers::{backends, fresh_database, AGENCIES, SECRET};

const NAME: &str = "Phạm Thị Riêng Tư";
const ID_NUMBER: &str = "079188001234";
const ADDRESS: &str = "Số 17 ngõ 42 phố Hàng Bạc, Hoan Kiem";
const OBLIGEE: &str = "Đỗ Văn Bí Mật";

/// Runs `lienganh serve` with LIENGANH_LOG=trace until `drive` is done with it; returns
/// everything it wrote.
async fn serve_and_capture<F, Fut>(database_url: &str, drive: F) -> String
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lienganh"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("LIENGANH_CONFIG")
        .env("LIENGANH_DATABASE_URL", database_url)
        .env("LIENGANH_BIND", "127.0.0.1:0")
        .env("LIENGANH_JWT_SECRET", SECRET)
        .env("LIENGANH_WORKFLOWS", std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows"))
        .env("LIENGANH_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            if let Some(base) = line.strip_prefix("lienganh is listening on ") {
                let _ = tx.send(base.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let base = rx.recv_timeout(Duration::from_secs(60)).expect("the server says where it listens");
    drive(base).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let out = out_reader.join().unwrap();
    let err = err_reader.join().unwrap();
    format!("{out}\n{err}")
}

fn token(keys: &JwtKeys, sub: &str, agency: &str, role: Role) -> String {
    let agency = AgencyCode::parse(agency).unwrap();
    keys.issue(sub, &format!("User {sub}"), &agency, &[role], Duration::from_secs(600)).unwrap()
}

fn personal_case(number: &str) -> Value {
    let mut case = crate::cases::case("THADS-HN", number, "2026-08-03", "5000000");
    case["obligor"] = json!({"name": NAME, "id_number": ID_NUMBER, "address": ADDRESS});
    case["obligee"] = json!({"name": OBLIGEE});
    case
}

#[tokio::test]
async fn personal_data_never_reaches_the_log() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let (url, _schema) = fresh_database(backend, dir.path());
        let settings = crate::helpers::settings_for(&url);
        let keys = JwtKeys::new(SECRET.as_bytes(), &settings.jwt_issuer, &settings.jwt_audience);
        let log = serve_and_capture(&url, |base| async move {
            let client = reqwest::Client::new();
            let api = |path: &str| format!("{base}/api/v1{path}");
            let admin = token(&keys, "admin", "BTP", Role::Admin);
            let officer = token(&keys, "officer-1", "THADS-HN", Role::EnforcementOfficer);
            let auditor = token(&keys, "auditor-1", "TTR-BTP", Role::Auditor);
            for (code, kind, name) in AGENCIES {
                let r = client
                    .post(api("/agencies"))
                    .bearer_auth(&admin)
                    .json(&json!({"code": code, "kind": kind, "name": name}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            }
            let post = |path: &str, token: &str, body: &Value| {
                client.post(api(path)).bearer_auth(token.to_owned()).json(body).send()
            };
            // A case with personal data, read back by its office and by an auditor.
            let r = post("/cases", &officer, &personal_case("PD-1")).await.unwrap();
            assert_eq!(r.status(), 201);
            let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            for who in [&officer, &auditor] {
                let case: Value = client
                    .get(api(&format!("/cases/{id}")))
                    .bearer_auth(who)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(case["obligor"]["id_number"], ID_NUMBER);
                let r = client.get(api("/cases")).bearer_auth(who).send().await.unwrap();
                assert_eq!(r.status(), 200);
            }
            // Failing requests that carry personal data, each refused in its own way.
            let mut wrong_type = personal_case("PD-2");
            wrong_type["obligor"] = json!(format!("{NAME}, {ID_NUMBER}, {ADDRESS}"));
            let mut unknown_key = personal_case("PD-3");
            unknown_key["obligor"][ID_NUMBER] = json!(NAME);
            let mut too_long = personal_case("PD-4");
            too_long["obligor"]["address"] = json!(format!("{ADDRESS} {}", "x".repeat(600)));
            let mut future = personal_case("PD-5");
            future["received_on"] = json!("2999-01-01");
            let mut control = personal_case("PD-6");
            control["obligor"]["name"] = json!(format!("{NAME}\u{7}"));
            let refused = [
                ("/cases", &officer, wrong_type, 422),
                ("/cases", &officer, unknown_key, 422),
                ("/cases", &officer, too_long, 422),
                ("/cases", &officer, future, 422),
                ("/cases", &officer, control, 422),
                ("/cases", &officer, personal_case("PD-1"), 409),
                ("/cases", &auditor, personal_case("PD-7"), 403),
                ("/cases", &"not-a-token".to_owned(), personal_case("PD-8"), 401),
            ];
            for (path, who, body, status) in refused {
                let r = post(path, who, &body).await.unwrap();
                assert_eq!(r.status().as_u16(), status, "{}", r.text().await.unwrap());
            }
            // Personal data as the key of a step's data, and in a comment refused for its length.
            let mut instance = crate::helpers::transfer_request("standard");
            instance["data"][NAME] = json!(ADDRESS);
            let court = token(&keys, "court-1", "TAND-HN", Role::CourtLiaison);
            assert_eq!(post("/instances", &court, &instance).await.unwrap().status(), 422);
            let malformed = client
                .post(api("/cases"))
                .bearer_auth(&officer)
                .header("content-type", "application/json")
                .body(format!("{{\"obligor\": {{\"name\": \"{NAME}\", \"id_number\": {ID_NUMBER}x"))
                .send()
                .await
                .unwrap();
            assert_eq!(malformed.status(), 400);
        })
        .await;
        // The log is there and speaks of the requests and their refusals...
        assert!(log.contains("/api/v1/cases"), "{backend:?}: no request log:\n{log}");
        assert!(log.contains("validation_failed"), "{backend:?}: refusals are not logged:\n{log}");
        // ...and holds none of the personal data.
        for secret in [NAME, ID_NUMBER, ADDRESS, OBLIGEE, "Hoan Kiem"] {
            if let Some(at) = log.find(secret) {
                let start = log[..at].rfind('\n').unwrap_or(0);
                let end = log[at..].find('\n').map_or(log.len(), |e| at + e);
                panic!("{backend:?}: {secret:?} is in the log:\n{}", &log[start..end]);
            }
        }
    }
}
