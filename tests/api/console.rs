//! The web console over HTTP, as a browser without JavaScript uses it: sign-in and its cookie,
//! the lockout, CSRF on every form, sign-out, the admin page, and a step fired from a form.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use lienganh::domain::Role;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{backends, pdf, spawn, transfer_data, TestApp};

pub const PASSWORD: &str = "mật-khẩu-đủ-dài-2026";

/// Adds a console user through `lienganh user add`, as an administrator would.
pub fn add_user(app: &TestApp, username: &str, agency: &str, roles: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lienganh"));
    cmd.env_remove("LIENGANH_CONFIG")
        .env("LIENGANH_DATABASE_URL", &app.database_url)
        .env("LIENGANH_WORKFLOWS", concat!(env!("CARGO_MANIFEST_DIR"), "/workflows"))
        .args(["user", "add", username, "--name", &format!("Người dùng {username}"), "--agency", agency]);
    for role in roles {
        cmd.args(["--role", role]);
    }
    let out = run_with_input(cmd.arg("--password-stdin"), &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn run_with_input(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn user_command(app: &TestApp, args: &[&str], input: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lienganh"));
    cmd.env_remove("LIENGANH_CONFIG").env("LIENGANH_DATABASE_URL", &app.database_url).arg("user").args(args);
    run_with_input(&mut cmd, input)
}

/// One answer, read whole.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<Cookie<'static>>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.set_cookies.iter().find(|c| c.name() == name)
    }

    /// The value of the first hidden `csrf` field on the page.
    pub fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    /// The value of the first hidden field `name` on the page.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!(r#"type="hidden" name="{name}" value=""#);
        let at = self.body.find(&marker).unwrap_or_else(|| panic!("a form with {name}")) + marker.len();
        let rest = &self.body[at..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

/// Takes a step from the instance's page as a browser posts its form: the token, definition and
/// version the page gives, and `fields`.
pub async fn step(b: &mut Browser<'_>, id: &str, fields: &[(&str, &str)]) -> Page {
    step_with_files(b, id, fields, &[]).await
}

/// Takes a step from the instance's page as `step` does, posting `files` too: as
/// `multipart/form-data` when there are any, which the page's form must then ask for.
pub async fn step_with_files(
    b: &mut Browser<'_>,
    id: &str,
    fields: &[(&str, &str)],
    files: &[FormFile],
) -> Page {
    let page = b.get(&format!("/console/instances/{id}")).await;
    let given: Vec<(&str, String)> = ["csrf", "workflow", "workflow_version", "expected_version"]
        .iter()
        .map(|n| (*n, page.hidden(n)))
        .collect();
    let mut posted: Vec<(&str, &str)> = given.iter().map(|(n, v)| (*n, v.as_str())).collect();
    posted.extend_from_slice(fields);
    let path = format!("/console/instances/{id}/steps");
    if files.is_empty() {
        return b.post(&path, &posted).await;
    }
    let form = page.body.split("<form").find(|f| f.contains(&format!(r#"name="{}""#, files[0].field)));
    let form = form.unwrap_or_else(|| panic!("no form with a file input {}: {}", files[0].field, page.body));
    assert!(form.contains(r#"enctype="multipart/form-data""#), "a form with a file input: {form}");
    b.post_multipart(&path, &posted, files).await
}

/// A file a form carries: the input's name, the file's name, its type and its bytes.
pub struct FormFile {
    pub field: String,
    pub name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

impl FormFile {
    /// A small PDF of its own, named `name`, for the file input `field`.
    pub fn pdf(field: &str, name: &str) -> FormFile {
        FormFile {
            field: field.into(),
            name: name.into(),
            media_type: "application/pdf".into(),
            bytes: pdf(name),
        }
    }

    /// The SHA-256 of its bytes, in hex, as a step's data records it.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }
}

/// A `multipart/form-data` body of `fields` and `files`, as a browser writes it.
fn multipart_body(boundary: &str, fields: &[(&str, &str)], files: &[FormFile]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for f in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                f.field, f.name, f.media_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(&f.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// A browser: keeps its cookies, follows no redirect by itself.
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { app, client, cookies: HashMap::new() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let request = if header.is_empty() { request } else { request.header(COOKIE, header) };
        let r = request.send().await.unwrap();
        let set_cookies: Vec<Cookie<'static>> = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
            .collect();
        for c in &set_cookies {
            if c.value().is_empty() {
                self.cookies.remove(c.name());
            } else {
                self.cookies.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let status = r.status().as_u16();
        let location = r.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let headers = r.headers().clone();
        Page { status, location, set_cookies, headers, body: r.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(self.app.url(path));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(self.app.url(path)).form(form);
        self.send(request).await
    }

    /// Posts a form with file inputs, as `multipart/form-data`.
    pub async fn post_multipart(&mut self, path: &str, form: &[(&str, &str)], files: &[FormFile]) -> Page {
        let boundary = format!("----lienganh-{}", uuid::Uuid::new_v4().simple());
        let request = self
            .client
            .post(self.app.url(path))
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(multipart_body(&boundary, form, files));
        self.send(request).await
    }

    /// Signs in through the form; returns the answer to the posted form.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.csrf();
        self.post("/console/login", &[("username", username), ("password", password), ("csrf", &csrf)]).await
    }

    pub fn session(&self) -> Option<&String> {
        self.cookies.get("lienganh_session")
    }

    /// The cookies the browser holds, to look at or tamper with.
    pub fn cookies_mut(&mut self) -> &mut HashMap<String, String> {
        &mut self.cookies
    }
}

impl Browser<'_> {
    /// Signed in with a password someone else set: sent to the page that changes it, first,
    /// and nowhere else until it is changed.
    pub async fn change_password(&mut self, current: &str, new: &str) {
        let held = self.get("/console/inbox").await;
        assert_eq!((held.status, held.location.as_deref()), (303, Some("/console/password")));
        let form = self.get("/console/password").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        let same = [("csrf", csrf.as_str()), ("current", current), ("new", current), ("again", current)];
        assert_eq!(self.post("/console/password", &same).await.status, 422, "the same password again");
        let wrong = [("csrf", csrf.as_str()), ("current", "not-the-password"), ("new", new), ("again", new)];
        assert_eq!(self.post("/console/password", &wrong).await.status, 422, "the current one checked");
        let done = [("csrf", csrf.as_str()), ("current", current), ("new", new), ("again", new)];
        let changed = self.post("/console/password", &done).await;
        assert_eq!(
            (changed.status, changed.location.as_deref()),
            (303, Some("/console/inbox")),
            "{}",
            changed.body
        );
        assert_eq!(self.get("/console/inbox").await.status, 200);
    }
}

/// The claims a session cookie carries, read without checking its signature.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_session_carries_the_api_claims_and_ends_at_sign_out() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_user(&app, "lienlac.toa", "TAND-HN", &["court_liaison"]);
        let mut browser = Browser::new(&app);

        // Pages need a session: to the sign-in form, whose own cookie is strict.
        let page = browser.get("/console/inbox").await;
        assert_eq!(
            (page.status, page.location.as_deref()),
            (303, Some("/console/login?next=%2Fconsole%2Finbox"))
        );
        let form = browser.get("/console/login").await;
        let login = form.cookie("lienganh_login").unwrap();
        assert_eq!((login.http_only(), login.same_site()), (Some(true), Some(SameSite::Strict)));
        assert!(form.body.contains(r#"<label for="password">"#), "{}", form.body);

        let signed = browser.sign_in("lienlac.toa", PASSWORD).await;
        assert_eq!((signed.status, signed.location.as_deref()), (303, Some("/console/inbox")), "{backend:?}");
        let cookie = signed.cookie("lienganh_session").unwrap();
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        assert_eq!(cookie.path(), Some("/console"));
        let claims = claims_of(cookie.value());
        assert_eq!(claims["sub"], "lienlac.toa");
        assert_eq!(claims["name"], "Người dùng lienlac.toa");
        assert_eq!(claims["agency"], "TAND-HN");
        assert_eq!(claims["roles"], json!(["court_liaison"]));
        assert_eq!(claims["aud"], "lienganh-console");
        assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

        // The cookie is not an API token, and API tokens keep working beside it.
        let as_bearer = app.get("/api/v1/instances", cookie.value()).await;
        assert_eq!(as_bearer.status(), 401);
        assert_eq!(app.get("/api/v1/instances", &app.court()).await.status(), 200);

        let inbox = browser.get("/console/inbox").await;
        assert_eq!(inbox.status, 200);
        let headers = &inbox.headers;
        let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers.get("x-frame-options").unwrap(), "DENY");
        assert_eq!(headers.get("cache-control").unwrap(), "no-store");
        assert!(inbox.body.contains("Người dùng lienlac.toa · TAND-HN"), "{}", inbox.body);
        assert!(inbox.body.contains(r#"<html lang="vi">"#));

        // Signing in again in the same browser ends the session it held.
        let first = browser.session().unwrap().clone();
        assert_eq!(browser.sign_in("lienlac.toa", PASSWORD).await.status, 303);
        let second = browser.session().unwrap().clone();
        browser.cookies.insert("lienganh_session".into(), first);
        assert_eq!(browser.get("/console/inbox").await.status, 303);
        browser.cookies.insert("lienganh_session".into(), second);
        let inbox = browser.get("/console/inbox").await;
        assert_eq!(inbox.status, 200);

        // Signing out needs the page's token; then the very same cookie opens nothing.
        let kept = browser.session().unwrap().clone();
        let refused = browser.post("/console/logout", &[]).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(browser.get("/console/inbox").await.status, 200);
        let out = browser.post("/console/logout", &[("csrf", &inbox.csrf())]).await;
        assert_eq!((out.status, out.location.as_deref()), (303, Some("/console/login")));
        assert!(browser.session().is_none());
        browser.cookies.insert("lienganh_session".into(), kept);
        let after = browser.get("/console/inbox").await;
        assert_eq!(
            (after.status, after.location.as_deref()),
            (303, Some("/console/login?next=%2Fconsole%2Finbox"))
        );

        // An API token in the cookie's place opens nothing: the console signs with a key of its own.
        browser.cookies.insert("lienganh_session".into(), app.court());
        assert_eq!(browser.get("/console/inbox").await.status, 303);
        // An edited cookie opens nothing either.
        let forged = format!("{}x", signed.cookie("lienganh_session").unwrap().value());
        browser.cookies.insert("lienganh_session".into(), forged);
        assert_eq!(browser.get("/console/inbox").await.status, 303);
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_a_new_password() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_user(&app, "canbo.tha", "THADS-HN", &["enforcement_officer"]);
        let mut browser = Browser::new(&app);

        // An unknown user, a wrong password and a locked account all get the very same page.
        let unknown = browser.sign_in("khong.co", PASSWORD).await;
        assert_eq!(unknown.status, 401);
        assert!(unknown.body.contains("Sai tên đăng nhập hoặc mật khẩu."));
        let answer = |p: &Page| {
            let after = p.body.split(r#"<p class="problem" role="alert">"#).nth(1);
            after.map(|rest| rest.split("</p>").next().unwrap().to_owned())
        };
        for _ in 0..5 {
            let wrong = browser.sign_in("canbo.tha", "not-the-password").await;
            assert_eq!((wrong.status, answer(&wrong)), (401, answer(&unknown)), "{backend:?}");
        }
        // Locked: even the right password is refused, and no session is given.
        let right = browser.sign_in("canbo.tha", PASSWORD).await;
        assert_eq!((right.status, answer(&right)), (401, answer(&unknown)));
        assert!(browser.session().is_none());

        let reset =
            user_command(&app, &["reset", "canbo.tha", "--password-stdin"], "một-mật-khẩu-mới-2026\n");
        assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
        assert_eq!(browser.sign_in("canbo.tha", PASSWORD).await.status, 401);
        assert_eq!(browser.sign_in("canbo.tha", "một-mật-khẩu-mới-2026").await.status, 303);
        // Set by the command line: its user chooses their own before anything else.
        browser.change_password("một-mật-khẩu-mới-2026", "mật-khẩu-tự-chọn-2026").await;

        // Disabling ends the session at once.
        let disable = user_command(&app, &["disable", "canbo.tha"], "");
        assert!(disable.status.success(), "{}", String::from_utf8_lossy(&disable.stderr));
        assert_eq!(browser.get("/console/inbox").await.status, 303);
        assert_eq!(browser.sign_in("canbo.tha", "mật-khẩu-tự-chọn-2026").await.status, 401);

        // A short password is refused by the command, naming the rule.
        let short = user_command(&app, &["reset", "canbo.tha", "--password-stdin"], "ngan\n");
        assert!(!short.status.success());
        assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    }
}

#[tokio::test]
async fn a_form_without_its_csrf_token_changes_nothing() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_user(&app, "lienlac.toa", "TAND-HN", &["court_liaison"]);
        let instance = app.start_transfer("standard").await;
        let id = instance["id"].as_str().unwrap();
        let mut browser = Browser::new(&app);

        // The sign-in form itself: without its token, or with another one, no session.
        browser.get("/console/login").await;
        let bare =
            browser.post("/console/login", &[("username", "lienlac.toa"), ("password", PASSWORD)]).await;
        assert_eq!(bare.status, 403);
        let other = browser
            .post("/console/login", &[("username", "lienlac.toa"), ("password", PASSWORD), ("csrf", "00")])
            .await;
        assert_eq!(other.status, 403);
        assert!(browser.session().is_none());

        assert_eq!(browser.sign_in("lienlac.toa", PASSWORD).await.status, 303);
        let page = browser.get(&format!("/console/instances/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(r#"name="transition" value="transfer""#), "{}", page.body);
        // The transfer carries the judgment's file: its form posts files.
        let form = page.body.split("<form").find(|f| f.contains(r#"value="transfer""#)).unwrap();
        assert!(form.contains(r#"enctype="multipart/form-data""#), "{form}");
        assert!(form.contains(r#"type="file""#) && form.contains(r#"name="d.judgment_file""#), "{form}");
        let judgment = [FormFile::pdf("d.judgment_file", "ban-an.pdf")];
        let workflow_version = page.hidden("workflow_version");
        let step = [
            ("workflow", "court_transfer"),
            ("workflow_version", workflow_version.as_str()),
            ("transition", "transfer"),
            ("expected_version", "1"),
            ("d.transfer_date", "2026-10-25"),
            ("d.method", "post"),
            ("d.documents[0].description", "Bản án"),
            ("d.documents[0].quantity", "1"),
            ("d.documents[0].unit", "bản"),
        ];
        let path = format!("/console/instances/{id}/steps");
        let refused = browser.post_multipart(&path, &step, &judgment).await;
        assert_eq!(refused.status, 403, "{backend:?}");
        let mut forged = step.to_vec();
        forged.push(("csrf", "deadbeef"));
        assert_eq!(browser.post_multipart(&path, &forged, &judgment).await.status, 403);
        let seen: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.json().await.unwrap();
        assert_eq!(seen["version"], 1);

        // With the page's token, the step is taken as the signed-in user.
        let csrf = page.csrf();
        let mut posted = step.to_vec();
        posted.push(("csrf", &csrf));
        let taken = browser.post_multipart(&path, &posted, &judgment).await;
        assert_eq!(
            (taken.status, taken.location.clone()),
            (303, Some(format!("/console/instances/{id}"))),
            "{}",
            taken.body
        );
        let seen: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.json().await.unwrap();
        assert_eq!((seen["version"].as_i64(), seen["state"].as_str()), (Some(2), Some("transferred")));
        assert_eq!(seen["data"]["documents"], transfer_data("Bản án")["documents"]);
        // The file posted is the judgment's, recorded by the SHA-256 of the bytes sent.
        let file = &seen["data"]["judgment_file"];
        assert_eq!(file["sha256"], judgment[0].sha256(), "{seen}");
        assert_eq!(file["name"], "ban-an.pdf");
        assert_eq!(file["media_type"], "application/pdf");
        assert_eq!(file["size"], judgment[0].bytes.len());
        assert!(file["id"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{file}");
        let history: Value =
            app.get(&format!("/api/v1/instances/{id}/history"), &app.court()).await.json().await.unwrap();
        let last = history["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["actor"]["sub"], "lienlac.toa", "{last}");
        assert_eq!(last["actor"]["agency"], "TAND-HN");

        // The same form again is stale: refused with its reason, nothing taken twice.
        let again = browser.post_multipart(&path, &posted, &judgment).await;
        assert_eq!(again.status, 409);
        let page = browser.get(&format!("/console/instances/{id}")).await;
        assert!(page.body.contains("Lịch sử toàn vẹn"), "{}", page.body);
    }
}

#[tokio::test]
async fn another_agency_s_instance_is_not_found_and_admin_pages_need_the_role() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_user(&app, "toa.laocai", "TAND-LC", &["court_liaison"]);
        let r = app
            .post(
                "/api/v1/agencies",
                &app.admin(),
                &json!({"code": "BTP", "kind": "justice_department", "name": "Bộ Tư pháp"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        add_user(&app, "quantri", "BTP", &["admin"]);
        let instance = app.start_transfer("standard").await;
        let id = instance["id"].as_str().unwrap();

        // A page asked for before signing in is where the sign-in leads.
        let mut outsider = Browser::new(&app);
        let asked = outsider.get(&format!("/console/instances/{id}?x=1")).await;
        let to = asked.location.unwrap();
        assert_eq!(to, format!("/console/login?next=%2Fconsole%2Finstances%2F{id}%3Fx%3D1"));
        let form = outsider.get(&to).await;
        let csrf = form.csrf();
        assert!(
            form.body.contains(&format!(r#"name="next" value="/console/instances/{id}?x=1""#)),
            "{}",
            form.body
        );
        let next = format!("/console/instances/{id}?x=1");
        let fields = [("username", "toa.laocai"), ("password", PASSWORD), ("csrf", &csrf), ("next", &next)];
        let signed = outsider.post("/console/login", &fields).await;
        assert_eq!(signed.location.as_deref(), Some(next.as_str()));
        // Never another site, nor the sign-in page itself.
        for elsewhere in ["https://example.org/console/x", "//example.org/console/", "/console/login"] {
            let form = outsider.get("/console/login").await;
            let csrf = form.csrf();
            let fields =
                [("username", "toa.laocai"), ("password", PASSWORD), ("csrf", &csrf), ("next", elsewhere)];
            let r = outsider.post("/console/login", &fields).await;
            assert_eq!(r.location.as_deref(), Some("/console/inbox"), "{elsewhere}");
        }
        // The admin's forms refuse anyone else, token or not.
        for path in [
            "/console/admin/users",
            "/console/admin/users/toa.laocai/disable",
            "/console/admin/users/toa.laocai/enable",
        ] {
            let page = outsider.get("/console/inbox").await;
            assert_eq!(outsider.post(path, &[("csrf", &page.csrf())]).await.status, 403, "{path}");
        }
        let page = outsider.get("/console/inbox").await;
        let fields = [("csrf", page.csrf()), ("password", "một-mật-khẩu-khác-hẳn".to_owned())];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(outsider.post("/console/admin/users/toa.laocai/password", &fields).await.status, 403);
        let page = outsider.get(&format!("/console/instances/{id}")).await;
        assert_eq!(page.status, 404, "{backend:?}");
        assert!(!page.body.contains("125/2026/KDTM-PT"));
        let list = outsider.get("/console/instances").await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains(id));
        assert_eq!(outsider.get("/console/admin/users").await.status, 403);

        // The admin adds a user from the page; the new user signs in.
        let mut admin = Browser::new(&app);
        assert_eq!(admin.sign_in("quantri", PASSWORD).await.status, 303);
        let users = admin.get("/console/admin/users").await;
        assert_eq!(users.status, 200);
        assert!(users.body.contains("toa.laocai"));
        let csrf = users.csrf();
        let form = [
            ("csrf", csrf.as_str()),
            ("username", "kiemsat.hn"),
            ("name", "Trần Thị Kiểm Sát"),
            ("agency", "VKS-HN"),
            ("role", "procuracy_inspector"),
            ("password", "mật-khẩu-kiểm-sát-viên"),
        ];
        assert_eq!(admin.post("/console/admin/users", &form[1..]).await.status, 403);
        let added = admin.post("/console/admin/users", &form).await;
        assert_eq!(added.status, 303, "{}", added.body);
        let twice = admin.post("/console/admin/users", &form).await;
        assert_eq!(twice.status, 409);
        // A role must fit the agency: no court liaison at a procuracy, no admin at an office.
        for (agency, role) in [("VKS-HN", "court_liaison"), ("THADS-HN", "admin"), ("THADS-HN", "auditor")] {
            let wrong = [
                ("csrf", csrf.as_str()),
                ("username", "sai.vai-tro"),
                ("name", "Sai vai trò"),
                ("agency", agency),
                ("role", role),
                ("password", "mật-khẩu-kiểm-sát-viên"),
            ];
            let refused = admin.post("/console/admin/users", &wrong).await;
            assert_eq!(refused.status, 422, "{role} at {agency}");
            assert!(refused.body.contains("roles"), "{}", refused.body);
        }
        let mut inspector = Browser::new(&app);
        assert_eq!(inspector.sign_in("kiemsat.hn", "mật-khẩu-kiểm-sát-viên").await.status, 303);
        // The admin chose the password: the inspector chooses their own first.
        let held = inspector.get(&format!("/console/instances/{id}")).await;
        assert_eq!((held.status, held.location.as_deref()), (303, Some("/console/password")));
        inspector.change_password("mật-khẩu-kiểm-sát-viên", "mật-khẩu-riêng-kiểm-sát").await;
        let seen = inspector.get(&format!("/console/instances/{id}")).await;
        assert_eq!(seen.status, 200);
        assert!(seen.body.contains("Trần Thị Kiểm Sát · VKS-HN"));

        // Disabled from the page, the inspector's session ends.
        let path = "/console/admin/users/kiemsat.hn/disable";
        assert_eq!(admin.post(path, &[]).await.status, 403);
        assert_eq!(admin.post(path, &[("csrf", &csrf)]).await.status, 303);
        assert_eq!(inspector.get("/console/inbox").await.status, 303);
        // Enabled and given a new password from the page: the old password no longer opens it.
        assert_eq!(
            admin.post("/console/admin/users/kiemsat.hn/enable", &[("csrf", &csrf)]).await.status,
            303
        );
        let fields = [("csrf", csrf.as_str()), ("password", "mật-khẩu-mới-của-kiểm-sát")];
        assert_eq!(admin.post("/console/admin/users/kiemsat.hn/password", &fields).await.status, 303);
        assert_eq!(inspector.sign_in("kiemsat.hn", "mật-khẩu-riêng-kiểm-sát").await.status, 401);
        assert_eq!(inspector.sign_in("kiemsat.hn", "mật-khẩu-mới-của-kiểm-sát").await.status, 303);
        inspector.change_password("mật-khẩu-mới-của-kiểm-sát", "mật-khẩu-riêng-lần-hai").await;
        // Each of it is on record, with who did it.
        let events = admin.get("/console/admin/users").await;
        let events = &events.body[events.body.find(r#"id="account-events""#).unwrap()..];
        for (what, by) in [
            ("Tạo tài khoản", "quantri"),
            ("Khóa tài khoản", "quantri"),
            ("Mở lại tài khoản", "quantri"),
            ("Đặt mật khẩu mới", "quantri"),
            ("Người dùng tự đổi mật khẩu", "kiemsat.hn"),
            ("Đăng nhập bị từ chối", "kiemsat.hn"),
        ] {
            let row = format!("{what}</td><td data-label=\"Người thực hiện\">{by}</td>");
            assert!(events.contains(&row), "{what} by {by}: {events}");
        }
        assert!(events.contains("command line"), "{events}");
        // One user's events alone.
        let theirs = admin.get("/console/admin/users?events_of=kiemsat.hn").await;
        let theirs = &theirs.body[theirs.body.find(r#"id="account-events""#).unwrap()..];
        assert!(theirs.contains("Đặt mật khẩu mới") && !theirs.contains(">toa.laocai<"), "{theirs}");

        // The page in English, on a switch.
        let switched = admin.get("/console/lang/en").await;
        assert_eq!(switched.status, 303);
        let english = admin.get("/console/admin/users").await;
        assert!(english.body.contains(r#"<html lang="en">"#));

        // API tokens are unaffected by any of it.
        let token = app.token("kiemsat.hn", "VKS-HN", &[Role::ProcuracyInspector]);
        assert_eq!(app.get(&format!("/api/v1/instances/{id}"), &token).await.status(), 200);
    }
}

/// The evidence handover through the console's pages alone: the office asks, the police
/// schedule and hand over a manifest, the office receives it with one item missing, and the
/// discrepancy is settled with both sides' signatures, each side seeing the same.
#[tokio::test]
async fn an_evidence_handover_with_an_item_missing_is_settled_through_the_pages() {
    for backend in backends() {
        let app = spawn(backend).await;
        add_user(&app, "canbo.tha", "THADS-HN", &["enforcement_officer"]);
        add_user(&app, "lienlac.ca", "CA-HN", &["police_liaison"]);
        let mut office = Browser::new(&app);
        let mut police = Browser::new(&app);
        assert_eq!(office.sign_in("canbo.tha", PASSWORD).await.status, 303);
        assert_eq!(police.sign_in("lienlac.ca", PASSWORD).await.status, 303);

        // The office starts it; the police may not.
        let choose = office.get("/console/new").await;
        assert!(choose.body.contains(r#"href="/console/new/evidence_handover""#), "{}", choose.body);
        assert_eq!(police.get("/console/new/evidence_handover").await.status, 403);
        let form = office.get("/console/new/evidence_handover").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains(r#"<option value="CA-HN">"#), "{}", form.body);
        let at = form.body.find(r#"name="form_key" value=""#).unwrap() + r#"name="form_key" value=""#.len();
        let form_key = form.body[at..at + 32].to_owned();
        let csrf = form.csrf();
        let start = [
            ("csrf", csrf.as_str()),
            ("form_key", &form_key),
            ("p.police", "ca-hn"),
            ("p.procuracy", "VKS-HN"),
            ("d.judgment_number", "88/2026/HS-ST"),
            ("d.decision_number", "301/QĐ-CCTHADS"),
            ("d.requested_on", "2026-11-20"),
        ];
        // Refused (an unknown police unit), the same form again gets the same refusal, not an
        // error; corrected, it starts the instance.
        let mut wrong = start.to_vec();
        wrong[2] = ("p.police", "CA-KHONG-CO");
        for _ in 0..2 {
            let refused = office.post("/console/new/evidence_handover", &wrong).await;
            assert_eq!(refused.status, 422, "{}", refused.body);
            assert!(refused.body.contains("parties.police"), "{}", refused.body);
        }
        let mut keyless = start.to_vec();
        keyless.remove(1);
        assert_eq!(office.post("/console/new/evidence_handover", &keyless).await.status, 403);
        let started = office.post("/console/new/evidence_handover", &start).await;
        assert_eq!(started.status, 303, "{backend:?} {}", started.body);
        let page = started.location.unwrap();
        // The same form posted again lands on the same instance.
        let again = office.post("/console/new/evidence_handover", &start).await;
        assert_eq!(again.location.as_deref(), Some(page.as_str()));
        let id = page.trim_start_matches("/console/instances/").to_owned();
        let listed: Value =
            app.get("/api/v1/instances?workflow=evidence_handover", &app.head()).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);

        async fn step(b: &mut Browser<'_>, id: &str, fields: &[(&str, &str)]) {
            with_files(b, id, fields, &[]).await;
        }
        async fn with_files(b: &mut Browser<'_>, id: &str, fields: &[(&str, &str)], files: &[FormFile]) {
            let r = super::console::step_with_files(b, id, fields, files).await;
            assert_eq!(r.status, 303, "{fields:?}: {}", r.body);
        }
        step(
            &mut police,
            &id,
            &[
                ("transition", "schedule"),
                ("d.handover_at", "2026-11-25T09:00"),
                ("d.place", "Kho vật chứng Công an quận Hoàn Kiếm"),
            ],
        )
        .await;
        // The signed minutes go with the manifest: two pages, a scan and a photo.
        let mut photo = FormFile::pdf("d.minutes_file", "bien-ban-trang-2.jpg");
        photo.media_type = "image/jpeg".into();
        photo.bytes =
            [&[0xFF, 0xD8, 0xFF, 0xE0][..], uuid::Uuid::new_v4().as_bytes(), &[0xFF, 0xD9]].concat();
        let minutes = [FormFile::pdf("d.minutes_file", "bien-ban.pdf"), photo];
        with_files(
            &mut police,
            &id,
            &[
                ("transition", "hand_over"),
                ("d.items[0].description", "Xe máy Honda Wave"),
                ("d.items[0].quantity", "1"),
                ("d.items[0].unit", "chiếc"),
                ("d.items[0].seal", "CA-0012"),
                ("d.items[0].declared_value", "15.000.000"),
                ("d.items[1].description", "Điện thoại di động"),
                ("d.items[1].quantity", "2"),
                ("d.items[1].unit", "chiếc"),
                ("d.items[2].description", ""),
                ("d.record_number", "15/BB-CA"),
            ],
            &minutes,
        )
        .await;
        let seen: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.officer()).await.json().await.unwrap();
        assert_eq!(seen["data"]["items"][0]["declared_value"], "15000000", "{seen}");
        assert_eq!(seen["data"]["items"].as_array().unwrap().len(), 2);
        let pages: Vec<(&str, &str, &str)> = seen["data"]["minutes_file"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().unwrap(),
                    d["media_type"].as_str().unwrap(),
                    d["sha256"].as_str().unwrap(),
                )
            })
            .collect();
        let sent: Vec<String> = minutes.iter().map(FormFile::sha256).collect();
        assert_eq!(
            pages,
            [
                ("bien-ban.pdf", "application/pdf", sent[0].as_str()),
                ("bien-ban-trang-2.jpg", "image/jpeg", sent[1].as_str())
            ],
            "{seen}"
        );

        // The receipt form lists the manifest; the officer ticks the phones as missing.
        let receive = office.get(&format!("/console/instances/{id}")).await;
        assert!(
            receive.body.contains("Xe máy Honda Wave — 1 chiếc, niêm phong CA-0012, 15.000.000 đ"),
            "{}",
            receive.body
        );
        step(
            &mut office,
            &id,
            &[
                ("transition", "confirm_receipt"),
                ("d.receipt[1].status", "received"),
                ("d.receipt[2].status", "missing"),
                ("d.receipt[2].note", "Chỉ có 1 chiếc"),
                ("d.storage_location", "Kho A, kệ 3"),
            ],
        )
        .await;
        for b in [&mut office, &mut police] {
            let page = b.get(&format!("/console/instances/{id}")).await;
            assert!(page.body.contains("Có chênh lệch khi giao nhận"), "{}", page.body);
            assert!(page.body.contains(r#"<tr class="discrepancy">"#), "{}", page.body);
            assert!(page.body.contains("Chỉ có 1 chiếc"));
        }

        // The police propose the settlement; both see it awaiting the office; the office signs.
        step(
            &mut police,
            &id,
            &[
                ("transition", "resolve_discrepancy"),
                ("d.resolution", "Bổ sung 1 điện thoại theo biên bản 16/BB-CA"),
            ],
        )
        .await;
        for b in [&mut office, &mut police] {
            let page = b.get(&format!("/console/instances/{id}")).await;
            assert!(page.body.contains("Đang chờ ký"), "{}", page.body);
            assert!(page.body.contains("Người dùng lienlac.ca · CA-HN"));
            assert!(page.body.contains("chưa ký"));
        }
        step(&mut office, &id, &[("transition", "resolve_discrepancy")]).await;
        let seen: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.officer()).await.json().await.unwrap();
        assert_eq!(seen["state"], "stored", "{seen}");
        assert_eq!(seen["data"]["resolution"], "Bổ sung 1 điện thoại theo biên bản 16/BB-CA");
        for b in [&mut office, &mut police] {
            let page = b.get(&format!("/console/instances/{id}")).await;
            assert!(page.body.contains("Đã nhập kho, đang bảo quản"));
            assert!(page.body.contains("Lịch sử toàn vẹn"));
        }
    }
}

/// A session ended a day ago is removed by the sweep (here `lienganh remind --once`); one
/// still running is kept.
#[tokio::test]
async fn ended_sessions_are_removed_a_day_later() {
    let app = spawn(backends()[0]).await;
    add_user(&app, "lienlac.toa", "TAND-HN", &["court_liaison"]);
    let (mut gone, mut kept) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(gone.sign_in("lienlac.toa", PASSWORD).await.status, 303);
    let inbox = gone.get("/console/inbox").await;
    assert_eq!(gone.post("/console/logout", &[("csrf", &inbox.csrf())]).await.status, 303);
    assert_eq!(kept.sign_in("lienlac.toa", PASSWORD).await.status, 303);
    let sweep = |at: chrono::DateTime<chrono::Utc>| {
        Command::new(env!("CARGO_BIN_EXE_lienganh"))
            .env_remove("LIENGANH_CONFIG")
            .env("LIENGANH_DATABASE_URL", &app.database_url)
            .env("LIENGANH_WORKFLOWS", concat!(env!("CARGO_MANIFEST_DIR"), "/workflows"))
            .args(["remind", "--once", "--now", &at.to_rfc3339()])
            .output()
            .unwrap()
    };
    let now = chrono::Utc::now();
    let soon = sweep(now + chrono::Duration::hours(2));
    assert!(soon.status.success(), "{}", String::from_utf8_lossy(&soon.stderr));
    assert!(String::from_utf8_lossy(&soon.stdout).starts_with("reminders sent"));
    assert!(!String::from_utf8_lossy(&soon.stdout).contains("console sessions removed"));
    let later = sweep(now + chrono::Duration::hours(25));
    assert!(later.status.success(), "{}", String::from_utf8_lossy(&later.stderr));
    assert!(
        String::from_utf8_lossy(&later.stdout).contains("console sessions removed 1\n"),
        "{}",
        String::from_utf8_lossy(&later.stdout)
    );
    assert_eq!(kept.get("/console/inbox").await.status, 200);
}

/// Over plain HTTP the cookies are not Secure, unless the service is told it sits behind TLS.
#[tokio::test]
async fn cookies_are_secure_when_the_service_is_told_so() {
    for secure in [false, true] {
        let app = crate::helpers::spawn_with(backends()[0], |s| s.console_secure_cookies = secure).await;
        add_user(&app, "lienlac.toa", "TAND-HN", &["court_liaison"]);
        let mut browser = Browser::new(&app);
        let form = browser.get("/console/login").await;
        assert_eq!(form.cookie("lienganh_login").unwrap().secure(), Some(secure).filter(|s| *s));
        let signed = browser.sign_in("lienlac.toa", PASSWORD).await;
        assert_eq!(signed.cookie("lienganh_session").unwrap().secure(), Some(secure).filter(|s| *s));
    }
}

/// A console cookie is never an API token, even where the API's audience is the console's:
/// the console signs with a key of its own. And the account events cannot be edited.
#[tokio::test]
async fn a_session_is_no_api_token_whatever_the_audience() {
    for backend in backends() {
        let app = crate::helpers::spawn_with(backend, |s| s.jwt_audience = "lienganh-console".into()).await;
        add_user(&app, "lienlac.toa", "TAND-HN", &["court_liaison"]);
        let mut browser = Browser::new(&app);
        assert_eq!(browser.sign_in("lienlac.toa", PASSWORD).await.status, 303);
        let cookie = browser.session().unwrap().clone();
        assert_eq!(app.get("/api/v1/instances", &cookie).await.status(), 401, "{backend:?}");
        assert_eq!(app.get("/api/v1/instances", &app.court()).await.status(), 200);
        // The account events are append-only in the database itself.
        assert!(app.try_sql("UPDATE user_events SET done_by = 'someone else'").is_err(), "{backend:?}");
        assert!(app.try_sql("DELETE FROM user_events").is_err());
    }
}

/// A figure the law does not set is labelled as the definition's operational choice: in the
/// definition, in the instance's deadlines and on the console's hover; a statutory one is not.
#[tokio::test]
async fn an_operational_figure_shows_as_such() {
    for backend in backends() {
        let app = spawn(backend).await;
        let definition: Value =
            app.get("/api/v1/workflows/coercion_plan", &app.head()).await.json().await.unwrap();
        let latest = definition["versions"].as_array().unwrap().last().unwrap().clone();
        let deadline = |name: &str| {
            latest["deadlines"].as_array().unwrap().iter().find(|d| d["name"] == name).cloned().unwrap()
        };
        assert_eq!(deadline("protection_plan")["operational"], true, "{backend:?}");
        assert!(deadline("protection_plan")["legal_basis"].as_str().unwrap().contains("khoản 3"));
        let transfer: Value =
            app.get("/api/v1/workflows/court_transfer", &app.head()).await.json().await.unwrap();
        let statutory = transfer["versions"][0]["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "enforcement_decision");
        assert!(statutory.is_some_and(|d| d.get("operational").is_none()), "{transfer}");

        // A request to a bank: its time to answer is this definition's, and says so.
        app.post(
            "/api/v1/agencies",
            &app.admin(),
            &json!({"code": "NH-HN", "kind": "credit_institution", "name": "Ngân hàng Hà Nội"}),
        )
        .await;
        let request = json!({"workflow": "information_request", "parties": {"enforcement": "THADS-HN", "bank": "NH-HN"},
                             "data": {"asks": "accounts", "decision_number": "1/QĐ", "requested_on": "2026-12-01",
                                      "questions": "Số dư tài khoản"}});
        let created: Value =
            app.post("/api/v1/instances", &app.officer(), &request).await.json().await.unwrap();
        let id = created["id"].as_str().unwrap();
        let instance: Value =
            app.get(&format!("/api/v1/instances/{id}"), &app.officer()).await.json().await.unwrap();
        assert_eq!(instance["deadlines"][0]["operational"], true, "{backend:?} {instance}");

        add_user(&app, "can.bo", "THADS-HN", &["enforcement_officer"]);
        let mut browser = Browser::new(&app);
        assert_eq!(browser.sign_in("can.bo", PASSWORD).await.status, 303);
        let page = browser.get(&format!("/console/instances/{id}")).await;
        assert!(
            page.body.contains(r#"title="Lựa chọn vận hành của quy trình, không do văn bản pháp luật quy định — Operational choice"#),
            "{backend:?} {}",
            page.body
        );
    }
}

/// Making an auditor and resetting an admin's password wait for a second admin: the one who
/// asked cannot approve it; another approves or declines; each step is an account event.
#[tokio::test]
async fn a_second_admin_approves_what_an_admin_asks_for_admins_and_auditors() {
    for backend in backends() {
        let app = spawn(backend).await;
        let ministry = json!({"code": "BTP", "kind": "justice_department", "name": "Bộ Tư pháp"});
        assert_eq!(app.post("/api/v1/agencies", &app.admin(), &ministry).await.status(), 201);
        add_user(&app, "quantri", "BTP", &["admin"]);
        add_user(&app, "quantri.hai", "BTP", &["admin"]);
        let mut first = Browser::new(&app);
        assert_eq!(first.sign_in("quantri", PASSWORD).await.status, 303);
        let mut second = Browser::new(&app);
        assert_eq!(second.sign_in("quantri.hai", PASSWORD).await.status, 303);

        // The first asks for an auditor: nobody can sign in as them yet.
        let page = first.get("/console/admin/users").await;
        let csrf = page.csrf();
        let form = [
            ("csrf", csrf.as_str()),
            ("username", "thanhtra"),
            ("name", "Lê Văn Thanh Tra"),
            ("agency", "BTP"),
            ("role", "auditor"),
            ("password", "mật-khẩu-do-quản-trị-đặt"),
        ];
        assert_eq!(first.post("/console/admin/users", &form).await.status, 303);
        assert_eq!(first.post("/console/admin/users", &form).await.status, 409, "one request at a time");
        let mut auditor = Browser::new(&app);
        assert_eq!(auditor.sign_in("thanhtra", "mật-khẩu-do-quản-trị-đặt").await.status, 401);
        let page = first.get("/console/admin/users").await;
        let pending = &page.body[page.body.find(r#"id="pending""#).unwrap()..];
        assert!(pending.contains("thanhtra") && pending.contains("Chờ quản trị viên khác"), "{pending}");
        let id = pending.split(r#"action="/console/admin/requests/"#).nth(1);
        assert!(id.is_none(), "no approve button for the one who asked: {pending}");

        // Its id, from the second admin's page; the first cannot approve it even so.
        let page = second.get("/console/admin/users").await;
        let id =
            page.body.split(r#"action="/console/admin/requests/"#).nth(1).unwrap().split('"').next().unwrap();
        let path = format!("/console/admin/requests/{id}");
        let own = first.post(&path, &[("csrf", &csrf), ("decision", "approve")]).await;
        assert_eq!(own.status, 403, "{}", own.body);
        assert_eq!(second.post(&path, &[("decision", "approve")]).await.status, 403, "no CSRF token");
        let approved = second.post(&path, &[("csrf", &page.csrf()), ("decision", "approve")]).await;
        assert_eq!(approved.status, 303, "{}", approved.body);
        assert_eq!(second.post(&path, &[("csrf", &page.csrf()), ("decision", "approve")]).await.status, 404);
        // The auditor signs in, and must first choose a password of their own.
        assert_eq!(auditor.sign_in("thanhtra", "mật-khẩu-do-quản-trị-đặt").await.status, 303);
        auditor.change_password("mật-khẩu-do-quản-trị-đặt", "mật-khẩu-thanh-tra-tự-chọn").await;

        // The first asks to reset the second admin's password; the second declines: unchanged.
        let reset = [("csrf", csrf.as_str()), ("password", "mật-khẩu-để-chiếm-quyền")];
        assert_eq!(first.post("/console/admin/users/quantri.hai/password", &reset).await.status, 303);
        let page = second.get("/console/admin/users").await;
        assert_eq!(page.status, 200, "not signed out: the password is not reset yet");
        let id =
            page.body.split(r#"action="/console/admin/requests/"#).nth(1).unwrap().split('"').next().unwrap();
        let declined = second
            .post(
                &format!("/console/admin/requests/{id}"),
                &[("csrf", &page.csrf()), ("decision", "decline")],
            )
            .await;
        assert_eq!(declined.status, 303);
        let mut outsider = Browser::new(&app);
        assert_eq!(outsider.sign_in("quantri.hai", "mật-khẩu-để-chiếm-quyền").await.status, 401);
        assert_eq!(outsider.sign_in("quantri.hai", PASSWORD).await.status, 303);

        // A non-admin's password is reset at once, to be changed at the next sign-in.
        let reset = [("csrf", csrf.as_str()), ("password", "mật-khẩu-tạm-của-thanh-tra")];
        let r = first.post("/console/admin/users/thanhtra/password", &reset).await;
        assert_eq!(r.status, 303);

        // All of it on record, with who did what.
        let events = second.get("/console/admin/users").await;
        let events = &events.body[events.body.find(r#"id="account-events""#).unwrap()..];
        for (what, by) in [
            ("Đề nghị tạo tài khoản", "quantri"),
            ("Phê duyệt đề nghị", "quantri.hai"),
            ("Tạo tài khoản", "quantri (approved by quantri.hai)"),
            ("Người dùng tự đổi mật khẩu", "thanhtra"),
            ("Đề nghị đặt lại mật khẩu", "quantri"),
            ("Từ chối đề nghị", "quantri.hai"),
            ("Đặt mật khẩu mới", "quantri"),
        ] {
            let row = format!("{what}</td><td data-label=\"Người thực hiện\">{by}</td>");
            assert!(events.contains(&row), "{what} by {by}: {events}");
        }
    }
}
