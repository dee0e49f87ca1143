//! Search at national volume: over a generated country (see [`crate::country`]) of a million
//! instances and a million cases, concurrent clients ask the real server over HTTP, with the
//! tokens of the agencies' own officers, in turn for: an instance by a number it carries, as
//! written (`45/2025/DS-PT`), by an agency party to it; a case by its obligor's name typed
//! without diacritics, and by an ID number, by the office that holds it; and the most common
//! of names, `nguyen van`, by a provincial office, whose scope is its own and its regional
//! offices' cases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lienganh::engine::search::fold;
use lienganh::http::auth::JwtKeys;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::country::{self, Country, PROVINCES};
use crate::load::{client, machine, print_line, runtime};
use crate::reads::token;
use crate::server::{Server, SECRET};
use crate::Args;

/// What each kind of search measured: latencies in microseconds, and failures.
#[derive(Default)]
struct Measured {
    number: Vec<u32>,
    name: Vec<u32>,
    id_number: Vec<u32>,
    common: Vec<u32>,
    /// Searches that found nothing, though they should have.
    missed: u64,
    errors: Vec<String>,
}

pub fn run(args: &Args) -> Result<(), String> {
    let (country, dir, _database) = country::kept_or_new(args)?;
    if country.numbers.is_empty() || country.people.is_empty() {
        return Err("this country has no search sample: generate it again".into());
    }
    let rt = runtime()?;
    let mut server = Server::start_on(&country.url, &dir)?;
    let http = client(16)?;
    rt.block_on(server.ready(&http))?;
    let keys = Arc::new(JwtKeys::new(SECRET.as_bytes(), "lienganh", "lienganh-api"));
    let country = Arc::new(country);
    println!("lienganh-bench search: {:?}, over HTTP", args.backend);
    println!("machine: {}", machine());
    println!(
        "country: {} instances, {} cases, {} events; generated in {:.0} s{}",
        country.instances,
        country.cases,
        country.events,
        country.seconds,
        country::size_of(&country.url)
            .map_or(String::new(), |b| format!(", {:.1} GiB", b as f64 / 1_073_741_824.0)),
    );
    let runs = match args.clients {
        Some(n) => vec![n],
        None => vec![1, 16],
    };
    for clients in runs {
        let http = client(clients)?;
        let warm_up = Duration::from_secs(args.seconds.div_ceil(10).max(1));
        let window = Duration::from_secs(args.seconds);
        let m = rt.block_on(drive(&http, &server.base, &keys, &country, clients, warm_up, window))?;
        if !m.errors.is_empty() {
            for e in m.errors.iter().take(10) {
                eprintln!("  {e}");
            }
            return Err(format!("{} searches failed", m.errors.len()));
        }
        let secs = window.as_secs_f64();
        println!("{clients} clients, {} s after {} s of warm-up:", window.as_secs(), warm_up.as_secs());
        print_line("number", &m.number, secs);
        print_line("name", &m.name, secs);
        print_line("ID number", &m.id_number, secs);
        print_line("nguyen van", &m.common, secs);
        let mut all = m.number.clone();
        all.extend(&m.name);
        all.extend(&m.id_number);
        all.extend(&m.common);
        print_line("all", &all, secs);
        if m.missed > 0 {
            return Err(format!("{} searches found nothing they should have", m.missed));
        }
    }
    if let Some(peak) = server.peak_memory() {
        println!("  peak memory  {:.1} MiB (resident, high-water mark)", peak as f64 / 1_048_576.0);
    }
    server.stop();
    Ok(())
}

async fn drive(
    http: &reqwest::Client,
    base: &str,
    keys: &Arc<JwtKeys>,
    country: &Arc<Country>,
    clients: usize,
    warm_up: Duration,
    window: Duration,
) -> Result<Measured, String> {
    let start = Instant::now();
    let (from, until) = (start + warm_up, start + warm_up + window);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (http, base, keys, country) = (http.clone(), base.to_owned(), keys.clone(), country.clone());
        tasks.push(tokio::spawn(async move {
            let mut m = Measured::default();
            let mut rng = StdRng::seed_from_u64(100 + i as u64);
            let mut n = 0usize;
            while Instant::now() < until {
                n += 1;
                let (q, agency, into, must_find) = match n % 4 {
                    0 => {
                        let (number, agency) = &country.numbers[rng.random_range(0..country.numbers.len())];
                        (number.clone(), agency.clone(), &mut m.number, true)
                    }
                    1 => {
                        let (name, _, office) = &country.people[rng.random_range(0..country.people.len())];
                        (fold(name), office.clone(), &mut m.name, true)
                    }
                    2 => {
                        let (_, id_number, office) =
                            &country.people[rng.random_range(0..country.people.len())];
                        (id_number.clone(), office.clone(), &mut m.id_number, true)
                    }
                    _ => {
                        let province = rng.random_range(1..=PROVINCES);
                        let office = country::agency(lienganh::domain::AgencyKind::Enforcement, province);
                        ("nguyen van".to_owned(), office, &mut m.common, false)
                    }
                };
                match search(&http, &base, &keys, &q, &agency, into, from, until).await {
                    Ok(0) if must_find => m.missed += 1,
                    Ok(_) => {}
                    Err(e) => m.errors.push(e),
                }
            }
            m
        }));
    }
    let mut all = Measured::default();
    for task in tasks {
        let m = task.await.map_err(|e| e.to_string())?;
        all.number.extend(m.number);
        all.name.extend(m.name);
        all.id_number.extend(m.id_number);
        all.common.extend(m.common);
        all.missed += m.missed;
        all.errors.extend(m.errors);
    }
    Ok(all)
}

/// One search as `agency`'s officer, its whole answer read; its latency kept if it ended in
/// the window. Returns how many it found.
#[allow(clippy::too_many_arguments)]
async fn search(
    http: &reqwest::Client,
    base: &str,
    keys: &JwtKeys,
    q: &str,
    agency: &str,
    into: &mut Vec<u32>,
    from: Instant,
    until: Instant,
) -> Result<usize, String> {
    let token = token(keys, agency)?;
    let began = Instant::now();
    let r = http
        .get(format!("{base}/api/v1/search"))
        .query(&[("q", q)])
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("{q}: {e}"))?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| format!("{q}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{q}: {status} {}", String::from_utf8_lossy(&body)));
    }
    let ended = Instant::now();
    if ended >= from && ended < until {
        into.push(u32::try_from(ended.duration_since(began).as_micros()).unwrap_or(u32::MAX));
    }
    let found: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok(found["items"].as_array().map_or(0, Vec::len))
}
