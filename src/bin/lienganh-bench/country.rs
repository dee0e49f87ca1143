//! A country of instances, written straight into the database: the agencies of 63 provinces,
//! and instances of every workflow walked through their definitions' own transitions, each
//! with its hash-chained events (sealed as the service seals them, so every history verifies),
//! its deadlines opened and closed as its states were entered and left, the reminders of the
//! deadlines still open, and a notification of each step; and as many cases, their parties'
//! Vietnamese names drawn as the country's names are spread, each with the words search finds
//! it by, as the instances have theirs. Big provinces get more than small ones, as in the
//! country. (The cases have no history of their own here: search does not read it.)

use std::collections::BTreeMap;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lienganh::domain::AgencyKind;
use lienganh::engine::definition::{DeadlineUnit, Definition};
use lienganh::engine::history::{EventBody, GENESIS};
use lienganh::engine::registry::Registry;
use lienganh::engine::search::party_word;
use lienganh::store::agencies::{self as agency_store, AgencyRow};
use lienganh::store::cases::CaseRow;
use lienganh::store::deadlines::{DeadlineRow, MET, OPEN};
use lienganh::store::events::EventRow;
use lienganh::store::instances::InstanceRow;
use lienganh::store::notifications::NotificationRow;
use lienganh::store::reminders::{ReminderRow, PENDING};
use lienganh::store::schema::{
    cases, deadlines, events, instance_agencies, instances, notifications, reminders, search_terms,
};
use lienganh::store::search::Terms;
use lienganh::store::{Db, DbConn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::{NoContext, Timestamp, Uuid};

/// The provinces and centrally run cities since 1 July 2025 are 34; the data of the years
/// before counts 63, and the larger count spreads the load more thinly, so it is the harder one.
pub const PROVINCES: usize = 63;
/// Regional enforcement offices under each provincial office.
const REGIONAL_OFFICES: usize = 5;
/// Instances written in one transaction.
const CHUNK: usize = 2_000;
/// Rows in one INSERT.
const ROWS: usize = 500;
/// The workflows instances are drawn from, by weight.
const MIX: &[(&str, u32)] = &[
    ("court_transfer", 35),
    ("condition_verification", 25),
    ("procuracy_supervision", 10),
    ("evidence_handover", 10),
    ("coercion_plan", 8),
    ("court_explanation", 5),
    ("exemption_reduction", 4),
    ("entrustment", 3),
];

/// The code of a province's agency of a kind.
pub fn agency(kind: AgencyKind, province: usize) -> String {
    let prefix = match kind {
        AgencyKind::Enforcement => "THADS",
        AgencyKind::Court => "TAND",
        AgencyKind::Police => "CA",
        AgencyKind::Procuracy => "VKS",
        AgencyKind::SteeringCommittee => "BCD",
        AgencyKind::PeopleCommittee => "UBND",
        AgencyKind::JusticeDepartment => "STP",
        AgencyKind::PrivateEnforcement => "VPTHA",
        AgencyKind::AuctionOrganisation => "DGTS",
        AgencyKind::ValuationOrganisation => "TDG",
        AgencyKind::LandRegistry => "VPDKDD",
        AgencyKind::CreditInstitution => "NH",
    };
    format!("{prefix}-P{province:02}")
}

/// A regional enforcement office of a province.
pub fn regional(province: usize, office: usize) -> String {
    format!("THADS-P{province:02}-K{office}")
}

/// What the generator made, and what the reads are drawn from.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Country {
    /// The database it is in.
    pub url: String,
    pub instances: u64,
    pub events: u64,
    pub deadlines: u64,
    pub notifications: u64,
    pub open: u64,
    pub seconds: f64,
    /// Some instances, each with an agency that is party to it.
    pub sample: Vec<(String, String)>,
    /// Every agency, with the instances it is party to.
    pub agencies: Vec<(String, u64)>,
    /// The cases, one for each instance.
    #[serde(default)]
    pub cases: u64,
    /// Some numbers an instance is found by, as written, each with an agency party to it.
    #[serde(default)]
    pub numbers: Vec<(String, String)>,
    /// Some parties of cases: the name, the ID number, and the office holding the case.
    #[serde(default)]
    pub people: Vec<(String, String, String)>,
}

#[derive(Insertable)]
#[diesel(table_name = instance_agencies)]
struct Access {
    agency_code: String,
    instance_id: String,
    open: bool,
}

/// The rows of one chunk of instances.
#[derive(Default)]
struct Rows {
    instances: Vec<InstanceRow>,
    access: Vec<Access>,
    events: Vec<EventRow>,
    deadlines: Vec<DeadlineRow>,
    reminders: Vec<ReminderRow>,
    notifications: Vec<NotificationRow>,
    cases: Vec<CaseRow>,
    search: Vec<Terms>,
}

/// Writes the agencies and `count` instances into the database at `url`; about ten events each.
pub fn generate(url: &str, registry: &Registry, count: u64) -> Result<Country, String> {
    let db = Db::connect(url, 1)?;
    db.migrate()?;
    let mix: Vec<(Definition, u32)> = MIX
        .iter()
        .map(|(id, weight)| {
            let latest = registry.versions(id).and_then(|v| v.last()).ok_or(format!("no workflow {id}"))?;
            Ok((latest.as_ref().clone(), *weight))
        })
        .collect::<Result<_, String>>()?;
    let url = url.to_owned();
    // On the writer's connection, outside its groups: the load takes its own transactions.
    db.write_alone(move |conn| fill(conn, &url, &mix, count).map_err(Failed)).map_err(|e| e.0)
}

/// A load that could not be done, and why.
struct Failed(String);

impl From<lienganh::store::WriteError> for Failed {
    fn from(e: lienganh::store::WriteError) -> Self {
        Failed(e.to_string())
    }
}

fn fill(conn: &mut DbConn, url: &str, mix: &[(Definition, u32)], count: u64) -> Result<Country, String> {
    let started = Instant::now();
    if let DbConn::Sqlite(c) = &mut *conn {
        // This connection only loads a bench database; the server opens its own, synced.
        c.batch_execute("PRAGMA synchronous = OFF").map_err(|e| e.to_string())?;
    }
    let mut access_counts: BTreeMap<String, u64> = BTreeMap::new();
    for code in write_agencies(conn)? {
        access_counts.insert(code, 0);
    }
    let mix: Vec<(&Definition, u32)> = mix.iter().map(|(def, weight)| (def, *weight)).collect();
    let weights: Vec<f64> = (1..=PROVINCES).map(|p| 1.0 / (p as f64).powf(0.8)).collect();
    let mut rng = StdRng::seed_from_u64(2026);
    let mut country = Country {
        url: String::new(),
        instances: 0,
        events: 0,
        deadlines: 0,
        notifications: 0,
        open: 0,
        seconds: 0.0,
        sample: Vec::new(),
        agencies: Vec::new(),
        cases: 0,
        numbers: Vec::new(),
        people: Vec::new(),
    };
    // Three years of instances, in the order they were started, so that ids and times agree.
    let first = chrono::Utc::now().timestamp_micros() - 3 * 365 * 86_400 * 1_000_000;
    let spacing = (3 * 365 * 86_400 * 1_000_000) / count.max(1) as i64;
    let mut n = 0u64;
    let mut writing = 0.0;
    while n < count {
        let mut rows = Rows::default();
        for _ in 0..CHUNK.min((count - n) as usize) {
            let at = first + n as i64 * spacing;
            let def = pick_weighted(&mut rng, &mix);
            let province = pick_province(&mut rng, &weights);
            let made = walk(&mut rng, def, province, at, &mut rows)?;
            for code in &made.parties {
                *access_counts.entry(code.clone()).or_default() += 1;
            }
            if n.is_multiple_of(97) {
                country.sample.push((made.id.clone(), made.parties[0].clone()));
                if let Some(number) = made.number.clone() {
                    country.numbers.push((number, made.parties[0].clone()));
                }
            }
            let person = case(&mut rng, province, at, n, &mut rows)?;
            if n.is_multiple_of(97) {
                country.people.push(person);
            }
            country.cases += 1;
            country.events += made.events;
            country.open += u64::from(made.open);
            n += 1;
        }
        country.deadlines += rows.deadlines.len() as u64;
        country.notifications += rows.notifications.len() as u64;
        let w = Instant::now();
        write(conn, &rows)?;
        writing += w.elapsed().as_secs_f64();
        if n % 100_000 < CHUNK as u64 {
            eprintln!(
                "  {n} instances, {} events, {:.0} s ({writing:.0} s writing)",
                country.events,
                started.elapsed().as_secs_f64()
            );
        }
    }
    // Written here as the service writes them: the search terms and the deadlines' titles are
    // in place, so the tasks the migrations left for the service's start are done.
    diesel::delete(lienganh::store::schema::pending_tasks::table).execute(conn).map_err(|e| e.to_string())?;
    match &mut *conn {
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"),
        // As after any bulk load: autovacuum would gather the statistics in time, and until it
        // does the planner guesses thousands of rows where there are two.
        DbConn::Pg(c) => c.batch_execute("ANALYZE"),
    }
    .map_err(|e| e.to_string())?;
    country.url = url.to_owned();
    country.instances = n;
    country.seconds = started.elapsed().as_secs_f64();
    country.agencies = access_counts.into_iter().collect();
    Ok(country)
}

fn write_agencies(conn: &mut DbConn) -> Result<Vec<String>, String> {
    let mut codes = Vec::new();
    let mut add = |conn: &mut DbConn, code: String, kind: AgencyKind, parent: Option<String>| {
        let row = AgencyRow {
            name: format!("{} {code}", kind.as_str()),
            code: code.clone(),
            kind: kind.as_str().to_owned(),
            parent_code: parent,
            created_at: 0,
        };
        codes.push(code);
        agency_store::insert(conn, &row).map_err(|e| e.to_string())
    };
    for p in 1..=PROVINCES {
        for kind in AgencyKind::ALL {
            add(conn, agency(kind, p), kind, None)?;
        }
        for k in 1..=REGIONAL_OFFICES {
            add(conn, regional(p, k), AgencyKind::Enforcement, Some(agency(AgencyKind::Enforcement, p)))?;
        }
    }
    Ok(codes)
}

fn pick_weighted<'a>(rng: &mut StdRng, mix: &[(&'a Definition, u32)]) -> &'a Definition {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (def, w) in mix {
        if x < *w {
            return def;
        }
        x -= w;
    }
    mix[0].0
}

fn pick_province(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i + 1;
        }
        x -= w;
    }
    1
}

/// One instance as written.
struct Made {
    id: String,
    /// Its agencies, the acting one of its first step first.
    parties: Vec<String>,
    events: u64,
    open: bool,
    /// A number it is found by, as written.
    number: Option<String>,
}

/// An instance walked from its initial state through transitions its definition allows, for
/// 4 to 24 steps, ending in a terminal state where its last step can.
fn walk(
    rng: &mut StdRng,
    def: &Definition,
    province: usize,
    at: i64,
    rows: &mut Rows,
) -> Result<Made, String> {
    let id = Uuid::new_v7(Timestamp::from_unix(
        NoContext,
        (at / 1_000_000) as u64,
        ((at % 1_000_000) * 1000) as u32,
    ))
    .to_string();
    let office = rng.random_range(0..=REGIONAL_OFFICES);
    let parties: BTreeMap<String, String> = def
        .parties
        .iter()
        .filter(|p| p.required || rng.random_bool(0.5))
        .map(|p| {
            // Most enforcement work is done by the regional offices.
            let code = if p.kind == AgencyKind::Enforcement && office > 0 {
                regional(province, office)
            } else {
                agency(p.kind, province)
            };
            (p.slot.clone(), code)
        })
        .collect();
    let mut data = json!({
        "content": "Thi hành bản án dân sự phúc thẩm về tranh chấp hợp đồng vay tài sản",
    });
    // The numbers it is found by, written as the agencies write theirs.
    for field in def.searchable_fields() {
        let kind = SUFFIXES[rng.random_range(0..SUFFIXES.len())];
        data[field] = json!(format!("{}/{}/{kind}", rng.random_range(1..=9_999), 2024 + at % 3));
    }
    let number = def.searchable_fields().next().and_then(|f| data[f].as_str()).map(str::to_owned);
    let mut row = InstanceRow {
        id: id.clone(),
        workflow_id: def.id.clone(),
        workflow_version: def.version as i32,
        state: def.initial_state.clone(),
        version: 0,
        parties: serde_json::to_string(&parties).map_err(|e| e.to_string())?,
        data: data.to_string(),
        case_id: None,
        reference_date: def.valid_from.to_string(),
        created_at: at,
        updated_at: at,
        last_hash: String::new(),
        pending: "{}".into(),
        started_by_instance: None,
        started_by_seq: None,
        closed_at: None,
    };
    let identity = lienganh::service::instances::identity(&row, |s| def.bound_by_step(s), def.version)
        .map_err(|e| e.detail)?;
    let steps = rng.random_range(4..=24);
    let mut prev = GENESIS.to_owned();
    let mut state: Option<String> = None;
    let mut time = at;
    let mut seq = 0i64;
    let mut open_deadlines: Vec<usize> = Vec::new();
    let mut first_actor = None;
    loop {
        let (transition, to, slot, role) = match &state {
            None => {
                let role = def.create.roles.first().ok_or(format!("{} has no creating role", def.id))?;
                ("create".to_owned(), def.initial_state.clone(), def.create.party.clone(), *role)
            }
            Some(current) => {
                let options: Vec<_> = def
                    .transitions
                    .iter()
                    .filter(|t| t.from.iter().any(|f| f == current))
                    .filter(|t| !t.roles.is_empty() && t.slots().iter().all(|s| parties.contains_key(s)))
                    .collect();
                if options.is_empty() || seq >= steps {
                    break;
                }
                // Until its length is reached, an instance goes on where it can.
                let going_on: Vec<_> = options.iter().copied().filter(|t| !def.is_terminal(&t.to)).collect();
                let options = if going_on.is_empty() || seq + 1 >= steps { options } else { going_on };
                let t = options[rng.random_range(0..options.len())];
                let Some(slot) = t.slots().first() else { break };
                (t.name.clone(), t.to.clone(), slot.clone(), t.roles[0])
            }
        };
        seq += 1;
        time += rng.random_range(1..=10) * 86_400 * 1_000_000 / 4;
        let Some(actor) = parties.get(&slot).cloned() else { break };
        first_actor.get_or_insert_with(|| actor.clone());
        let sub = format!("can-bo-{}", actor.to_lowercase());
        let event_data = if seq == 1 { data.clone() } else { json!({}) };
        let body = EventBody {
            instance_id: &id,
            seq,
            occurred_at: time,
            actor_sub: &sub,
            actor_name: "Nguyễn Văn An",
            actor_agency: &actor,
            actor_role: role.as_str(),
            transition: &transition,
            from_state: state.as_deref(),
            to_state: &to,
            data: &event_data,
            comment: None,
            prev_hash: &prev,
            instance: (seq == 1).then_some(&identity),
        };
        let hash = body.hash();
        rows.events.push(EventRow {
            instance_id: id.clone(),
            seq,
            occurred_at: time,
            actor_sub: sub,
            actor_name: "Nguyễn Văn An".into(),
            actor_agency: actor.clone(),
            actor_role: role.as_str().to_owned(),
            transition: transition.clone(),
            from_state: state.clone(),
            to_state: to.clone(),
            data: event_data.to_string(),
            comment: None,
            prev_hash: prev.clone(),
            hash: hash.clone(),
        });
        // A deadline runs while the instance is in one of its states: met when it leaves them.
        open_deadlines.retain(|&i| {
            let d = &mut rows.deadlines[i];
            let runs_on = def.deadlines.iter().any(|x| x.name == d.name && x.states.contains(&to));
            if !runs_on {
                d.status = MET.to_owned();
                d.closed_seq = Some(seq);
                d.closed_at = Some(time);
            }
            runs_on
        });
        for d in def.deadlines.iter().filter(|d| d.states.contains(&to)) {
            if open_deadlines.iter().any(|&i| rows.deadlines[i].name == d.name) {
                continue;
            }
            let Some(responsible) = parties.get(&d.responsible) else { continue };
            open_deadlines.push(rows.deadlines.len());
            rows.deadlines.push(deadline(def, d, &id, responsible, parties.get(&d.escalate_to), seq, time));
        }
        if let Some(other) = parties.values().find(|a| **a != actor) {
            rows.notifications.push(NotificationRow {
                id: Uuid::new_v7(Timestamp::from_unix(NoContext, (time / 1_000_000) as u64, 0)).to_string(),
                agency_code: other.clone(),
                roles: String::new(),
                kind: "step".into(),
                instance_id: Some(id.clone()),
                deadline_id: None,
                reminder_id: None,
                subject: format!("{}: {transition}", def.title_vi),
                payload: json!({"instance_id": id, "workflow": def.id, "transition": transition, "seq": seq})
                    .to_string(),
                created_at: time,
                read_at: (rng.random_range(0..10) < 7).then_some(time + 3_600_000_000),
                read_by: None,
            });
        }
        prev = hash;
        state = Some(to);
    }
    let state = state.unwrap_or_else(|| def.initial_state.clone());
    let open = !def.is_terminal(&state);
    for &i in &open_deadlines {
        let d = &rows.deadlines[i];
        for (kind, before) in [("before", Some(1)), ("due", None)] {
            rows.reminders.push(ReminderRow {
                id: Uuid::now_v7().to_string(),
                deadline_id: d.id.clone(),
                kind: kind.into(),
                working_days_before: before,
                fire_at: d.due_at - 86_400_000_000 * i64::from(before.unwrap_or(0)),
                status: PENDING.into(),
                lease_owner: None,
                lease_until: None,
                sent_at: None,
            });
        }
    }
    row.state = state;
    row.version = seq;
    row.updated_at = time;
    row.last_hash = prev;
    row.closed_at = (!open).then_some(time);
    let mut agencies: Vec<String> = parties.values().cloned().collect();
    agencies.sort();
    agencies.dedup();
    for code in &agencies {
        rows.access.push(Access { agency_code: code.clone(), instance_id: id.clone(), open });
    }
    let found_by =
        lienganh::engine::search::instance_words(def, data.as_object().unwrap_or(&Default::default()));
    if !found_by.is_empty() {
        let scope: Vec<String> = agencies.iter().map(|a| party_word(a)).collect();
        rows.search.push(Terms {
            kind: lienganh::store::search::INSTANCE.into(),
            target_id: id.clone(),
            numbers: found_by,
            names: String::new(),
            scope: scope.join(" "),
        });
    }
    rows.instances.push(row);
    if let Some(first) = first_actor {
        agencies.retain(|a| *a != first);
        agencies.insert(0, first);
    }
    Ok(Made { id, parties: agencies, events: seq as u64, open, number })
}

/// The kinds of document numbers, as they end.
const SUFFIXES: &[&str] =
    &["QĐ-CCTHADS", "DS-PT", "DS-ST", "HS-ST", "KDTM-PT", "QĐ-THADS", "KN-VKS", "BB-CA"];

/// Family names by how many people bear them (per mille, roughly as in the country).
const FAMILY: &[(&str, u32)] = &[
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 51),
    ("Phan", 45),
    ("Vũ", 39),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Võ", 40),
    ("Huỳnh", 30),
    ("Trương", 12),
    ("Đinh", 10),
    ("Lâm", 8),
    ("Mai", 7),
];
const MIDDLE: &[&str] = &[
    "Văn", "Thị", "Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Xuân", "Thu", "Hoàng", "Kim",
];
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khánh",
    "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng",
    "Trang", "Tuấn", "Vân", "Việt", "Yến", "Đức", "Hòa", "Lộc", "Phúc", "Thủy",
];

fn person(rng: &mut StdRng) -> (String, String) {
    let total: u32 = FAMILY.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    let family = FAMILY
        .iter()
        .find(|(_, w)| {
            let here = x < *w;
            x = x.saturating_sub(*w);
            here
        })
        .map_or("Nguyễn", |(name, _)| name);
    let middle = MIDDLE[rng.random_range(0..MIDDLE.len())];
    let given = GIVEN[rng.random_range(0..GIVEN.len())];
    let id_number = format!("{:03}{:09}", rng.random_range(1..=96), rng.random_range(0..1_000_000_000u32));
    (format!("{family} {middle} {given}"), id_number)
}

/// A case at one of a province's enforcement offices, with the words search finds it by;
/// returns its obligor's name, ID number, and the office.
fn case(
    rng: &mut StdRng,
    province: usize,
    at: i64,
    n: u64,
    rows: &mut Rows,
) -> Result<(String, String, String), String> {
    let office = match rng.random_range(0..=REGIONAL_OFFICES) {
        0 => agency(AgencyKind::Enforcement, province),
        k => regional(province, k),
    };
    let (obligor, obligor_id) = person(rng);
    let (obligee, obligee_id) = person(rng);
    let party =
        |name: &str, id: &str| json!({"name": name, "id_number": id, "address": "Hà Nội"}).to_string();
    let row = CaseRow {
        id: Uuid::new_v7(Timestamp::from_unix(NoContext, (at / 1_000_000) as u64, 1000)).to_string(),
        agency_code: office.clone(),
        number: format!("{office}-{}-{n:07}", 2024 + at % 3),
        judgment_ref: format!("Bản án số {}/{}/DS-PT", rng.random_range(1..=9_999), 2023 + at % 3),
        court_code: Some(agency(AgencyKind::Court, province)),
        court_name: format!("Tòa án nhân dân tỉnh P{province:02}"),
        category: "civil".into(),
        obligor: party(&obligor, &obligor_id),
        obligee: party(&obligee, &obligee_id),
        amount_due: "150000000".into(),
        collected: "0".into(),
        received_on: "2025-01-15".into(),
        classification: "enforceable".into(),
        status: "open".into(),
        closed_on: None,
        version: 1,
        created_at: at,
        updated_at: at,
        last_hash: GENESIS.into(),
    };
    rows.search.push(lienganh::service::cases::findable(&row));
    rows.cases.push(row);
    Ok((obligor, obligor_id, office))
}

fn deadline(
    def: &Definition,
    d: &lienganh::engine::definition::Deadline,
    instance: &str,
    responsible: &str,
    escalate: Option<&String>,
    seq: i64,
    at: i64,
) -> DeadlineRow {
    let days = match d.unit {
        DeadlineUnit::Hours => 1,
        DeadlineUnit::Months => i64::from(d.duration) * 30,
        _ => i64::from(d.duration),
    };
    let due_at = at + days * 86_400_000_000;
    DeadlineRow {
        id: Uuid::now_v7().to_string(),
        instance_id: instance.to_owned(),
        workflow_id: def.id.clone(),
        name: d.name.clone(),
        title: d.title_vi.clone(),
        responsible_agency: responsible.to_owned(),
        responsible_roles: String::new(),
        escalate_agency: escalate.cloned(),
        escalate_roles: String::new(),
        legal_basis: d.legal_basis.clone(),
        operational: d.operational,
        unit: "working_days".into(),
        duration: d.duration as i32,
        starts_at: at,
        due_at,
        due_date: lienganh::domain::from_micros(due_at).date_naive().to_string(),
        calendar_complete: true,
        status: OPEN.to_owned(),
        opened_seq: seq,
        opened_at: at,
        closed_seq: None,
        closed_at: None,
        suspended_at: None,
    }
}

/// Writes a chunk's rows in one transaction, many rows to an INSERT, on the backend's own
/// connection (a multi-row INSERT does not go through `MultiConnection`).
fn write(conn: &mut DbConn, rows: &Rows) -> Result<(), String> {
    macro_rules! all {
        ($c:expr) => {{
            for chunk in rows.instances.chunks(ROWS) {
                diesel::insert_into(instances::table).values(chunk).execute($c)?;
            }
            for chunk in rows.access.chunks(ROWS) {
                diesel::insert_into(instance_agencies::table).values(chunk).execute($c)?;
            }
            for chunk in rows.events.chunks(ROWS) {
                diesel::insert_into(events::table).values(chunk).execute($c)?;
            }
            for chunk in rows.deadlines.chunks(ROWS) {
                diesel::insert_into(deadlines::table).values(chunk).execute($c)?;
            }
            for chunk in rows.reminders.chunks(ROWS) {
                diesel::insert_into(reminders::table).values(chunk).execute($c)?;
            }
            for chunk in rows.notifications.chunks(ROWS) {
                diesel::insert_into(notifications::table).values(chunk).execute($c)?;
            }
            for chunk in rows.cases.chunks(ROWS / 4) {
                diesel::insert_into(cases::table).values(chunk).execute($c)?;
            }
            for chunk in rows.search.chunks(ROWS) {
                diesel::insert_into(search_terms::table).values(chunk).execute($c)?;
            }
            Ok::<(), diesel::result::Error>(())
        }};
    }
    match conn {
        DbConn::Pg(c) => c.transaction(|c| all!(c)),
        DbConn::Sqlite(c) => c.immediate_transaction(|c| all!(c)),
    }
    .map_err(|e| e.to_string())
}

/// The database's size on disk, if it is a file.
pub fn size_of(url: &str) -> Option<u64> {
    let path = url.strip_prefix("sqlite://")?;
    let main = std::fs::metadata(path).ok()?.len();
    let wal = std::fs::metadata(format!("{path}-wal")).map(|m| m.len()).unwrap_or(0);
    Some(main + wal)
}

/// The country an earlier run kept (`--reuse FILE`), or a new one generated into a new
/// database (kept with its description under `--keep`); the folder that holds it; and the
/// database, dropped with the returned value unless kept.
pub fn kept_or_new(
    args: &crate::Args,
) -> Result<(Country, std::path::PathBuf, Option<crate::server::Database>), String> {
    if let Some(file) = &args.reuse {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let country: Country = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let dir = file.parent().map_or_else(|| ".".into(), std::path::Path::to_path_buf);
        return Ok((country, dir, None));
    }
    let database = crate::server::Database::create(args)?;
    let workflows = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let registry =
        Registry::load_dir(&workflows).map_err(|errors| format!("{} bad definitions", errors.len()))?;
    eprintln!("generating {} instances and as many cases...", args.instances);
    let country = generate(&database.url, &registry, args.instances)?;
    if args.keep {
        let file = database.dir.join("country.json");
        let text = serde_json::to_string(&country).map_err(|e| e.to_string())?;
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
        println!("kept: {} (run again with --reuse {})", database.url, file.display());
    }
    let dir = database.dir.clone();
    Ok((country, dir, Some(database)))
}
