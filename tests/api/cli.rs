use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::helpers::settings_for;

fn lienganh() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lienganh"));
    for var in ["LIENGANH_JWT_SECRET", "LIENGANH_DATABASE_URL", "LIENGANH_CONFIG", "LIENGANH_WORKFLOWS"] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn check_names_the_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    // A transfer starts condition verification: the two go together.
    let good = include_str!("../../workflows/court_transfer.2008.toml");
    std::fs::write(dir.path().join("good.toml"), good).unwrap();
    let follow_up = include_str!("../../workflows/condition_verification.2008.toml");
    std::fs::write(dir.path().join("condition_verification.toml"), follow_up).unwrap();
    std::fs::create_dir(dir.path().join("calendar")).unwrap();
    let holidays = include_str!("../../workflows/calendar/holidays.toml");
    std::fs::write(dir.path().join("calendar/holidays.toml"), holidays).unwrap();
    let out = lienganh().args(["check"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let bad = good.replace("to = \"registered\"", "to = \"registred\"");
    std::fs::write(dir.path().join("bad.toml"), &bad).unwrap();
    let out = lienganh().args(["check"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = bad.lines().position(|l| l.contains("registred")).unwrap() + 1;
    let expected =
        format!("{}:{line}: to names unknown state \"registred\"", dir.path().join("bad.toml").display());
    assert!(stdout.contains(&expected), "{stdout}");
}

/// With no secret configured, the first use creates one beside the database, readable by its
/// owner only; `token` and `serve` then agree on it.
#[tokio::test]
async fn the_generated_secret_is_private_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lienganh.db").display());
    let token = lienganh()
        .env("LIENGANH_DATABASE_URL", &url)
        .args(["token", "--sub", "admin", "--agency", "BTP", "--role", "admin", "--ttl", "10m"])
        .output()
        .unwrap();
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    let secret = dir.path().join("lienganh.db.jwt-secret");
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read_to_string(&secret).unwrap();
    assert!(first.trim().len() >= 64);

    let settings = lienganh::config::Settings { jwt_secret: None, ..settings_for(&url) };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(lienganh::http::server::build(&settings, listener).unwrap());
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/agencies"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), first, "the secret is made once");

    let bad = lienganh()
        .env("LIENGANH_DATABASE_URL", &url)
        .args(["token", "--sub", "x", "--agency", "BTP", "--role", "judge"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
}

#[test]
fn openapi_command_prints_the_committed_document() {
    let out = lienganh().arg("openapi").output().unwrap();
    assert!(out.status.success());
    crate::helpers::assert_same_text(
        &String::from_utf8(out.stdout).unwrap(),
        include_str!("../../openapi/openapi.json"),
        "`lienganh openapi` differs from openapi/openapi.json",
    );
}

/// `demo` loads the seed provinces and prints tokens with which the reports show Lào Cai's
/// published 2024 figures; a second run adds nothing.
#[tokio::test]
async fn the_demo_shows_real_figures_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = lienganh().env("LIENGANH_DATABASE_URL", &url).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let token_of = |heading: &str| {
        let mut lines = text.lines().skip_while(|l| !l.starts_with(heading));
        lines.nth(1).unwrap_or_else(|| panic!("no {heading} token in {text}")).trim().to_owned()
    };
    let officer = token_of("THADS-LC enforcement_officer");
    let police = token_of("CA-HN police_liaison");

    let settings = lienganh::config::Settings { jwt_secret: None, ..settings_for(&url) };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(lienganh::http::server::build(&settings, listener).unwrap());
    let client = reqwest::Client::new();
    let get = |path: &str, token: &str| {
        client.get(format!("http://127.0.0.1:{port}/api/v1{path}")).bearer_auth(token.to_owned()).send()
    };
    let report: serde_json::Value =
        get("/reports/enforcement?agency=THADS-LC&year=2024", &officer).await.unwrap().json().await.unwrap();
    assert_eq!(report["cases"]["enforceable"], 3918);
    assert_eq!(report["cases"]["completed"], 3569);
    assert_eq!(report["cases"]["rate"], "91.09");
    assert_eq!(report["money"]["rate"], "81.72");
    let feed = get("/calendar/coercion.ics", &police).await.unwrap().text().await.unwrap();
    assert!(feed.contains("BEGIN:VEVENT"), "{feed}");

    let again = lienganh().env("LIENGANH_DATABASE_URL", &url).arg("demo").output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already here"));
}

/// `audit verify` checks every history in the database: all verify after real steps; an event
/// edited by hand and a payment amount changed by hand are each named with where they break.
#[tokio::test]
async fn audit_verify_finds_a_row_edited_by_hand() {
    for backend in crate::helpers::backends() {
        let app = crate::helpers::spawn(backend).await;
        let transfer = app.start_transfer("standard").await;
        let id = transfer["id"].as_str().unwrap().to_owned();
        let r = app.fire(&id, &app.court(), "transfer", 1, app.transfer_data("Bản án").await).await;
        assert_eq!(r.status(), 200);
        let case = crate::cases::case("THADS-HN", "A-1", "2026-08-03", "5000000");
        let r = app.post("/api/v1/cases", &app.officer(), &case).await;
        assert_eq!(r.status(), 201);
        let case_id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        let audit = || {
            lienganh()
                .env("LIENGANH_DATABASE_URL", &app.database_url)
                .env("LIENGANH_DOCUMENTS_URL", app.documents())
                .args(["audit", "verify"])
                .output()
        };
        let out = audit().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            text.contains(
                "verified 1 instance histories (2 events) and 1 case histories (1 events): 0 broken"
            ),
            "{text}"
        );

        app.drop_append_only_guard();
        app.sql(&format!(
            "UPDATE events SET actor_name = 'Someone else' WHERE instance_id = '{id}' AND seq = 2"
        ));
        app.sql(&format!("UPDATE cases SET amount_due = '1' WHERE id = '{case_id}'"));
        let out = audit().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(&format!("BROKEN instance {id}: event 2: ")), "{text}");
        assert!(text.contains(&format!("BROKEN case {case_id}: event 1: ")), "{text}");
        assert!(text.contains(": 2 broken"), "{text}");
    }
}
