//! Reads at national volume: over a generated country (see [`crate::country`]), concurrent
//! clients ask the real server over HTTP, with the tokens of the agencies' own people, for
//! what those people ask for most: one instance, their agency's open instances, their inbox.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lienganh::domain::Role;
use lienganh::http::auth::JwtKeys;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::country::{self, Country};
use crate::load::{client, machine, print_line, runtime};
use crate::server::{Server, SECRET};
use crate::Args;

/// What one kind of read measured: latencies in microseconds, and failures.
#[derive(Default)]
struct Measured {
    fetch: Vec<u32>,
    open: Vec<u32>,
    inbox: Vec<u32>,
    errors: Vec<String>,
}

pub fn run(args: &Args) -> Result<(), String> {
    let (country, dir, _database) = country::kept_or_new(args)?;
    let clients = args.clients.unwrap_or(16);
    let rt = runtime()?;
    let http = client(clients)?;
    let mut server = Server::start_on(&country.url, &dir)?;
    rt.block_on(server.ready(&http))?;
    let keys = Arc::new(JwtKeys::new(SECRET.as_bytes(), "lienganh", "lienganh-api"));
    let country = Arc::new(country);
    let warm_up = Duration::from_secs(args.seconds.div_ceil(10).max(1));
    let window = Duration::from_secs(args.seconds);
    let measured = rt.block_on(drive(&http, &server.base, &keys, &country, clients, warm_up, window))?;
    let peak = server.peak_memory();
    server.stop();
    if !measured.errors.is_empty() {
        for e in measured.errors.iter().take(10) {
            eprintln!("  {e}");
        }
        return Err(format!("{} requests failed", measured.errors.len()));
    }
    let (biggest, most) = country.agencies.iter().max_by_key(|(_, n)| *n).cloned().unwrap_or_default();
    println!(
        "lienganh-bench reads: {:?}, {clients} clients over HTTP, {} s after {} s of warm-up",
        args.backend,
        window.as_secs(),
        warm_up.as_secs()
    );
    println!("machine: {}", machine());
    println!(
        "country: {} instances ({} open), {} events, {} deadlines, {} notifications, {} agencies; \
         the largest, {biggest}, is party to {most}; generated in {:.0} s{}",
        country.instances,
        country.open,
        country.events,
        country.deadlines,
        country.notifications,
        country.agencies.len(),
        country.seconds,
        country::size_of(&country.url)
            .map_or(String::new(), |b| format!(", {:.1} GiB", b as f64 / 1_073_741_824.0)),
    );
    let secs = window.as_secs_f64();
    println!("reads (HTTP, tokens, database):");
    print_line("instance", &measured.fetch, secs);
    print_line("open list", &measured.open, secs);
    print_line("inbox", &measured.inbox, secs);
    if let Some(peak) = peak {
        println!("  peak memory  {:.1} MiB (resident, high-water mark)", peak as f64 / 1_048_576.0);
    }
    Ok(())
}

/// The token of an officer of `agency`, good for the whole run.
pub(crate) fn token(keys: &JwtKeys, agency: &str) -> Result<String, String> {
    crate::load::token(keys, &format!("can-bo-{}", agency.to_lowercase()), agency, Role::EnforcementOfficer)
}

/// Runs the clients: each asks in turn for an instance of its sample, the open instances of an
/// agency drawn by how many instances it is party to (the large ones most often), and that
/// agency's inbox, 50 to a page.
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
    let total: u64 = country.agencies.iter().map(|(_, n)| n).sum();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (http, base, keys, country) = (http.clone(), base.to_owned(), keys.clone(), country.clone());
        tasks.push(tokio::spawn(async move {
            let mut m = Measured::default();
            let mut rng = StdRng::seed_from_u64(i as u64);
            let mut n = 0usize;
            while Instant::now() < until {
                n += 1;
                let outcome = match n % 3 {
                    0 => {
                        let (id, agency) = &country.sample[rng.random_range(0..country.sample.len())];
                        read(
                            &http,
                            &format!("{base}/api/v1/instances/{id}"),
                            &keys,
                            agency,
                            &mut m.fetch,
                            from,
                            until,
                        )
                        .await
                    }
                    kind => {
                        let mut x = rng.random_range(0..total.max(1));
                        let agency = country
                            .agencies
                            .iter()
                            .find(|(_, count)| {
                                let here = x < *count;
                                x = x.saturating_sub(*count);
                                here
                            })
                            .map_or("THADS-P01", |(code, _)| code.as_str());
                        if kind == 1 {
                            let url = format!("{base}/api/v1/instances?open=true&limit=50");
                            read(&http, &url, &keys, agency, &mut m.open, from, until).await
                        } else {
                            let url = format!("{base}/api/v1/inbox?limit=50");
                            read(&http, &url, &keys, agency, &mut m.inbox, from, until).await
                        }
                    }
                };
                if let Err(e) = outcome {
                    m.errors.push(e);
                }
            }
            m
        }));
    }
    let mut all = Measured::default();
    for task in tasks {
        let m = task.await.map_err(|e| e.to_string())?;
        all.fetch.extend(m.fetch);
        all.open.extend(m.open);
        all.inbox.extend(m.inbox);
        all.errors.extend(m.errors);
    }
    Ok(all)
}

/// One GET as `agency`'s officer, its whole answer read; its latency kept if it ended in the window.
async fn read(
    http: &reqwest::Client,
    url: &str,
    keys: &JwtKeys,
    agency: &str,
    into: &mut Vec<u32>,
    from: Instant,
    until: Instant,
) -> Result<(), String> {
    let token = token(keys, agency)?;
    let began = Instant::now();
    let r = http.get(url).bearer_auth(token).send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {}", String::from_utf8_lossy(&body)));
    }
    let ended = Instant::now();
    if ended >= from && ended < until {
        into.push(u32::try_from(ended.duration_since(began).as_micros()).unwrap_or(u32::MAX));
    }
    Ok(())
}
