//! The enforcement report at national volume: generates a country of cases through the same
//! use cases the API calls (so the kept figures are built as in service), then times the
//! report for one province-year, for the whole country, and for a period of one's own.
//!
//! ```text
//! cargo bench --bench reports                                   # SQLite, 1,000,000 cases
//! cargo bench --bench reports -- --cases 100000 --instances 2000
//! LIENGANH_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench reports
//! ```
//!
//! 34 provinces with 10 regional offices each under a national department; cases received
//! over the 2025 and 2026 reporting years, 70% enforceable, most of them paid in full, some in
//! part, some terminated; each case has its hash-chained events and payments. `--instances`
//! condition verifications are started and classified through the engine, linked to cases.
//! On PostgreSQL the data goes to a schema of its own, dropped at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use lienganh::domain::{AgencyCode, Role};
use lienganh::engine::registry::Registry;
use lienganh::engine::step::Actor;
use lienganh::engine::Rules;
use lienganh::service::agencies::{self, CreateAgency};
use lienganh::service::cases::{self, CreateCase, CreateCases};
use lienganh::service::instances::{self, CreateInstance, FireTransition};
use lienganh::service::reports::{self, Period};
use lienganh::store::Db;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const PROVINCES: usize = 34;
const REGIONS: usize = 10;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}")))
        .unwrap_or(default)
}

fn actor(agency: &str, role: Role) -> Actor {
    Actor {
        sub: "bench".into(),
        name: "Bench".into(),
        agency: AgencyCode::parse(agency).unwrap(),
        roles: vec![role],
    }
}

fn add_agency(conn: &mut lienganh::store::DbConn, code: &str, kind: &str, parent: Option<&str>) {
    let req: CreateAgency =
        serde_json::from_value(json!({"code": code, "kind": kind, "name": code, "parent": parent})).unwrap();
    agencies::create(conn, &actor("BTP", Role::Admin), req, None, "").unwrap();
}

fn day(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    from + chrono::Duration::days(rng.random_range(0..=span))
}

fn a_case(rng: &mut StdRng, n: usize) -> (CreateCase, usize) {
    let p = rng.random_range(0..PROVINCES);
    let office = match rng.random_range(0..=REGIONS) {
        0 => format!("THADS-P{p:02}"),
        r => format!("THADS-P{p:02}-KV{r:02}"),
    };
    let received = day(
        rng,
        NaiveDate::from_ymd_opt(2024, 10, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
    );
    let due: u64 = if rng.random_bool(0.02) {
        rng.random_range(1_000_000_000..200_000_000_000)
    } else {
        rng.random_range(1_000..50_000) * 1_000
    };
    let class = match rng.random_range(0..100) {
        0..70 => "enforceable",
        70..95 => "not_yet_enforceable",
        _ => "unclassified",
    };
    let mut payments = Vec::new();
    let mut outcome = None;
    let last = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    if class == "enforceable" {
        match rng.random_range(0..100) {
            0..60 => payments.push(json!({"amount": due.to_string(), "paid_on": day(rng, received, last), "method": "transfer"})),
            60..75 => payments.push(json!({"amount": (due / 3).to_string(), "paid_on": day(rng, received, last), "method": "cash"})),
            _ => {}
        }
    } else if rng.random_bool(0.05) {
        outcome =
            Some(json!({"status": "terminated", "on": day(rng, received, last), "basis": "QĐ đình chỉ"}));
    }
    let case = serde_json::from_value(json!({
        "agency": office, "number": format!("B{n:08}"), "judgment_ref": format!("BA {n}"), "court": null,
        "court_name": "Tòa án nhân dân", "category": "civil",
        "obligor": {"name": "Nguyễn Văn A", "id_number": "001"}, "obligee": {"name": "Trần Thị B"},
        "amount_due": due.to_string(), "received_on": received, "classification": class,
        "payments": payments, "outcome": outcome
    }))
    .unwrap();
    (case, p)
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (times[times.len() / 2], last.unwrap())
}

fn main() {
    let total = arg("--cases", 1_000_000);
    let instances_wanted = arg("--instances", 20_000);
    let dir = tempfile::tempdir().unwrap();
    let (url, schema) = match std::env::var("LIENGANH_BENCH_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let schema = format!("bench_reports_{}", std::process::id());
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
            let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&base).unwrap();
            admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
            (url, Some((base, schema)))
        }
        _ => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
    };
    let db = Db::connect(&url, 4).unwrap();
    db.migrate().unwrap();
    let backend = if schema.is_some() { "PostgreSQL" } else { "SQLite" };
    let mut conn = lienganh::store::direct(&url).unwrap();

    add_agency(&mut conn, "THADS-TW", "enforcement", None);
    add_agency(&mut conn, "VKS-TW", "procuracy", None);
    for p in 0..PROVINCES {
        let province = format!("THADS-P{p:02}");
        add_agency(&mut conn, &province, "enforcement", Some("THADS-TW"));
        add_agency(&mut conn, &format!("VKS-P{p:02}"), "procuracy", Some("VKS-TW"));
        for r in 1..=REGIONS {
            add_agency(&mut conn, &format!("THADS-P{p:02}-KV{r:02}"), "enforcement", Some(&province));
        }
    }

    let officer = actor("THADS-TW", Role::EnforcementOfficer);
    let mut rng = StdRng::seed_from_u64(2026);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(total);
    let mut n = 0;
    while n < total {
        let (batch, provinces): (Vec<CreateCase>, Vec<usize>) =
            (n..(n + 1000).min(total)).map(|i| a_case(&mut rng, i)).unzip();
        n += batch.len();
        let reply = cases::create_many(&mut conn, &officer, CreateCases { cases: batch }, None, "").unwrap();
        let made = reply.fresh().unwrap();
        let created = made["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned());
        ids.extend(created.zip(provinces));
        if n % 100_000 == 0 {
            eprintln!("{n} cases, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    let load = started.elapsed().as_secs_f64();

    // Condition verifications through the engine, each linked to a case and classified.
    let registry = Registry::load_dir(std::path::Path::new("workflows")).unwrap();
    let calendar =
        lienganh::engine::calendar::Calendar::load(std::path::Path::new("workflows/calendar/holidays.toml"))
            .unwrap();
    let rules = Rules { registry: Arc::new(registry), calendar: Arc::new(calendar) };
    let started_instances = Instant::now();
    let mut instances_done = 0;
    for (i, (case_id, p)) in ids.iter().enumerate().take(instances_wanted) {
        let office = format!("THADS-P{p:02}");
        let head = Actor {
            roles: vec![Role::EnforcementOfficer, Role::EnforcementHead],
            ..actor(&office, Role::EnforcementHead)
        };
        let req: CreateInstance = serde_json::from_value(json!({
            "workflow": "condition_verification", "case_id": case_id,
            "parties": {"enforcement": format!("THADS-P{p:02}"), "procuracy": format!("VKS-P{p:02}")},
            "data": {"decision_number": format!("{i}/QĐ"), "decision_sent_date": "2026-07-31"}
        }))
        .unwrap();
        let created = instances::create(&mut conn, &rules, &head, req, None, "").unwrap();
        let id = uuid::Uuid::parse_str(&created.fresh().unwrap().id).unwrap();
        let steps = [
            ("record_service", json!({"served_on": "2026-08-03", "service_channel": "in_person"})),
            ("start_verification", json!({"voluntary_period_ended": "2026-08-13"})),
            ("classify_enforceable", json!({"verification_date": "2026-08-20", "findings": "Có tài sản"})),
        ];
        for (version, (t, data)) in (1..).zip(steps) {
            let req = FireTransition {
                transition: t.into(),
                expected_version: Some(version),
                data: serde_json::from_value(data).unwrap(),
                comment: None,
            };
            match instances::fire(&mut conn, &rules, &head, id, req, None, "") {
                Ok(_) => {}
                // A case already closed (terminated) takes no classification: the step is refused.
                Err(e) if e.code == lienganh::error::ErrorCode::CaseClosed => break,
                Err(e) => panic!("{t}: {e}"),
            }
        }
        instances_done += 1;
    }
    let instance_load = started_instances.elapsed().as_secs_f64();
    drop(conn);

    let counts = {
        let mut c = db.read().unwrap();
        let q = |c: &mut lienganh::store::DbConn, t: &str| -> i64 {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::RunQueryDsl::get_result::<N>(
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}")),
                c,
            )
            .unwrap()
            .n
        };
        (
            q(&mut c, "cases"),
            q(&mut c, "case_events"),
            q(&mut c, "payments"),
            q(&mut c, "events"),
            q(&mut c, "case_stats"),
        )
    };

    let auditor = actor("TTR", Role::Auditor);
    let year = Period::parse(Some(2026), None, None).unwrap();
    let own =
        Period::parse(None, NaiveDate::from_ymd_opt(2025, 11, 15), NaiveDate::from_ymd_opt(2026, 8, 20))
            .unwrap();
    let mut c = db.read().unwrap();
    let province = Some(AgencyCode::parse("THADS-P07").unwrap());
    let (t_province, r_province) = time(7, || {
        reports::enforcement(&mut c, &auditor, province.clone(), year, (true, Default::default())).unwrap()
    });
    let (t_country, r_country) =
        time(7, || reports::enforcement(&mut c, &auditor, None, year, (false, Default::default())).unwrap());
    let (t_offices, _) =
        time(7, || reports::enforcement(&mut c, &auditor, None, year, (true, Default::default())).unwrap());
    let (t_period, _) = time(7, || {
        reports::enforcement(&mut c, &auditor, province.clone(), own, (false, Default::default())).unwrap()
    });
    let (t_period_country, _) =
        time(3, || reports::enforcement(&mut c, &auditor, None, own, (false, Default::default())).unwrap());
    drop(c);

    println!("backend {backend}");
    println!(
        "generated {} cases ({} case events, {} payments, {} kept figure rows) in {load:.0} s; {instances_done} instances ({} events) in {instance_load:.0} s",
        counts.0, counts.1, counts.2, counts.4, counts.3
    );
    println!(
        "province-year (THADS-P07 and its 10 offices, 2026): {t_province:.1} ms; cases {} of {} enforceable, rate {:?}",
        r_province.cases.completed, r_province.cases.enforceable, r_province.cases.rate.map(|r| r.to_string())
    );
    println!(
        "country-year (2026): {t_country:.1} ms; {} cases, {} enforceable, {} completed; money {} of {}",
        r_country.cases.total,
        r_country.cases.enforceable,
        r_country.cases.completed,
        r_country.money.completed,
        r_country.money.enforceable
    );
    println!("country-year with each of the {} offices: {t_offices:.1} ms", PROVINCES * (REGIONS + 1) + 1);
    println!("province, 15 Nov 2025 to 20 Aug 2026 (whole months and days): {t_period:.1} ms");
    println!("country, same period: {t_period_country:.1} ms");

    if let Some((base, schema)) = schema {
        drop(db);
        let mut admin = <diesel::PgConnection as diesel::Connection>::establish(&base).unwrap();
        admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).unwrap();
    }
}
