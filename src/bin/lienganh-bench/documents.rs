//! Documents of 10 MB: one client uploads a judgment's PDF of 10 MB (bytes of their own each
//! time), the court hands it over with a transfer, and the office downloads it, over HTTP
//! with real tokens, into the server's default store (a folder beside its database).

use std::time::{Duration, Instant};

use lienganh::domain::Role;
use lienganh::http::auth::JwtKeys;
use serde_json::{json, Value};

use crate::load::{client, machine, print_line, runtime};
use crate::server::{Database, Server, SECRET};
use crate::Args;

/// The size of each document.
const SIZE: usize = 10 * 1024 * 1024;

pub fn run(args: &Args) -> Result<(), String> {
    let db = Database::create(args)?;
    let rt = runtime()?;
    let http = client(1)?;
    let mut server = Server::start(&db)?;
    rt.block_on(server.ready(&http))?;
    let keys = JwtKeys::new(SECRET.as_bytes(), "lienganh", "lienganh-api");
    let token = |sub: &str, agency: &str, role: Role| crate::load::token(&keys, sub, agency, role);
    let (admin, court, office) = (
        token("bench-admin", "BTP", Role::Admin)?,
        token("toa-an", "TAND-HN", Role::CourtLiaison)?,
        token("can-bo", "THADS-HN", Role::EnforcementOfficer)?,
    );
    let base = server.base.clone();
    let window = Duration::from_secs(args.seconds);
    let (uploads, downloads) = rt.block_on(async {
        for (code, kind) in [("TAND-HN", "court"), ("THADS-HN", "enforcement"), ("VKS-HN", "procuracy")] {
            let body = json!({"code": code, "kind": kind, "name": code});
            send(http.post(format!("{base}/api/v1/agencies")).bearer_auth(&admin).json(&body)).await?;
        }
        let mut bytes = b"%PDF-1.7\n".to_vec();
        bytes.resize(SIZE, b' ');
        let (mut uploads, mut downloads) = (Vec::new(), Vec::new());
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < window {
            n += 1;
            // Bytes of their own, so that each is stored anew.
            bytes[9..17].copy_from_slice(&n.to_le_bytes());
            let began = Instant::now();
            let doc = send(
                http.post(format!("{base}/api/v1/documents?name=ban-an.pdf"))
                    .bearer_auth(&court)
                    .header("Content-Type", "application/pdf")
                    .body(bytes.clone()),
            )
            .await?;
            uploads.push(micros(began));
            let request = json!({
                "workflow": "court_transfer",
                "parties": {"court": "TAND-HN", "enforcement": "THADS-HN", "procuracy": "VKS-HN"},
                "data": {"judgment_number": format!("{n}/2026/DS-PT"), "judgment_date": "2026-11-02",
                         "effective_date": "2026-11-20", "category": "standard"}
            });
            let instance =
                send(http.post(format!("{base}/api/v1/instances")).bearer_auth(&court).json(&request))
                    .await?;
            let step = json!({"transition": "transfer", "expected_version": 1, "data": {
                "judgment_file": doc["id"], "transfer_date": "2026-11-25", "method": "in_person",
                "documents": [{"description": "Bản án", "quantity": "1", "unit": "bản"}]}});
            let id = instance["id"].as_str().unwrap_or_default();
            send(
                http.post(format!("{base}/api/v1/instances/{id}/transitions"))
                    .bearer_auth(&court)
                    .json(&step),
            )
            .await?;
            let began = Instant::now();
            let r = http
                .get(format!("{base}/api/v1/documents/{}", doc["id"].as_str().unwrap_or_default()))
                .bearer_auth(&office)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let got = r.bytes().await.map_err(|e| e.to_string())?;
            downloads.push(micros(began));
            if got.len() != SIZE {
                return Err(format!("downloaded {} bytes of {SIZE}", got.len()));
            }
        }
        Ok::<_, String>((uploads, downloads))
    })?;
    let peak = server.peak_memory();
    server.stop();
    let secs = window.as_secs_f64();
    println!(
        "lienganh-bench documents: {:?}, 1 client over HTTP, {} s, 10 MiB each",
        args.backend,
        window.as_secs()
    );
    println!("machine: {}", machine());
    print_line("upload", &uploads, secs);
    print_line("download", &downloads, secs);
    let rate = |l: &[u32]| {
        SIZE as f64 * l.len() as f64 / (l.iter().map(|&u| f64::from(u)).sum::<f64>() / 1e6) / 1_048_576.0
    };
    println!(
        "  upload {:.0} MiB/s, download {:.0} MiB/s (while transferring)",
        rate(&uploads),
        rate(&downloads)
    );
    if let Some(peak) = peak {
        println!("  peak memory  {:.1} MiB (resident, high-water mark)", peak as f64 / 1_048_576.0);
    }
    Ok(())
}

fn micros(began: Instant) -> u32 {
    u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX)
}

async fn send(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let r = request.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let body = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| e.to_string())
}
