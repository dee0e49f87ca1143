//! The statistics the agencies are judged on: the enforcement report (cases and money against
//! the targets, per reporting year) and the coordination report (who meets their deadlines).
//!
//! Who may ask: an agency for itself and the offices under it; steering committees, people's
//! committees, procuracies, justice departments, auditors and admins for any agency or the
//! whole country. Reports hold figures, never personal data.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::agencies::Tree;
use super::case_stats::{self, reporting_year, year_bounds, Sums, Totals};
use crate::domain::{local_rfc3339, now, today_local, AgencyCode, AgencyKind, Role};
use crate::engine::registry::Registry;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::cases::{self as case_store, TargetRow};
use crate::store::deadlines::{self as deadline_store, MET, MISSED, OPEN, SUSPENDED};
use crate::store::DbConn;

/// The period a report covers.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The reporting year, when the period is exactly one.
    pub year: Option<i32>,
}

impl Period {
    /// A reporting year, or `from`/`to`, or the current reporting year when none is given.
    pub fn parse(year: Option<i32>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> ApiResult<Period> {
        let bad = |field: &str, reason: &str| {
            ApiError::validation("the period is not valid", vec![FieldError::new(field, reason)])
        };
        let of_year = |y: i32| {
            if !(2000..=2100).contains(&y) {
                return Err(bad("year", "must be between 2000 and 2100"));
            }
            let (from, to) = year_bounds(y).ok_or_else(|| bad("year", "out of range"))?;
            Ok(Period { from, to, year: Some(y) })
        };
        match (year, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                Err(bad("year", "give a year or from and to, not both"))
            }
            (Some(y), None, None) => of_year(y),
            (None, Some(from), Some(to)) => {
                if from > to {
                    return Err(bad("from", "is after to"));
                }
                if from.year() < 2000 || to.year() > 2100 {
                    return Err(bad("from", "the period must lie between 2000 and 2100"));
                }
                let year = reporting_year(to);
                let exact = year_bounds(year) == Some((from, to));
                Ok(Period { from, to, year: exact.then_some(year) })
            }
            (None, Some(_), None) => Err(bad("to", "is needed with from")),
            (None, None, Some(_)) => Err(bad("from", "is needed with to")),
            (None, None, None) => of_year(reporting_year(today_local())),
        }
    }
}

/// The offices a report covers: `None` for the whole country.
pub struct Scope {
    pub root: Option<String>,
    pub agencies: Option<Vec<String>>,
}

fn supervises(tree: &Tree, actor: &Actor) -> bool {
    actor.reads_everything()
        || matches!(
            tree.kind(actor.agency.as_str()),
            Some(
                AgencyKind::SteeringCommittee
                    | AgencyKind::PeopleCommittee
                    | AgencyKind::Procuracy
                    | AgencyKind::JusticeDepartment
            )
        )
}

/// What the actor may report on: the agency asked for and those under it, or, when none is
/// asked for, their own (or the country, for those who supervise).
pub fn scope(tree: &Tree, actor: &Actor, agency: Option<&AgencyCode>) -> ApiResult<Scope> {
    let supervisor = supervises(tree, actor);
    match agency {
        Some(a)
            if tree.contains(a.as_str())
                && (supervisor || tree.is_within(a.as_str(), actor.agency.as_str())) =>
        {
            Ok(Scope { root: Some(a.to_string()), agencies: Some(tree.subtree(a.as_str())) })
        }
        Some(a) => Err(ApiError::not_found(format!("no agency {a} you may report on"))),
        None if supervisor => Ok(Scope { root: None, agencies: None }),
        None => Ok(Scope {
            root: Some(actor.agency.to_string()),
            agencies: Some(tree.subtree(actor.agency.as_str())),
        }),
    }
}

/// A percentage of `part` in `whole`, rounded half-up to two places; none of nothing.
pub fn rate(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    Some(
        (part * Decimal::ONE_HUNDRED / whole)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
    )
}

/// A rate as the reports write it: always two decimal places ("0.00", "97.23").
pub fn percent(d: &Decimal) -> String {
    format!("{d:.2}")
}

fn rate_field<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_str(&percent(d)),
        None => s.serialize_none(),
    }
}

/// Cases (việc) of an office or a group of offices over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CaseFigures {
    /// Tổng số thụ lý: carried over and new.
    pub total: i64,
    /// Năm trước chuyển sang: received before the period, not closed before it.
    pub carried_over: i64,
    /// Thụ lý mới: received in the period.
    pub new: i64,
    /// Có điều kiện thi hành.
    pub enforceable: i64,
    /// Chưa có điều kiện thi hành.
    pub not_yet_enforceable: i64,
    pub unclassified: i64,
    /// Thi hành xong in the period.
    pub completed: i64,
    /// Đình chỉ in the period.
    pub terminated: i64,
    /// Ủy thác to another office in the period.
    pub entrusted: i64,
    /// Completed per enforceable case, in percent, rounded half-up to two places.
    #[schema(value_type = Option<String>, example = "97.23")]
    #[serde(serialize_with = "rate_field")]
    pub rate: Option<Decimal>,
    /// The target rate (chỉ tiêu) in percent, when one is set for the reporting year.
    #[schema(value_type = Option<String>)]
    pub target: Option<Decimal>,
    /// Rate minus target, in percentage points.
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "rate_field")]
    pub gap: Option<Decimal>,
}

/// Money (tiền, VND) of an office or a group of offices over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct MoneyFigures {
    #[schema(value_type = String)]
    pub total: Decimal,
    /// What was still owed at the start of the period on the cases carried over.
    #[schema(value_type = String)]
    pub carried_over: Decimal,
    #[schema(value_type = String)]
    pub new: Decimal,
    #[schema(value_type = String)]
    pub enforceable: Decimal,
    #[schema(value_type = String)]
    pub not_yet_enforceable: Decimal,
    #[schema(value_type = String)]
    pub unclassified: Decimal,
    /// Collected in the period on enforceable cases.
    #[schema(value_type = String)]
    pub completed: Decimal,
    #[schema(value_type = Option<String>, example = "37.53")]
    #[serde(serialize_with = "rate_field")]
    pub rate: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub target: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "rate_field")]
    pub gap: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfficeFigures {
    pub agency: String,
    pub parent: Option<String>,
    pub cases: CaseFigures,
    pub money: MoneyFigures,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EnforcementReport {
    /// The agency reported on (with the offices under it); absent for the whole country.
    pub agency: Option<String>,
    pub year: Option<i32>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cases: CaseFigures,
    pub money: MoneyFigures,
    /// Each office of the scope on its own, when asked for with `offices=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offices: Option<Vec<OfficeFigures>>,
    pub generated_at: String,
}

#[derive(Debug, Default)]
struct Pair {
    before: Sums,
    through: Sums,
}

/// The figures of one group of (office, classification) sums.
fn figures(pairs: &BTreeMap<String, Pair>) -> (CaseFigures, MoneyFigures) {
    let mut c = CaseFigures::default();
    let mut m = MoneyFigures::default();
    for (class, p) in pairs {
        let (b, u) = (&p.before, &p.through);
        let carried = b.received_cases - b.closed_cases;
        let new = u.received_cases - b.received_cases;
        let carried_money = b.received_due - b.collected - b.closed_remaining;
        let new_money = u.received_due - b.received_due;
        c.carried_over += carried;
        c.new += new;
        c.completed += u.completed_cases - b.completed_cases;
        c.terminated += u.terminated_cases - b.terminated_cases;
        c.entrusted += u.entrusted_cases - b.entrusted_cases;
        m.carried_over += carried_money;
        m.new += new_money;
        let (cases, money) = (carried + new, carried_money + new_money);
        match class.as_str() {
            "enforceable" => {
                c.enforceable += cases;
                m.enforceable += money;
                m.completed += u.collected - b.collected;
            }
            "not_yet_enforceable" => {
                c.not_yet_enforceable += cases;
                m.not_yet_enforceable += money;
            }
            _ => {
                c.unclassified += cases;
                m.unclassified += money;
            }
        }
    }
    c.total = c.carried_over + c.new;
    m.total = m.carried_over + m.new;
    c.rate = rate(Decimal::from(c.completed), Decimal::from(c.enforceable));
    m.rate = rate(m.completed, m.enforceable);
    for v in [
        &mut m.total,
        &mut m.carried_over,
        &mut m.new,
        &mut m.enforceable,
        &mut m.not_yet_enforceable,
        &mut m.unclassified,
        &mut m.completed,
    ] {
        *v = v.normalize();
    }
    (c, m)
}

fn with_target(c: &mut CaseFigures, m: &mut MoneyFigures, target: Option<&TargetRow>) -> ApiResult<()> {
    if let Some(t) = target {
        let cases: Decimal = t.cases_rate.parse().map_err(ApiError::internal)?;
        let money: Decimal = t.money_rate.parse().map_err(ApiError::internal)?;
        c.target = Some(cases);
        m.target = Some(money);
        c.gap = c.rate.map(|r| r - cases);
        m.gap = m.rate.map(|r| r - money);
    }
    Ok(())
}

/// The enforcement report: cases and money, carried over and new, enforceable or not yet,
/// completed, the rates and the targets.
pub fn enforcement(
    conn: &mut DbConn,
    actor: &Actor,
    agency: Option<AgencyCode>,
    period: Period,
    offices: bool,
) -> ApiResult<EnforcementReport> {
    crate::store::read_snapshot(conn, |conn| enforcement_in(conn, actor, agency, period, offices))
}

fn enforcement_in(
    conn: &mut DbConn,
    actor: &Actor,
    agency: Option<AgencyCode>,
    period: Period,
    offices: bool,
) -> ApiResult<EnforcementReport> {
    let tree = Tree::load(conn)?;
    let scope = scope(&tree, actor, agency.as_ref())?;
    let agencies = scope.agencies.as_deref();
    let before: Totals = case_stats::before(conn, agencies, period.from)?;
    let through: Totals = case_stats::before(conn, agencies, period.to.succ_opt().unwrap_or(period.to))?;
    // office -> classification -> sums before and through the period
    let mut by_office: BTreeMap<String, BTreeMap<String, Pair>> = BTreeMap::new();
    for ((office, class), sums) in before {
        by_office.entry(office).or_default().entry(class).or_default().before = sums;
    }
    for ((office, class), sums) in through {
        by_office.entry(office).or_default().entry(class).or_default().through = sums;
    }
    let mut all: BTreeMap<String, Pair> = BTreeMap::new();
    for classes in by_office.values() {
        for (class, p) in classes {
            let e = all.entry(class.clone()).or_default();
            e.before.add(&p.before, 1);
            e.through.add(&p.through, 1);
        }
    }
    let (mut cases, mut money) = figures(&all);
    let targets: BTreeMap<String, TargetRow> = match period.year {
        Some(year) => {
            let codes: Vec<String> = match &scope.agencies {
                Some(a) => a.clone(),
                None => by_office.keys().cloned().collect(),
            };
            case_store::targets_of(conn, &codes, year)?
                .into_iter()
                .map(|t| (t.agency_code.clone(), t))
                .collect()
        }
        None => BTreeMap::new(),
    };
    if let Some(root) = &scope.root {
        with_target(&mut cases, &mut money, targets.get(root))?;
    }
    let offices = if offices {
        let codes: Vec<String> = match &scope.agencies {
            Some(a) => a.clone(),
            None => tree.all(),
        };
        let mut out = Vec::new();
        for code in codes {
            let is_office =
                matches!(tree.kind(&code), Some(AgencyKind::Enforcement | AgencyKind::PrivateEnforcement));
            if !is_office && !by_office.contains_key(&code) {
                continue;
            }
            let empty = BTreeMap::new();
            let (mut c, mut m) = figures(by_office.get(&code).unwrap_or(&empty));
            with_target(&mut c, &mut m, targets.get(&code))?;
            out.push(OfficeFigures {
                parent: tree.parent(&code).map(str::to_owned),
                agency: code,
                cases: c,
                money: m,
            });
        }
        Some(out)
    } else {
        None
    };
    Ok(EnforcementReport {
        agency: scope.root,
        year: period.year,
        from: period.from,
        to: period.to,
        cases,
        money,
        offices,
        generated_at: local_rfc3339(now().timestamp_micros()),
    })
}

/// A percentage column of the CSV: a rate or gap with its two places, a target as set, or
/// blank when there is none.
fn column(v: Option<Decimal>, two_places: bool) -> String {
    match v {
        Some(d) if two_places => percent(&d),
        Some(d) => d.to_string(),
        None => String::new(),
    }
}

/// The report as CSV: the whole scope first, then each office when they were asked for.
pub fn enforcement_csv(report: &EnforcementReport) -> ApiResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "agency",
        "parent",
        "from",
        "to",
        "cases_total",
        "cases_carried_over",
        "cases_new",
        "cases_enforceable",
        "cases_not_yet_enforceable",
        "cases_unclassified",
        "cases_completed",
        "cases_terminated",
        "cases_entrusted",
        "cases_rate",
        "cases_target",
        "cases_gap",
        "money_total",
        "money_carried_over",
        "money_new",
        "money_enforceable",
        "money_not_yet_enforceable",
        "money_unclassified",
        "money_completed",
        "money_rate",
        "money_target",
        "money_gap",
    ];
    w.write_record(header).map_err(ApiError::internal)?;
    let mut row = |agency: &str, parent: &str, c: &CaseFigures, m: &MoneyFigures| {
        w.write_record([
            agency.to_owned(),
            parent.to_owned(),
            report.from.to_string(),
            report.to.to_string(),
            c.total.to_string(),
            c.carried_over.to_string(),
            c.new.to_string(),
            c.enforceable.to_string(),
            c.not_yet_enforceable.to_string(),
            c.unclassified.to_string(),
            c.completed.to_string(),
            c.terminated.to_string(),
            c.entrusted.to_string(),
            column(c.rate, true),
            column(c.target, false),
            column(c.gap, true),
            m.total.to_string(),
            m.carried_over.to_string(),
            m.new.to_string(),
            m.enforceable.to_string(),
            m.not_yet_enforceable.to_string(),
            m.unclassified.to_string(),
            m.completed.to_string(),
            column(m.rate, true),
            column(m.target, false),
            column(m.gap, true),
        ])
    };
    row(report.agency.as_deref().unwrap_or("*"), "", &report.cases, &report.money)
        .map_err(ApiError::internal)?;
    for o in report.offices.iter().flatten() {
        row(&o.agency, o.parent.as_deref().unwrap_or(""), &o.cases, &o.money).map_err(ApiError::internal)?;
    }
    let bytes = w.into_inner().map_err(ApiError::internal)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

/// One kind of deadline-bearing step, for one responsible agency.
/// The coordination report as CSV: a row per step and responsible agency, then a row per
/// procuracy instrument.
pub fn coordination_csv(report: &CoordinationReport) -> ApiResult<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let (from, to) = (report.from.to_string(), report.to.to_string());
    let optional = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    w.write_record([
        "kind",
        "from",
        "to",
        "workflow",
        "deadline_or_instrument",
        "responsible_agency",
        "on_time",
        "late",
        "open_now",
        "overdue_now",
        "median_seconds",
        "p90_seconds",
    ])
    .map_err(ApiError::internal)?;
    for s in &report.steps {
        w.write_record([
            "step".into(),
            from.clone(),
            to.clone(),
            s.workflow.clone(),
            s.deadline.clone(),
            s.responsible_agency.clone(),
            s.on_time.to_string(),
            s.late.to_string(),
            s.open_now.to_string(),
            s.overdue_now.to_string(),
            optional(s.median_seconds),
            optional(s.p90_seconds),
        ])
        .map_err(ApiError::internal)?;
    }
    for i in &report.procuracy_instruments {
        w.write_record([
            "instrument".into(),
            from.clone(),
            to.clone(),
            i.workflow.clone(),
            i.instrument.clone(),
            String::new(),
            i.answered_on_time.to_string(),
            i.answered_late.to_string(),
            i.unanswered.to_string(),
            i.unanswered_overdue.to_string(),
            String::new(),
            String::new(),
        ])
        .map_err(ApiError::internal)?;
    }
    let bytes = w.into_inner().map_err(ApiError::internal)?;
    String::from_utf8(bytes).map_err(ApiError::internal)
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StepFigures {
    pub workflow: String,
    /// The deadline's name in its definition.
    pub deadline: String,
    pub responsible_agency: String,
    /// Completed in the period before the deadline.
    pub on_time: i64,
    /// Completed in the period after the deadline.
    pub late: i64,
    /// Running now (suspended ones included).
    pub open_now: i64,
    /// Running now and past due.
    pub overdue_now: i64,
    /// The median and 90th percentile (nearest rank) of the time from the clock's start to
    /// the step, over those completed in the period, in seconds.
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

/// The procuracy's instruments (yêu cầu, kiến nghị, kháng nghị) and the replies to them.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct InstrumentFigures {
    /// The workflow whose instances the instruments are (for the CSV).
    #[serde(skip)]
    pub workflow: String,
    /// request, recommendation or protest.
    pub instrument: String,
    /// Issued in the period.
    pub issued: i64,
    /// Of those issued in the period: answered before the reply was due, after, or not yet.
    pub answered_on_time: i64,
    pub answered_late: i64,
    pub unanswered: i64,
    /// Not yet answered and past due.
    pub unanswered_overdue: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoordinationReport {
    pub agency: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub steps: Vec<StepFigures>,
    pub procuracy_instruments: Vec<InstrumentFigures>,
    pub generated_at: String,
}

fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Who meets their deadlines: per workflow, deadline and responsible agency, over the
/// instances the scope's agencies take part in.
pub fn coordination(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    agency: Option<AgencyCode>,
    period: Period,
) -> ApiResult<CoordinationReport> {
    let tree = Tree::load(conn)?;
    let scope = scope(&tree, actor, agency.as_ref())?;
    let start = |d: NaiveDate| crate::engine::calendar::start_of(d).timestamp_micros();
    let (from, until) = (start(period.from), start(period.to.succ_opt().unwrap_or(period.to)));
    let at = now().timestamp_micros();
    let facts = deadline_store::facts(conn, scope.agencies.as_deref(), from, until)?;
    let mut steps: BTreeMap<(String, String, String), (StepFigures, Vec<i64>)> = BTreeMap::new();
    let mut instruments: BTreeMap<(String, String), InstrumentFigures> = BTreeMap::new();
    // The deadlines that are replies to the procuracy's instruments, by workflow and name, as
    // the definitions declare them (`reply_to`).
    let replies: BTreeMap<(&str, &str), &str> = registry
        .all()
        .flat_map(|def| {
            def.deadlines
                .iter()
                .filter_map(|d| Some(((def.id.as_str(), d.name.as_str()), d.reply_to.as_deref()?)))
        })
        .collect();
    for f in &facts {
        let key = (f.workflow_id.clone(), f.name.clone(), f.responsible_agency.clone());
        let (s, durations) = steps.entry(key).or_insert_with(|| {
            (
                StepFigures {
                    workflow: f.workflow_id.clone(),
                    deadline: f.name.clone(),
                    responsible_agency: f.responsible_agency.clone(),
                    ..StepFigures::default()
                },
                Vec::new(),
            )
        });
        let running = f.status == OPEN || f.status == SUSPENDED;
        let closed_in = f.closed_at.is_some_and(|c| c >= from && c < until);
        if running {
            s.open_now += 1;
            if f.status == OPEN && f.due_at < at {
                s.overdue_now += 1;
            }
        } else if closed_in {
            match f.status.as_str() {
                MET => s.on_time += 1,
                MISSED => s.late += 1,
                _ => {}
            }
            if let Some(c) = f.closed_at {
                durations.push((c - f.starts_at).max(0) / 1_000_000);
            }
        }
        if f.opened_at >= from && f.opened_at < until {
            if let Some(&kind) = replies.get(&(f.workflow_id.as_str(), f.name.as_str())) {
                let key = (f.workflow_id.clone(), kind.to_owned());
                let i = instruments.entry(key).or_insert_with(|| InstrumentFigures {
                    workflow: f.workflow_id.clone(),
                    instrument: kind.to_owned(),
                    ..Default::default()
                });
                i.issued += 1;
                match f.status.as_str() {
                    MET => i.answered_on_time += 1,
                    MISSED => i.answered_late += 1,
                    _ => {
                        i.unanswered += 1;
                        if f.due_at < at {
                            i.unanswered_overdue += 1;
                        }
                    }
                }
            }
        }
    }
    let steps = steps
        .into_values()
        .filter(|(s, _)| s.on_time + s.late + s.open_now > 0)
        .map(|(mut s, mut durations)| {
            durations.sort_unstable();
            s.median_seconds = nearest_rank(&durations, 50);
            s.p90_seconds = nearest_rank(&durations, 90);
            s
        })
        .collect();
    Ok(CoordinationReport {
        agency: scope.root,
        from: period.from,
        to: period.to,
        steps,
        procuracy_instruments: instruments.into_values().collect(),
        generated_at: local_rfc3339(at),
    })
}

/// Sets the targets of an office for a reporting year: an admin, or a head of that office or
/// of an office above it.
pub fn set_target(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyCode,
    year: i32,
    cases_rate: Decimal,
    money_rate: Decimal,
) -> ApiResult<TargetRow> {
    let tree = Tree::load(conn)?;
    let office = agency.as_str();
    let allowed = actor.has_role(Role::Admin)
        || (actor.has_role(Role::EnforcementHead) && tree.is_within(office, actor.agency.as_str()));
    if !tree.contains(office)
        || !(allowed || supervises(&tree, actor) || tree.is_within(office, actor.agency.as_str()))
    {
        return Err(ApiError::not_found(format!("no agency {office} you may set targets for")));
    }
    if !allowed {
        return Err(ApiError::forbidden(
            "only an admin or a head of the office or one above it sets its targets",
        ));
    }
    if !matches!(tree.kind(office), Some(AgencyKind::Enforcement | AgencyKind::PrivateEnforcement)) {
        return Err(ApiError::validation(
            "targets are set for enforcement offices",
            vec![FieldError::new("agency", "is not an enforcement office")],
        ));
    }
    let mut errors = Vec::new();
    if !(2000..=2100).contains(&year) {
        errors.push(FieldError::new("year", "must be between 2000 and 2100"));
    }
    for (field, v) in [("cases_rate", cases_rate), ("money_rate", money_rate)] {
        if v.is_sign_negative() || v > Decimal::ONE_HUNDRED || v.scale() > 2 {
            errors
                .push(FieldError::new(field, "must be a percentage from 0 to 100 with at most two decimals"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("the targets are not valid", errors));
    }
    let row = TargetRow {
        agency_code: office.to_owned(),
        year,
        cases_rate: cases_rate.normalize().to_string(),
        money_rate: money_rate.normalize().to_string(),
        set_by: format!("{}/{}", actor.agency, actor.sub),
        set_at: now().timestamp_micros(),
    };
    crate::store::write_transaction(conn, |conn| case_store::upsert_target(conn, &row))?;
    Ok(row)
}

/// The target of an office for a year, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Target {
    #[schema(value_type = String)]
    pub agency: String,
    pub year: i32,
    /// Target completion rate for cases, in percent.
    #[schema(value_type = String, example = "84")]
    pub cases_rate: Decimal,
    /// Target completion rate for money, in percent.
    #[schema(value_type = String, example = "45")]
    pub money_rate: Decimal,
    pub set_by: String,
    pub set_at: String,
}

impl Target {
    pub fn of(row: TargetRow) -> ApiResult<Target> {
        Ok(Target {
            cases_rate: row.cases_rate.parse().map_err(ApiError::internal)?,
            money_rate: row.money_rate.parse().map_err(ApiError::internal)?,
            agency: row.agency_code,
            year: row.year,
            set_by: row.set_by,
            set_at: local_rfc3339(row.set_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(rate(d("22041"), d("22669")), Some(d("97.23")));
        assert_eq!(rate(d("385296980000"), d("1026755382000")), Some(d("37.53")));
        assert_eq!(rate(d("1"), d("8")).map(|r| percent(&r)), Some("12.50".to_owned()));
        // 0.125% -> 0.13 (half-up), not 0.12 (half-even)
        assert_eq!(rate(d("1"), d("800")), Some(d("0.13")));
        assert_eq!(rate(d("1"), d("0")), None);
        assert_eq!(rate(d("0"), d("628")).map(|r| percent(&r)), Some("0.00".to_owned()));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&v, 90), Some(9));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }
}
