//! The statistics the agencies are judged on: the enforcement report (cases and money against
//! the targets, per reporting year) and the coordination report (who meets their deadlines).
//!
//! Who may ask: an agency for itself and the offices under it; steering committees, people's
//! committees, procuracies, justice departments, auditors and admins for any agency or the
//! whole country. Reports hold figures, never personal data.

mod coordination;
mod export;
mod published;
mod table;
mod targets;
mod xlsx;

pub use coordination::{coordination, CoordinationReport, InstrumentFigures, StepFigures};
pub use export::BOM;
pub use published::{publish, ChangedCase, Publication, Publisher, RecordsToday};
pub use table::{coordination_table, enforcement_table, Cell, Table};
pub use targets::{set_target, Target};

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::agencies::Tree;
use super::case_stats::{self, reporting_year, year_bounds, Sums, Totals};
use crate::domain::{local_rfc3339, now, today_local, AgencyCode, AgencyKind};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::cases::{self as case_store, TargetRow};
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

/// How a terminated case (đình chỉ) counts in the completion rate: in its denominator only,
/// as today, or as resolved, with the completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TerminatedCount {
    #[default]
    Denominator,
    Resolved,
}

/// How a case entrusted to another office (ủy thác) counts in the completion rate: kept in its
/// denominator, as today, or left out of it (the receiving office counts it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntrustedCount {
    #[default]
    Denominator,
    Excluded,
}

/// How the completion rate of cases counts terminated and entrusted cases: a setting, for the
/// statistics circular's text was not at hand (see the README).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counting {
    pub terminated: TerminatedCount,
    pub entrusted: EntrustedCount,
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

/// Reads a rate as [`rate_field`] writes it.
fn rate_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
}

fn rate_field<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_str(&percent(d)),
        None => s.serialize_none(),
    }
}

/// Cases (việc) of an office or a group of offices over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
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
    #[serde(serialize_with = "rate_field", deserialize_with = "rate_of")]
    pub rate: Option<Decimal>,
    /// The target rate (chỉ tiêu) in percent, when one is set for the reporting year.
    #[schema(value_type = Option<String>)]
    pub target: Option<Decimal>,
    /// Rate minus target, in percentage points.
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "rate_field", deserialize_with = "rate_of")]
    pub gap: Option<Decimal>,
}

/// Money (tiền, VND) of an office or a group of offices over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
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
    #[serde(serialize_with = "rate_field", deserialize_with = "rate_of")]
    pub rate: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub target: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    #[serde(serialize_with = "rate_field", deserialize_with = "rate_of")]
    pub gap: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
    /// Set when the year was published for this scope: `cases`, `money` and `offices` are then
    /// the figures as published, and this says who published them, when, and what the records
    /// say today.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<Publication>,
    /// How the rate of cases counted terminated and entrusted cases.
    pub counting: Counting,
    pub generated_at: String,
}

#[derive(Debug, Default)]
struct Pair {
    before: Sums,
    through: Sums,
}

/// The figures of one group of (office, classification) sums.
fn figures(pairs: &BTreeMap<String, Pair>, counting: Counting) -> (CaseFigures, MoneyFigures) {
    let mut c = CaseFigures::default();
    let mut m = MoneyFigures::default();
    // Terminated and entrusted among the enforceable: what the counting may move.
    let (mut terminated, mut entrusted) = (0, 0);
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
                terminated += u.terminated_cases - b.terminated_cases;
                entrusted += u.entrusted_cases - b.entrusted_cases;
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
    let resolved = match counting.terminated {
        TerminatedCount::Denominator => c.completed,
        TerminatedCount::Resolved => c.completed + terminated,
    };
    let counted = match counting.entrusted {
        EntrustedCount::Denominator => c.enforceable,
        EntrustedCount::Excluded => c.enforceable - entrusted,
    };
    c.rate = rate(Decimal::from(resolved), Decimal::from(counted));
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
    (offices, counting): (bool, Counting),
) -> ApiResult<EnforcementReport> {
    crate::store::read_snapshot(conn, |conn| {
        let mut report = enforcement_in(conn, actor, agency, period, (offices, counting))?;
        published::as_published(conn, &mut report)?;
        Ok(report)
    })
}

fn enforcement_in(
    conn: &mut DbConn,
    actor: &Actor,
    agency: Option<AgencyCode>,
    period: Period,
    (offices, counting): (bool, Counting),
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
    let (mut cases, mut money) = figures(&all, counting);
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
            let (mut c, mut m) = figures(by_office.get(&code).unwrap_or(&empty), counting);
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
        published: None,
        counting,
        generated_at: local_rfc3339(now().timestamp_micros()),
    })
}

#[cfg(test)]
mod tests {
    use super::coordination::nearest_rank;
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
