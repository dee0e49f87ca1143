//! The enforcement figures as sums of dated contributions.
//!
//! A case contributes, under its current classification: on the day it was received, one case
//! and its amount due; on each payment's day, the amount; on the day it was closed (completed,
//! terminated, entrusted), one closed case and what was left unpaid. Every figure of a period
//! `[S, E]` is a difference of two running sums of these, one before S and one through E:
//! carried over = received before S less closed before S, and so on (see `Figures::between`).
//!
//! The running sums are kept per office, classification and period (a reporting year, a month
//! and a day) in `case_stats`: a change of a case takes its old contribution out and puts the
//! new one in, in the same transaction. A sum before a day adds whole years, then whole months
//! of the day's year, then the days of its month: a few rows per office, whatever the period.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::error::{ApiError, ApiResult};
use crate::store::case_stats::{self as store, StatsKey, StatsRow};
use crate::store::cases::CaseRow;
use crate::store::DbConn;

/// The reporting year a day falls in: year N runs from 1 October N-1 to 30 September N.
pub fn reporting_year(day: NaiveDate) -> i32 {
    if day.month() >= 10 {
        day.year() + 1
    } else {
        day.year()
    }
}

/// The first and last day of reporting year `year`.
pub fn year_bounds(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    Some((NaiveDate::from_ymd_opt(year - 1, 10, 1)?, NaiveDate::from_ymd_opt(year, 9, 30)?))
}

fn month_key(day: NaiveDate) -> i32 {
    day.year() * 100 + day.month() as i32
}

fn day_key(day: NaiveDate) -> i32 {
    month_key(day) * 100 + day.day() as i32
}

/// Running sums of contributions (or one contribution), per classification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    pub received_cases: i64,
    pub received_due: Decimal,
    pub closed_cases: i64,
    pub completed_cases: i64,
    pub terminated_cases: i64,
    pub entrusted_cases: i64,
    pub closed_remaining: Decimal,
    pub collected: Decimal,
}

impl Sums {
    /// Adds `o` (`sign` 1) or takes it out (`sign` -1).
    pub fn add(&mut self, o: &Sums, sign: i64) {
        let d = Decimal::from(sign);
        self.received_cases += sign * o.received_cases;
        self.received_due += d * o.received_due;
        self.closed_cases += sign * o.closed_cases;
        self.completed_cases += sign * o.completed_cases;
        self.terminated_cases += sign * o.terminated_cases;
        self.entrusted_cases += sign * o.entrusted_cases;
        self.closed_remaining += d * o.closed_remaining;
        self.collected += d * o.collected;
    }

    fn is_zero(&self) -> bool {
        *self == Sums::default()
    }

    fn from_row(row: &StatsRow) -> ApiResult<Sums> {
        let dec = |s: &str| s.parse::<Decimal>().map_err(ApiError::internal);
        Ok(Sums {
            received_cases: row.received_cases,
            received_due: dec(&row.received_due)?,
            closed_cases: row.closed_cases,
            completed_cases: row.completed_cases,
            terminated_cases: row.terminated_cases,
            entrusted_cases: row.entrusted_cases,
            closed_remaining: dec(&row.closed_remaining)?,
            collected: dec(&row.collected)?,
        })
    }

    fn write_into(&self, row: &mut StatsRow) {
        row.received_cases = self.received_cases;
        row.received_due = self.received_due.normalize().to_string();
        row.closed_cases = self.closed_cases;
        row.completed_cases = self.completed_cases;
        row.terminated_cases = self.terminated_cases;
        row.entrusted_cases = self.entrusted_cases;
        row.closed_remaining = self.closed_remaining.normalize().to_string();
        row.collected = self.collected.normalize().to_string();
    }
}

/// What of a case the figures depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub agency: String,
    pub classification: String,
    pub received_on: NaiveDate,
    pub amount_due: Decimal,
    pub collected: Decimal,
    pub status: String,
    pub closed_on: Option<NaiveDate>,
    /// Payment dates and amounts (reversals negative).
    pub payments: Vec<(NaiveDate, Decimal)>,
}

fn parse_day(raw: &str) -> ApiResult<NaiveDate> {
    raw.parse().map_err(ApiError::internal)
}

fn parse_money(raw: &str) -> ApiResult<Decimal> {
    raw.parse().map_err(ApiError::internal)
}

impl Facts {
    /// The facts of a stored case, with its payments.
    pub fn of(row: &CaseRow, payments: Vec<(NaiveDate, Decimal)>) -> ApiResult<Facts> {
        Ok(Facts {
            agency: row.agency_code.clone(),
            classification: row.classification.clone(),
            received_on: parse_day(&row.received_on)?,
            amount_due: parse_money(&row.amount_due)?,
            collected: parse_money(&row.collected)?,
            status: row.status.clone(),
            closed_on: row.closed_on.as_deref().map(parse_day).transpose()?,
            payments,
        })
    }

    /// Every dated contribution of the case: its receipt, its payments, its closing.
    fn contributions(&self) -> Vec<(NaiveDate, Sums)> {
        let mut out = vec![(
            self.received_on,
            Sums { received_cases: 1, received_due: self.amount_due, ..Sums::default() },
        )];
        if let Some(day) = self.closed_on {
            let mut closed = Sums {
                closed_cases: 1,
                closed_remaining: self.amount_due - self.collected,
                ..Sums::default()
            };
            match self.status.as_str() {
                "completed" => closed.completed_cases = 1,
                "terminated" => closed.terminated_cases = 1,
                "entrusted" => closed.entrusted_cases = 1,
                _ => {}
            }
            out.push((day, closed));
        }
        out.extend(
            self.payments.iter().map(|(day, amount)| (*day, Sums { collected: *amount, ..Sums::default() })),
        );
        out
    }
}

/// Changes to the kept sums, gathered over a transaction and written once per row at its end.
#[derive(Debug, Default)]
pub struct Changes {
    rows: BTreeMap<StatsKey, Sums>,
}

impl Changes {
    /// Adds (`sign` 1) or takes out (`sign` -1) a case's whole contribution.
    pub fn add(&mut self, facts: &Facts, sign: i64) {
        for (day, sums) in facts.contributions() {
            for key in [
                ("Y".to_owned(), reporting_year(day), facts.agency.clone(), facts.classification.clone()),
                ("M".to_owned(), month_key(day), facts.agency.clone(), facts.classification.clone()),
                ("D".to_owned(), day_key(day), facts.agency.clone(), facts.classification.clone()),
            ] {
                self.rows.entry(key).or_default().add(&sums, sign);
            }
        }
    }

    /// Replaces a case's old contribution with its new one.
    pub fn replace(&mut self, before: Option<&Facts>, after: &Facts) {
        if let Some(before) = before {
            self.add(before, -1);
        }
        self.add(after, 1);
    }

    /// Writes the changes, in key order, inside the caller's transaction.
    pub fn flush(self, conn: &mut DbConn) -> ApiResult<()> {
        for (key, change) in self.rows {
            if change.is_zero() {
                continue;
            }
            let mut row = store::lock(conn, &key)?;
            let mut sums = Sums::from_row(&row)?;
            sums.add(&change, 1);
            sums.write_into(&mut row);
            store::store(conn, &row)?;
        }
        Ok(())
    }
}

/// Running sums per office and classification.
pub type Totals = BTreeMap<(String, String), Sums>;

fn add_row(totals: &mut Totals, row: &StatsRow) -> ApiResult<()> {
    let sums = Sums::from_row(row)?;
    totals.entry((row.agency_code.clone(), row.classification.clone())).or_default().add(&sums, 1);
    Ok(())
}

/// Everything contributed before `day` by the offices given (all when `None`).
pub fn before(conn: &mut DbConn, agencies: Option<&[String]>, day: NaiveDate) -> ApiResult<Totals> {
    let mut totals = Totals::new();
    let year = reporting_year(day);
    for row in store::between(conn, "Y", i32::MIN, year, agencies)? {
        add_row(&mut totals, &row)?;
    }
    let (year_start, _) = year_bounds(year).ok_or_else(|| ApiError::bad_request("date out of range"))?;
    let month_start = day.with_day(1).unwrap_or(day);
    for row in store::between(conn, "M", month_key(year_start), month_key(day), agencies)? {
        add_row(&mut totals, &row)?;
    }
    for row in store::between(conn, "D", day_key(month_start), day_key(day), agencies)? {
        add_row(&mut totals, &row)?;
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn reporting_years_run_from_october() {
        assert_eq!(reporting_year(day("2025-09-30")), 2025);
        assert_eq!(reporting_year(day("2025-10-01")), 2026);
        assert_eq!(year_bounds(2026), Some((day("2025-10-01"), day("2026-09-30"))));
    }

    #[test]
    fn a_change_moves_the_whole_contribution() {
        let open = Facts {
            agency: "THADS-LC".into(),
            classification: "unclassified".into(),
            received_on: day("2025-08-01"),
            amount_due: Decimal::from(100),
            collected: Decimal::from(30),
            status: "open".into(),
            closed_on: None,
            payments: vec![(day("2025-11-02"), Decimal::from(30))],
        };
        let done = Facts {
            classification: "enforceable".into(),
            collected: Decimal::from(100),
            status: "completed".into(),
            closed_on: Some(day("2025-12-01")),
            payments: vec![(day("2025-11-02"), Decimal::from(30)), (day("2025-12-01"), Decimal::from(70))],
            ..open.clone()
        };
        let mut changes = Changes::default();
        changes.add(&open, 1);
        changes.replace(Some(&open), &done);
        let rows: Vec<_> = changes.rows.iter().filter(|(_, s)| !s.is_zero()).collect();
        // Years 2025 (received) and 2026 (paid, closed), months 2025-08, 2025-11 and 2025-12,
        // and their three days, all under the new classification only.
        assert_eq!(rows.len(), 8, "{rows:?}");
        assert!(rows.iter().all(|((_, _, _, class), _)| class == "enforceable"));
        let y2026 = &changes.rows[&("Y".into(), 2026, "THADS-LC".into(), "enforceable".into())];
        assert_eq!(y2026.collected, Decimal::from(100));
        assert_eq!(y2026.completed_cases, 1);
        assert_eq!(y2026.closed_remaining, Decimal::ZERO);
    }
}
