//! The holiday calendar as the service runs it: the file shipped with the workflows, and the
//! years an admin added or replaced through the API, which take precedence.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{now, Role};
use crate::engine::calendar::{Calendar, YearCalendar};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::store::calendar_years::{self as store, CalendarYearRow};
use crate::store::DbConn;

/// A year of the calendar in force, and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
// The fields of `YearCalendar` spelled out, not flattened: its schema refuses other
// properties, so a flattened one could never match.
pub struct CalendarYear {
    pub year: i32,
    /// The first day of Tết Nguyên đán (mùng 1 tháng Giêng) in the solar calendar.
    pub tet: NaiveDate,
    /// Every day off that would otherwise be a working day.
    pub holidays: BTreeSet<NaiveDate>,
    /// Saturdays or Sundays worked in exchange for a weekday given off.
    pub working_weekends: BTreeSet<NaiveDate>,
    /// Where the dates come from: the government's notice.
    pub source: String,
    /// True until the government announces the year.
    pub provisional: bool,
    /// `file` (shipped with the workflows) or `api` (added by an admin).
    pub origin: String,
}

/// The calendar file with the years stored in the database laid over it.
pub fn effective(conn: &mut DbConn, file: &Calendar) -> ApiResult<Calendar> {
    let mut calendar = file.clone();
    for row in store::all(conn)? {
        let year: YearCalendar = serde_json::from_str(&row.data).map_err(ApiError::internal)?;
        calendar = calendar.with_year(row.year, year).map_err(|e| ApiError::internal(e.0))?;
    }
    Ok(calendar)
}

pub fn years(conn: &mut DbConn, file: &Calendar) -> ApiResult<Vec<CalendarYear>> {
    let stored: BTreeMap<i32, CalendarYearRow> = store::all(conn)?.into_iter().map(|r| (r.year, r)).collect();
    let calendar = effective(conn, file)?;
    Ok(calendar
        .years()
        .iter()
        .map(|(year, data)| CalendarYear {
            year: *year,
            tet: data.tet,
            holidays: data.holidays.clone(),
            working_weekends: data.working_weekends.clone(),
            source: data.source.clone(),
            provisional: data.provisional,
            origin: if stored.contains_key(year) { "api".into() } else { "file".into() },
        })
        .collect())
}

/// Adds or replaces a year; returns the calendar as it now stands.
pub fn put(
    conn: &mut DbConn,
    actor: &Actor,
    file: &Calendar,
    year: i32,
    data: YearCalendar,
) -> ApiResult<Calendar> {
    if !actor.has_role(Role::Admin) {
        return Err(ApiError::forbidden("only an admin changes the calendar"));
    }
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::not_found(format!("no calendar year {year}")));
    }
    data.validate(year).map_err(|e| {
        ApiError::validation(
            "the year's calendar is not valid",
            vec![crate::error::FieldError::new("body", e.0)],
        )
    })?;
    let row = CalendarYearRow {
        year,
        data: serde_json::to_string(&data).map_err(ApiError::internal)?,
        updated_at: now().timestamp_micros(),
        updated_by: format!("{}/{}", actor.agency, actor.sub),
    };
    store::put(conn, &row)?;
    effective(conn, file)
}
