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
    let follow_up = include_str!("../../workflows/condition_verification.toml");
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
    tokio::spawn(lienganh::server::build(&settings, listener).unwrap());
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
    tokio::spawn(lienganh::server::build(&settings, listener).unwrap());
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
