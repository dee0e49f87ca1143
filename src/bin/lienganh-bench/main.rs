//! `lienganh-bench`: the service under load, against its own database's limit.
//!
//! It starts the real server in a child process (this binary, run as `serve`), loads it over
//! HTTP with concurrent clients firing real transitions with real tokens, and prints
//! transitions per second, latency percentiles and the server's peak memory. Then, on the same
//! database, it measures the floor: the very rows those requests wrote, written again straight
//! through the store, without HTTP or the engine. With `--scenario reads` it generates a
//! country of a million instances (and as many cases) instead and measures the reads its users
//! make most; with `--scenario search`, the searches; with `--scenario documents`, the upload
//! and download of a 10 MB document.
//! Run with `cargo run --release --bin lienganh-bench -- --help`.

/// The allocator of `lienganh` itself: the bench runs the server as a child of its own binary.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod country;
mod documents;
mod floor;
mod load;
mod reads;
mod search;
mod server;

use std::process::ExitCode;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Transitions under load, against the floor of the database.
    Writes,
    /// Reads over a generated country: an instance, an agency's open instances, its inbox.
    Reads,
    /// Searches over a generated country: by numbers, by names, by ID numbers (1 and 16
    /// clients unless `--clients` is given).
    Search,
    /// The upload, handover and download of a 10 MB document, one client.
    Documents,
}

/// Benchmarks lienganh over real HTTP.
#[derive(Debug, Parser)]
#[command(name = "lienganh-bench")]
pub struct Args {
    /// The database to run on.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BackendArg,
    /// A PostgreSQL server URL; the bench creates a database of its own there, and drops it.
    /// Its parameters after `?` are kept: by default the local server, without TLS.
    #[arg(
        long,
        env = "LIENGANH_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    )]
    pub postgres_url: String,
    /// What to measure.
    #[arg(long, value_enum, default_value = "writes")]
    pub scenario: Scenario,
    /// Concurrent HTTP clients: 64 for writes, 16 for reads when absent.
    #[arg(long)]
    pub clients: Option<usize>,
    /// With `--scenario reads` or `search`, the instances of the generated country (about ten
    /// events each), and as many cases.
    #[arg(long, default_value_t = 1_000_000)]
    pub instances: u64,
    /// With `--scenario reads` or `search`, read a country kept by an earlier run (`--keep`)
    /// instead of generating one: the `country.json` that run printed.
    #[arg(long)]
    pub reuse: Option<std::path::PathBuf>,
    /// How long to load the server, after a warm-up of a tenth of it.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Keep the database and the server's log; their folder is printed.
    #[arg(long)]
    pub keep: bool,
}

fn main() -> ExitCode {
    // The child process: the service itself, exactly as `lienganh serve` runs it.
    if std::env::args().nth(1).as_deref() == Some(server::SERVE) {
        return server::serve_child();
    }
    let args = Args::parse();
    let outcome = match args.scenario {
        Scenario::Writes => load::run(&args),
        Scenario::Reads => reads::run(&args),
        Scenario::Search => search::run(&args),
        Scenario::Documents => documents::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
