//! Operating the service: request ids and logs, the metrics, backups while serving, and a
//! graceful stop. The binary's own behaviour is tested by running it.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::{json, Value};

use crate::helpers::{
    backends, expect_problem, settings_for, spawn, transfer_request, unserved, Backend, TestApp, SECRET,
};

pub(crate) fn lienganh() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lienganh"));
    for var in [
        "LIENGANH_JWT_SECRET",
        "LIENGANH_DATABASE_URL",
        "LIENGANH_CONFIG",
        "LIENGANH_WORKFLOWS",
        "LIENGANH_LOG",
        "LIENGANH_LOG_FORMAT",
        "LIENGANH_METRICS_TOKEN",
        "LIENGANH_REMINDER_CRON",
        "LIENGANH_DOCUMENTS_URL",
        "LIENGANH_MAX_DOCUMENT_BYTES",
        "AWS_ENDPOINT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ALLOW_HTTP",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("LIENGANH_WORKFLOWS", std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows"));
    cmd
}

/// `lienganh serve` running over a test's database on a free port, its log in a file.
pub(crate) struct Served {
    child: Child,
    log: PathBuf,
}

/// Starts `lienganh serve` over the app's database and points the app at it.
pub(crate) fn serve(app: &mut TestApp, env: &[(&str, &str)]) -> Served {
    let log = app.dir().join(format!("serve-{}.log", uuid::Uuid::now_v7().simple()));
    let mut cmd = lienganh();
    cmd.arg("serve")
        .current_dir(app.dir())
        .env("LIENGANH_DATABASE_URL", &app.database_url)
        .env("LIENGANH_BIND", "127.0.0.1:0")
        .env("LIENGANH_JWT_SECRET", SECRET)
        .env("LIENGANH_POOL_SIZE", "4")
        .env("LIENGANH_DOCUMENTS_URL", app.documents())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(base) = line.strip_prefix("lienganh is listening on ") {
                    break base.trim().to_owned();
                }
            }
            _ => panic!("serve did not start: {}", std::fs::read_to_string(&log).unwrap_or_default()),
        }
    };
    // The rest of its output is read, so that it never waits on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    app.base = base;
    Served { child, log }
}

impl Served {
    /// Kills the server outright, as a power cut or the OOM killer would: SIGKILL.
    pub(crate) fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn terminate(&self) {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success());
    }

    pub(crate) fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    async fn exit(&mut self) -> ExitStatus {
        for _ in 0..1200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not stop: {}", self.log())
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of one series in a metrics text, 0 when absent.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

async fn metrics(app: &TestApp) -> String {
    let r = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    r.text().await.unwrap()
}

async fn count(app: &TestApp, path: &str) -> usize {
    let page: Value = app.get(path, &app.admin()).await.json().await.unwrap();
    assert!(page["next_cursor"].is_null(), "one page holds them all: {page}");
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn every_answer_carries_its_request_id() {
    for backend in backends() {
        let app = spawn(backend).await;
        let r = app
            .client
            .get(app.url("/api/v1/instances/not-an-id"))
            .bearer_auth(app.officer())
            .header("X-Request-Id", "lb-7f3a.retry:2")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], "lb-7f3a.retry:2");
        expect_problem(r, 404, "not_found").await;

        // Without one, or with one that could forge a log line, each request gets its own.
        let id_of = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let plain = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(plain.status(), 200);
        let odd = app.client.get(app.url("/healthz")).header("X-Request-Id", "a b=c").send().await.unwrap();
        let (plain, odd) = (id_of(&plain), id_of(&odd));
        assert!(uuid::Uuid::parse_str(&plain).is_ok(), "{plain}");
        assert!(uuid::Uuid::parse_str(&odd).is_ok(), "{odd}");
        assert_ne!(plain, odd);
        let r = app.post("/api/v1/instances", &app.court(), &transfer_request("standard")).await;
        assert_eq!(r.status(), 201);
        assert!(uuid::Uuid::parse_str(&id_of(&r)).is_ok());
    }
}

/// Steps fired count by workflow and transition (a replayed answer is no new step); the
/// deadline gauges say what the deadline listing says.
#[tokio::test]
async fn the_metrics_count_steps_and_deadlines() {
    for backend in backends() {
        let app = spawn(backend).await;
        let transfers = "lienganh_transitions_total{transition=\"transfer\",workflow=\"court_transfer\"}";
        let registers = "lienganh_transitions_total{transition=\"register\",workflow=\"court_transfer\"}";
        let fired = "lienganh_http_request_duration_seconds_count{method=\"POST\",\
                     route=\"/api/v1/instances/{id}/transitions\",status=\"2xx\"}";
        assert_eq!(series(&metrics(&app).await, transfers), 0.0);

        // A judgment effective in August: its transfer and decision are long overdue.
        let mut late = transfer_request("standard");
        late["reference_date"] = json!("2026-08-20");
        late["data"]["effective_date"] = json!("2026-08-20");
        let r = app.post("/api/v1/instances", &app.court(), &late).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        // One upload: the retry is the same request, naming the same file.
        let data = app.transfer_data("Bản án").await;
        let step = json!({"transition": "transfer", "expected_version": 1, "data": data});
        let path = format!("/api/v1/instances/{id}/transitions");
        for _ in 0..2 {
            let r = app.post_with_key(&path, &app.court(), "transfer-once", &step).await;
            assert_eq!(r.status(), 200);
        }
        let r =
            app.fire(&id, &app.officer(), "register", 2, crate::helpers::register_data("2026-08-28")).await;
        assert_eq!(r.status(), 200);
        // One effective today: its transfer is due in a month.
        let mut fresh = transfer_request("standard");
        fresh["data"]["effective_date"] = json!(lienganh::domain::today_local().to_string());
        assert_eq!(app.post("/api/v1/instances", &app.court(), &fresh).await.status(), 201);

        let text = metrics(&app).await;
        assert_eq!(series(&text, transfers), 1.0, "the replay is not a step: {text}");
        assert_eq!(series(&text, registers), 1.0);
        assert_eq!(series(&text, fired), 3.0, "every answer is timed, the replay too");
        let open = count(&app, "/api/v1/deadlines?status=open&limit=500").await;
        let overdue = count(&app, "/api/v1/deadlines?status=overdue&limit=500").await;
        assert!(overdue >= 1 && open > overdue, "open {open}, overdue {overdue}");
        assert_eq!(series(&text, "lienganh_deadlines_open"), open as f64, "{text}");
        assert_eq!(series(&text, "lienganh_deadlines_overdue"), overdue as f64, "{text}");

        // The reminders of August, never sent (no pass ran): the lag counts from the oldest.
        let lag = series(&text, "lienganh_reminder_lag_seconds");
        assert!(lag > 30.0 * 86400.0, "behind by weeks: {lag}");
        // The process, the build and the connections show too.
        assert!(series(&text, "process_resident_memory_bytes") > 0.0, "{text}");
        assert_eq!(
            series(&text, &format!("lienganh_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))),
            1.0
        );
        assert!(series(&text, "lienganh_db_pool_connections") >= 1.0);
        assert!(
            series(&text, "lienganh_db_pool_in_use") >= 0.0 && text.contains("lienganh_db_pool_waiting 0")
        );
        if backend == Backend::Sqlite {
            let (groups, writes) = (
                series(&text, "lienganh_sqlite_writer_groups_total"),
                series(&text, "lienganh_sqlite_writer_writes_total"),
            );
            assert!(
                groups >= 4.0 && writes >= groups,
                "each write in a group: {groups} groups, {writes} writes"
            );
            assert!(text.contains("lienganh_sqlite_writer_queue 0"));
        }
        // A pass sends what was due: no lag left.
        let db = lienganh::store::Db::connect(&app.database_url, 2).unwrap();
        let now = lienganh::domain::now().timestamp_micros();
        lienganh::jobs::pass(&db, "metrics", now, &lienganh::jobs::http_client().unwrap()).await.unwrap();
        assert_eq!(series(&metrics(&app).await, "lienganh_reminder_lag_seconds"), 0.0);
    }
}

#[tokio::test]
async fn a_metrics_token_guards_the_metrics() {
    let app = spawn(Backend::Sqlite).await;
    let settings = lienganh::config::Settings {
        metrics_token: Some("scrape-token-of-the-monitoring".into()),
        ..settings_for(&app.database_url)
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(lienganh::http::server::build(&settings, listener).unwrap());
    let client = reqwest::Client::new();
    expect_problem(client.get(&url).send().await.unwrap(), 401, "unauthorized").await;
    let wrong = client.get(&url).bearer_auth(app.admin()).send().await.unwrap();
    expect_problem(wrong, 401, "unauthorized").await;
    let r = client.get(&url).bearer_auth("scrape-token-of-the-monitoring").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("lienganh_deadlines_open "));
}

/// With JSON logs, the binary's line for a request carries the id it came with, and nothing
/// of what was sent: no token, no name, no identity number.
#[tokio::test]
async fn the_log_line_of_a_request_carries_its_id_and_no_personal_data() {
    for backend in backends() {
        let mut app = unserved(backend);
        let mut served = serve(&mut app, &[("LIENGANH_LOG_FORMAT", "json")]);
        app.seed_agencies().await;
        let token = app.officer();
        let case = crate::cases::case("THADS-HN", "LOG-1", "2026-08-03", "5000000");
        let r = app
            .client
            .post(app.url("/api/v1/cases"))
            .bearer_auth(&token)
            .header("X-Request-Id", "trace-me-42")
            .json(&case)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-request-id"], "trace-me-42");
        served.terminate();
        assert!(served.exit().await.success());

        let log = served.log();
        let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let line = lines.iter().find(|l| l["span"]["request_id"] == "trace-me-42");
        let line = line.unwrap_or_else(|| panic!("no line with the id: {log}"));
        assert_eq!(line["fields"]["status"], 201, "{line}");
        assert_eq!(line["span"]["route"], "/api/v1/cases");
        for secret in [token.as_str(), "Nguyễn Văn Nợ", "012345678901", "Cốc Lếu"] {
            assert!(!log.contains(secret), "{secret:?} is in the log");
        }
    }
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Writers keep creating instances and firing steps through the binary while `backup` runs:
/// the copy is sound, its histories verify, and it holds every instance acknowledged before
/// the backup began. It never overwrites a file; on PostgreSQL it points to pg_dump.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_while_serving_is_consistent_and_complete() {
    let mut app = unserved(Backend::Sqlite);
    let mut served = serve(&mut app, &[]);
    app.seed_agencies().await;
    let app = Arc::new(app);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..3 {
        let (app, acknowledged, stop) = (app.clone(), acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for _ in 0..300 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let r = app.post("/api/v1/instances", &app.court(), &transfer_request("standard")).await;
                assert_eq!(r.status(), 201);
                let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                acknowledged.lock().unwrap().push(id.clone());
                let r = app.fire(&id, &app.court(), "transfer", 1, app.transfer_data("Bản án").await).await;
                assert_eq!(r.status(), 200);
            }
        }));
    }
    for _ in 0..600 {
        if acknowledged.lock().unwrap().len() >= 15 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    assert!(before.len() >= 15, "the writers are writing");
    let copy = app.dir().join("copy.db");
    // Run in the test's folder: whatever the command writes by a relative path stays there.
    let (url, path, dir, documents) =
        (app.database_url.clone(), copy.clone(), app.dir().to_owned(), app.documents());
    let out = tokio::task::spawn_blocking(move || {
        lienganh()
            .current_dir(dir)
            .env("LIENGANH_DATABASE_URL", url)
            .env("LIENGANH_DOCUMENTS_URL", documents)
            .arg("backup")
            .arg(path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let during = acknowledged.lock().unwrap().len();
    // The writers go on for a while after it, then stop.
    for _ in 0..200 {
        if acknowledged.lock().unwrap().len() >= during + 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("backed up the database to"), "{said}");
    // The documents the copy names follow it into the folder beside it, so that it serves as
    // it is.
    let folder = app.dir().join("copy.db.documents");
    let to_folder = format!(" to {}", folder.display());
    assert!(said.lines().any(|l| l.starts_with("copied ") && l.ends_with(&to_folder)), "{said}");
    assert!(folder.is_dir(), "{said}");

    let mut conn = SqliteConnection::establish(copy.to_str().unwrap()).unwrap();
    let check = diesel::sql_query("PRAGMA integrity_check").load::<Integrity>(&mut conn).unwrap();
    assert_eq!(check.iter().map(|c| c.integrity_check.as_str()).collect::<Vec<_>>(), ["ok"]);
    let ids: HashSet<String> = diesel::sql_query("SELECT id FROM instances")
        .load::<Id>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let missing: Vec<&String> = before.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup but not in it: {missing:?}");
    drop(conn);
    let copy_url = format!("sqlite://{}", copy.display());
    let audit =
        lienganh().env("LIENGANH_DATABASE_URL", &copy_url).args(["audit", "verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success(), "{text}{}", String::from_utf8_lossy(&audit.stderr));
    assert!(text.contains(&format!("verified {} instance histories", ids.len())), "{text}");

    // Never over an existing file.
    let bytes = std::fs::read(&copy).unwrap();
    let again = lienganh()
        .current_dir(app.dir())
        .env("LIENGANH_DATABASE_URL", &app.database_url)
        .arg("backup")
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    assert_eq!(std::fs::read(&copy).unwrap(), bytes, "the file is untouched");
    let partials = std::fs::read_dir(app.dir()).unwrap().filter_map(Result::ok);
    assert!(partials.filter(|e| e.file_name().to_string_lossy().ends_with(".partial")).count() == 0);

    // PostgreSQL has its own tool.
    let pg = app.dir().join("pg.db");
    let out = lienganh()
        .current_dir(app.dir())
        .env("LIENGANH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lienganh")
        .arg("backup")
        .arg(&pg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
    assert!(!pg.exists());

    served.terminate();
    assert!(served.exit().await.success());
}

async fn wait_until<F: Fn() -> bool>(what: &str, done: F) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("waited in vain for {what}");
}

/// SIGTERM while batches of cases and new instances are being written: the service stops
/// taking connections, answers every request it had taken in full, exits 0, and the
/// database holds everything it acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_requests_in_flight_then_exits() {
    for backend in backends() {
        let mut app = unserved(backend);
        let mut served = serve(&mut app, &[]);
        app.seed_agencies().await;
        let app = Arc::new(app);
        let mut sent = Vec::new();
        for b in 0..3 {
            let app = app.clone();
            let cases: Vec<Value> = (0..500)
                .map(|i| crate::cases::case("THADS-HN", &format!("B{b}-{i}"), "2026-08-03", "5000000"))
                .collect();
            sent.push(tokio::spawn(async move {
                let r = app.post("/api/v1/cases/batch", &app.officer(), &json!({"cases": cases})).await;
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }));
        }
        for _ in 0..8 {
            let app = app.clone();
            sent.push(tokio::spawn(async move {
                let r = app.post("/api/v1/instances", &app.court(), &transfer_request("standard")).await;
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }));
        }
        // Wait until every request has reached the service: answered already, or in flight
        // (less the scrape itself); answers counted first, so none is counted twice.
        let mut reached = false;
        for _ in 0..800 {
            let answered = sent.iter().filter(|s| s.is_finished()).count();
            let in_flight = series(&metrics(&app).await, "lienganh_http_requests_in_flight") as usize - 1;
            if answered + in_flight >= sent.len() && in_flight > 0 {
                reached = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(reached, "every request reached the service, some still being answered");
        served.terminate();

        // New connections are refused while those requests are still being answered.
        let addr = app.base.trim_start_matches("http://").to_owned();
        let refused = Arc::new(AtomicBool::new(false));
        let probe = refused.clone();
        wait_until("the listener to close", move || {
            let r = std::net::TcpStream::connect(&addr);
            let gone = r.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused);
            probe.store(gone, Ordering::SeqCst);
            gone
        })
        .await;
        assert!(refused.load(Ordering::SeqCst));
        assert!(served.running(), "refused while still finishing the requests in flight");

        let mut cases = 0;
        let mut instances = Vec::new();
        for answer in sent {
            let (status, body) = answer.await.unwrap();
            assert!((200..300).contains(&status), "{status} {body}");
            match body["created"].as_u64() {
                Some(n) => cases += n,
                None => instances.push(body["id"].as_str().unwrap().to_owned()),
            }
        }
        assert_eq!((cases, instances.len()), (1500, 8));
        let status = served.exit().await;
        assert!(status.success(), "{status:?}\n{}", served.log());
        assert!(served.log().contains("stopping: no new connections"));

        // What was acknowledged is there, read by a new server over the same database.
        let mut app = Arc::try_unwrap(app).ok().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        app.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(lienganh::http::server::build(&settings_for(&app.database_url), listener).unwrap());
        for id in &instances {
            assert_eq!(app.get(&format!("/api/v1/instances/{id}"), &app.court()).await.status(), 200);
        }
        let db = lienganh::store::Db::connect(&app.database_url, 1).unwrap();
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let stored = diesel::sql_query("SELECT count(*) AS n FROM cases")
            .get_result::<Count>(&mut **db.read().unwrap())
            .unwrap();
        assert_eq!(stored.n, 1500);
    }
}

/// A webhook receiver that takes each request and answers only once let go.
struct Held {
    arrived: AtomicUsize,
    release: tokio::sync::Semaphore,
}

async fn held(state: web::Data<Arc<Held>>) -> HttpResponse {
    state.arrived.fetch_add(1, Ordering::SeqCst);
    if let Ok(permit) = state.release.acquire().await {
        permit.forget();
    }
    HttpResponse::Ok().finish()
}

/// SIGTERM while the reminder pass is posting a webhook: the service waits for the answer,
/// records the delivery, and only then exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_reminder_pass_finish() {
    for backend in backends() {
        let received =
            Arc::new(Held { arrived: AtomicUsize::new(0), release: tokio::sync::Semaphore::new(0) });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
        let data = web::Data::new(received.clone());
        let receiver =
            HttpServer::new(move || App::new().app_data(data.clone()).route("/hook", web::post().to(held)))
                .workers(1)
                .listen(listener)
                .unwrap()
                .run();
        tokio::spawn(receiver);
        let mut app = unserved(backend);
        let mut served = serve(&mut app, &[("LIENGANH_REMINDER_CRON", "* * * * * *")]);
        app.seed_agencies().await;
        let r = app.post("/api/v1/agencies/THADS-HN/webhooks", &app.admin(), &json!({"url": hook_url})).await;
        assert_eq!(r.status(), 201);
        let hook = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let id = app.start_transfer("standard").await["id"].as_str().unwrap().to_owned();
        let r = app.fire(&id, &app.court(), "transfer", 1, app.transfer_data("Bản án").await).await;
        assert_eq!(r.status(), 200, "the office is told, through its webhook");

        let arrived = received.clone();
        wait_until("the webhook to be posted", move || arrived.arrived.load(Ordering::SeqCst) > 0).await;
        served.terminate();
        // Let the service take the signal in before the receiver answers.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(served.running(), "waits for the pass under way");
        received.release.add_permits(100);
        let status = served.exit().await;
        assert!(status.success(), "{status:?}\n{}", served.log());

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        app.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(lienganh::http::server::build(&settings_for(&app.database_url), listener).unwrap());
        let deliveries: Value =
            app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &app.admin()).await.json().await.unwrap();
        // The office is told of the new instance and of the transfer: each posted is recorded
        // delivered; one that no pass had begun waits for the next start.
        let deliveries = deliveries.as_array().unwrap();
        assert_eq!(deliveries.len(), 2);
        let delivered =
            deliveries.iter().filter(|d| d["status"] == "delivered" && d["attempts"] == 1).count();
        let untouched = deliveries.iter().filter(|d| d["status"] == "pending" && d["attempts"] == 0).count();
        assert_eq!(delivered, received.arrived.load(Ordering::SeqCst), "{deliveries:?}");
        assert_eq!(delivered + untouched, 2, "{deliveries:?}");
    }
}
