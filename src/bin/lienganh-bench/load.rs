//! Writes under load: concurrent clients take procuracy documents through their whole life
//! (issued, acknowledged, answered, accepted) over HTTP, each step a real transition.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lienganh::domain::{AgencyCode, Role};
use lienganh::http::auth::JwtKeys;
use serde_json::{json, Value};

use crate::floor;
use crate::server::{Database, Server, SECRET};
use crate::Args;

/// The provinces the clients are spread over: a procuracy and an enforcement office each.
const PROVINCES: &[&str] = &["HN", "HCM", "HP", "DN", "CT", "LC", "QN", "NA"];

/// The identities of one province, as tokens.
struct Tokens {
    province: &'static str,
    inspector: String,
    officer: String,
    head: String,
}

/// What the clients measured.
#[derive(Default)]
pub struct Measured {
    /// Latencies of transitions fired, in microseconds.
    pub transitions: Vec<u32>,
    /// Latencies of instances created, in microseconds.
    pub creations: Vec<u32>,
    /// Latencies of the documents uploaded for the steps that hand one over, in microseconds.
    pub uploads: Vec<u32>,
    /// Instances that went through every step.
    pub finished: Vec<String>,
    pub errors: Vec<String>,
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())
}

pub fn client(clients: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())
}

pub fn run(args: &Args) -> Result<(), String> {
    let clients = args.clients.unwrap_or(64);
    let db = Database::create(args)?;
    let rt = runtime()?;
    let client = client(clients)?;
    let mut server = Server::start(&db)?;
    rt.block_on(server.ready(&client))?;
    let keys = JwtKeys::new(SECRET.as_bytes(), "lienganh", "lienganh-api");
    rt.block_on(seed(&client, &server.base, &keys))?;
    let warm_up = Duration::from_secs(args.seconds.div_ceil(10).max(1));
    let window = Duration::from_secs(args.seconds);
    let measured = rt.block_on(drive(&client, &server.base, &keys, clients, warm_up, window))?;
    let peak = server.peak_memory();
    server.stop();
    if !measured.errors.is_empty() {
        for e in measured.errors.iter().take(10) {
            eprintln!("  {e}");
        }
        return Err(format!("{} requests failed", measured.errors.len()));
    }
    let secs = window.as_secs_f64();
    println!(
        "lienganh-bench: {:?}, {} clients over HTTP, {} s after {} s of warm-up",
        args.backend,
        clients,
        window.as_secs(),
        warm_up.as_secs()
    );
    println!("machine: {}", machine());
    println!("service (HTTP, tokens, engine, database):");
    print_line("transitions", &measured.transitions, secs);
    print_line("creations", &measured.creations, secs);
    print_line("uploads", &measured.uploads, secs);
    let mut writes = measured.transitions.clone();
    writes.extend_from_slice(&measured.creations);
    print_line("all writes", &writes, secs);
    if let Some(peak) = peak {
        println!("  peak memory  {:.1} MiB (resident, high-water mark)", peak as f64 / 1_048_576.0);
    }
    let floor = floor::run(&db.url, &measured.finished, clients, window)?;
    println!(
        "floor (the same rows written straight through the store, {} threads, no HTTP, no engine):",
        clients
    );
    let floor_rate = floor.writes as f64 / floor.elapsed.as_secs_f64();
    println!("  writes       {:>9}  {:>8.0}/s", floor.writes, floor_rate);
    let service_rate = writes.len() as f64 / secs;
    println!("service / floor: {:.2}", service_rate / floor_rate);
    if args.keep {
        println!("kept: {} (server log: {})", db.url, db.dir.join("server.log").display());
    }
    Ok(())
}

pub fn print_line(what: &str, latencies: &[u32], secs: f64) {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| {
        let i = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
        sorted.get(i).map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    println!(
        "  {what:<12} {:>9}  {:>8.0}/s  p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
        sorted.len(),
        sorted.len() as f64 / secs,
        at(0.50),
        at(0.95),
        at(0.99)
    );
}

/// The CPU and core count, as /proc/cpuinfo and the OS tell.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

/// A token good for four hours, of `sub` acting for `agency` under `role`.
pub(crate) fn token(keys: &JwtKeys, sub: &str, agency: &str, role: Role) -> Result<String, String> {
    let agency = AgencyCode::parse(agency)?;
    keys.issue(sub, sub, &agency, &[role], Duration::from_secs(4 * 3600))
}

async fn seed(client: &reqwest::Client, base: &str, keys: &JwtKeys) -> Result<(), String> {
    let admin = token(keys, "bench-admin", "BTP", Role::Admin)?;
    for p in PROVINCES {
        for (code, kind) in [(format!("VKS-{p}"), "procuracy"), (format!("THADS-{p}"), "enforcement")] {
            let r = client
                .post(format!("{base}/api/v1/agencies"))
                .bearer_auth(&admin)
                .json(&json!({"code": code, "kind": kind, "name": format!("{kind} {p}")}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("seeding {code}: {}", r.status()));
            }
        }
    }
    Ok(())
}

fn tokens(keys: &JwtKeys) -> Result<Vec<Arc<Tokens>>, String> {
    PROVINCES
        .iter()
        .map(|p| {
            Ok(Arc::new(Tokens {
                province: p,
                inspector: token(
                    keys,
                    &format!("kiem-sat-vien-{p}"),
                    &format!("VKS-{p}"),
                    Role::ProcuracyInspector,
                )?,
                officer: token(
                    keys,
                    &format!("chap-hanh-vien-{p}"),
                    &format!("THADS-{p}"),
                    Role::EnforcementOfficer,
                )?,
                head: token(keys, &format!("thu-truong-{p}"), &format!("THADS-{p}"), Role::EnforcementHead)?,
            }))
        })
        .collect()
}

/// Runs `clients` clients for the warm-up and the window; keeps what finished in the window.
async fn drive(
    client: &reqwest::Client,
    base: &str,
    keys: &JwtKeys,
    clients: usize,
    warm_up: Duration,
    window: Duration,
) -> Result<Measured, String> {
    let tokens = tokens(keys)?;
    let start = Instant::now();
    let (from, until) = (start + warm_up, start + warm_up + window);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (client, base, t) = (client.clone(), base.to_owned(), tokens[i % tokens.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut m = Measured::default();
            let mut n = 0u64;
            while Instant::now() < until {
                n += 1;
                cycle(&client, &base, &t, i, n, from, until, &mut m).await;
            }
            m
        }));
    }
    let mut all = Measured::default();
    for task in tasks {
        let m = task.await.map_err(|e| e.to_string())?;
        all.transitions.extend(m.transitions);
        all.creations.extend(m.creations);
        all.uploads.extend(m.uploads);
        all.finished.extend(m.finished);
        all.errors.extend(m.errors);
    }
    Ok(all)
}

/// One document through its life: issued, acknowledged, answered, accepted.
#[allow(clippy::too_many_arguments)]
async fn cycle(
    client: &reqwest::Client,
    base: &str,
    t: &Tokens,
    client_no: usize,
    n: u64,
    from: Instant,
    until: Instant,
    m: &mut Measured,
) {
    let p = t.province;
    let began = Instant::now();
    let instrument = match upload(client, base, &t.inspector, &format!("{client_no}-{n}/KN-VKS-{p}")).await {
        Ok(id) => id,
        Err(e) => return m.errors.push(format!("upload: {e}")),
    };
    record(&mut m.uploads, began, from, until);
    let create = json!({
        "workflow": "procuracy_supervision",
        "parties": {"procuracy": format!("VKS-{p}"), "enforcement": format!("THADS-{p}")},
        "data": {
            "instrument": "recommendation",
            "document_number": format!("{client_no}-{n}/KN-VKS-{p}"),
            "issued_on": "2026-11-02",
            "content": "Chậm ra quyết định thi hành án đối với 12 bản án đã nhận",
            "instrument_file": instrument
        }
    });
    let began = Instant::now();
    let r =
        client.post(format!("{base}/api/v1/instances")).bearer_auth(&t.inspector).json(&create).send().await;
    let body: Value = match r {
        Ok(r) if r.status().as_u16() == 201 => match r.json().await {
            Ok(body) => body,
            Err(e) => return m.errors.push(format!("create: {e}")),
        },
        Ok(r) => {
            let status = r.status();
            return m.errors.push(format!("create: {status} {}", r.text().await.unwrap_or_default()));
        }
        Err(e) => return m.errors.push(format!("create: {e}")),
    };
    record(&mut m.creations, began, from, until);
    let Some(id) = body["id"].as_str().map(str::to_owned) else {
        return m.errors.push(format!("create answered without an id: {body}"));
    };
    let began = Instant::now();
    let reply = match upload(client, base, &t.head, &format!("{n}/THADS-NV")).await {
        Ok(id) => id,
        Err(e) => return m.errors.push(format!("upload: {e}")),
    };
    record(&mut m.uploads, began, from, until);
    let steps = [
        ("acknowledge", &t.officer, json!({})),
        (
            "answer",
            &t.head,
            json!({
                "reply_number": format!("{n}/THADS-NV"),
                "reply_date": "2026-11-16",
                "measures": "Đã ra 12 quyết định thi hành án; kiểm điểm trách nhiệm Chấp hành viên",
                "reply_file": reply
            }),
        ),
        ("accept", &t.inspector, json!({"assessment": "Đã khắc phục"})),
    ];
    let url = format!("{base}/api/v1/instances/{id}/transitions");
    for (version, (transition, token, data)) in (1..).zip(steps) {
        let body = json!({"transition": transition, "expected_version": version, "data": data});
        let began = Instant::now();
        match client.post(&url).bearer_auth(token).json(&body).send().await {
            Ok(r) if r.status().is_success() => {
                // The whole answer is read, as a client would.
                if let Err(e) = r.bytes().await {
                    return m.errors.push(format!("{transition}: {e}"));
                }
            }
            Ok(r) => {
                let status = r.status();
                return m
                    .errors
                    .push(format!("{transition}: {status} {}", r.text().await.unwrap_or_default()));
            }
            Err(e) => return m.errors.push(format!("{transition}: {e}")),
        }
        record(&mut m.transitions, began, from, until);
    }
    m.finished.push(id);
}

/// Uploads a small PDF of its own (the signed paper a step hands over); its id.
async fn upload(client: &reqwest::Client, base: &str, token: &str, label: &str) -> Result<String, String> {
    let bytes = lienganh::cli::demo::pdf(label);
    let r = client
        .post(format!("{base}/api/v1/documents?name=van-ban.pdf"))
        .bearer_auth(token)
        .header("Content-Type", "application/pdf")
        .body(bytes)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().as_u16() != 201 {
        let status = r.status();
        return Err(format!("{status} {}", r.text().await.unwrap_or_default()));
    }
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    body["id"].as_str().map(str::to_owned).ok_or_else(|| format!("an upload answered without an id: {body}"))
}

/// Keeps a latency if the request ended inside the window.
fn record(into: &mut Vec<u32>, began: Instant, from: Instant, until: Instant) {
    let ended = Instant::now();
    if ended >= from && ended < until {
        into.push(u32::try_from(ended.duration_since(began).as_micros()).unwrap_or(u32::MAX));
    }
}
