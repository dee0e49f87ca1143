//! The legal calendar, in Asia/Ho_Chi_Minh: working days, holidays, and the arithmetic of
//! legal time limits (Bộ luật Dân sự 2015, Điều 147-148):
//!
//! - a limit in days, months or working days starts the day after the event;
//! - a limit whose last day is a rest day or a holiday ends at the end of the next working day;
//! - a limit in hours runs from the event itself;
//! - a limit in months ends on the corresponding day of the last month (its last day if it
//!   has none).
//!
//! Holidays and make-up working days come from data, one year a section, so an admin can add
//! a year without a release. A year with no data is reported, never taken as a year without
//! holidays: every result says whether the calendar covered it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Asia::Ho_Chi_Minh;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The legal basis of the coercion time rule: no coercion at night, on rest days or holidays.
pub const COERCION_BASIS: &str =
    "Điều 46 khoản 2 Luật THADS 26/2008/QH12; Điều 13 khoản 2 Nghị định 62/2015/NĐ-CP";

/// The legal basis of the Tết window, which concerns a coercion that mobilises forces.
pub const TET_BASIS: &str =
    "Điều 13 khoản 2 Nghị định 62/2015/NĐ-CP: không tổ chức cưỡng chế có huy động lực lượng \
     trong thời gian 15 ngày trước và sau Tết Nguyên đán";

/// Days before mùng 1 Tết and after mùng 3 Tết in which no coercion takes place, as the
/// Ministry of Justice applies the rule (2018: mùng 1 on 16/2, no coercion 1/2 to 5/3).
pub const TET_WINDOW_DAYS: u64 = 15;

/// The holidays of one year as announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearCalendar {
    /// The first day of Tết Nguyên đán (mùng 1 tháng Giêng) in the solar calendar.
    pub tet: NaiveDate,
    /// Every day off that would otherwise be a working day: holidays, Tết, compensatory days
    /// and weekdays given off in a swap.
    pub holidays: BTreeSet<NaiveDate>,
    /// Saturdays or Sundays worked in exchange for a weekday given off.
    #[serde(default)]
    pub working_weekends: BTreeSet<NaiveDate>,
    /// Where the dates come from: the government's notice.
    pub source: String,
    /// True until the government announces the year: the dates then follow the Labour Code.
    #[serde(default)]
    pub provisional: bool,
}

/// Longest `source` of a year, in characters.
pub const MAX_SOURCE: usize = 500;

/// A problem with calendar data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CalendarError(pub String);

impl YearCalendar {
    /// Checks that every date belongs to `year` and that the lists make sense.
    pub fn validate(&self, year: i32) -> Result<(), CalendarError> {
        let wrong = |what: &str, d: &NaiveDate| CalendarError(format!("{year}: {what} {d} is not in {year}"));
        if self.tet.year() != year {
            return Err(wrong("Tết", &self.tet));
        }
        if !(1..=2).contains(&self.tet.month()) {
            return Err(CalendarError(format!("{year}: Tết {} is not in January or February", self.tet)));
        }
        for d in &self.holidays {
            if d.year() != year {
                return Err(wrong("holiday", d));
            }
        }
        for d in &self.working_weekends {
            if d.year() != year {
                return Err(wrong("working weekend day", d));
            }
            if !is_weekend(*d) {
                return Err(CalendarError(format!(
                    "{year}: working weekend day {d} is not a Saturday or Sunday"
                )));
            }
            if self.holidays.contains(d) {
                return Err(CalendarError(format!("{year}: {d} is both a holiday and a working day")));
            }
        }
        if self.source.trim().is_empty() {
            return Err(CalendarError(format!("{year}: say where the dates come from (source)")));
        }
        if self.source.chars().count() > MAX_SOURCE {
            return Err(CalendarError(format!("{year}: source is longer than {MAX_SOURCE} characters")));
        }
        if let Err(reason) = crate::domain::check_text(&self.source) {
            return Err(CalendarError(format!("{year}: source {reason}")));
        }
        Ok(())
    }
}

/// Saturday and Sunday are rest days, unless worked in a swap.
pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A result of calendar arithmetic, and whether the calendar had data for every year it
/// crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted<T> {
    pub value: T,
    /// False when a year crossed has no holiday data: weekends were skipped, holidays could not be.
    pub complete: bool,
}

/// The unit of a legal time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    CalendarDays,
    WorkingDays,
    Hours,
    Months,
}

/// When a limit ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The instant the limit passes (exclusive): the end of its last day, or the exact hour.
    pub at: DateTime<Utc>,
    /// The last day of the limit, in local time.
    pub last_day: NaiveDate,
}

/// Holidays by year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearCalendar>,
}

/// A year as the calendar file writes it, with TOML dates.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    tet: toml::value::Datetime,
    holidays: Vec<toml::value::Datetime>,
    #[serde(default)]
    working_weekends: Vec<toml::value::Datetime>,
    source: String,
    #[serde(default)]
    provisional: bool,
}

fn toml_date(value: &toml::value::Datetime) -> Result<NaiveDate, CalendarError> {
    match (value.date, value.time) {
        (Some(d), None) => NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
            .ok_or_else(|| CalendarError(format!("{value} is not a real date"))),
        _ => Err(CalendarError(format!("{value} must be a plain date such as 2026-09-02"))),
    }
}

impl RawYear {
    fn into_year(self) -> Result<YearCalendar, CalendarError> {
        let dates = |list: &[toml::value::Datetime]| list.iter().map(toml_date).collect::<Result<_, _>>();
        Ok(YearCalendar {
            tet: toml_date(&self.tet)?,
            holidays: dates(&self.holidays)?,
            working_weekends: dates(&self.working_weekends)?,
            source: self.source,
            provisional: self.provisional,
        })
    }
}

/// The first instant of a day in Asia/Ho_Chi_Minh.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(NaiveTime::MIN);
    // Asia/Ho_Chi_Minh has had no daylight saving since 1975: every local time exists once.
    Ho_Chi_Minh
        .from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

impl Calendar {
    pub fn new(years: BTreeMap<i32, YearCalendar>) -> Result<Self, CalendarError> {
        for (year, data) in &years {
            data.validate(*year)?;
        }
        Ok(Self { years })
    }

    /// Reads a calendar file: one table per year, such as `[2026]`.
    pub fn from_toml(text: &str) -> Result<Self, CalendarError> {
        let file: BTreeMap<String, RawYear> =
            toml::from_str(text).map_err(|e| CalendarError(e.to_string()))?;
        let mut years = BTreeMap::new();
        for (key, raw) in file {
            let year: i32 = key.parse().map_err(|_| CalendarError(format!("[{key}] is not a year")))?;
            years.insert(year, raw.into_year().map_err(|e| CalendarError(format!("[{key}] {}", e.0)))?);
        }
        Self::new(years)
    }

    pub fn load(path: &Path) -> Result<Self, CalendarError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CalendarError(format!("cannot read the calendar {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| CalendarError(format!("{}: {}", path.display(), e.0)))
    }

    /// Adds or replaces a year.
    pub fn with_year(&self, year: i32, data: YearCalendar) -> Result<Self, CalendarError> {
        data.validate(year)?;
        let mut years = self.years.clone();
        years.insert(year, data);
        Ok(Self { years })
    }

    pub fn years(&self) -> &BTreeMap<i32, YearCalendar> {
        &self.years
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Whether public offices work on this day; `None` when the year has no data (then only
    /// weekends are known).
    pub fn is_working_day(&self, day: NaiveDate) -> Counted<bool> {
        match self.years.get(&day.year()) {
            Some(y) => Counted {
                value: y.working_weekends.contains(&day) || (!is_weekend(day) && !y.holidays.contains(&day)),
                complete: true,
            },
            None => Counted { value: !is_weekend(day), complete: false },
        }
    }

    /// The first working day on or after `day`.
    pub fn working_day_on_or_after(&self, mut day: NaiveDate) -> Counted<NaiveDate> {
        let mut complete = true;
        loop {
            let w = self.is_working_day(day);
            complete &= w.complete;
            if w.value {
                return Counted { value: day, complete };
            }
            day = day.succ_opt().unwrap_or(day);
        }
    }

    /// The `n`-th working day after `day` (`day` itself not counted); `day` for n = 0.
    pub fn add_working_days(&self, day: NaiveDate, n: u32) -> Counted<NaiveDate> {
        let mut complete = true;
        let mut current = day;
        for _ in 0..n {
            current = current.succ_opt().unwrap_or(current);
            let next = self.working_day_on_or_after(current);
            complete &= next.complete;
            current = next.value;
        }
        Counted { value: current, complete }
    }

    /// The number of working days after `from` up to and including `to`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Counted<u32> {
        let mut complete = true;
        let mut count = 0;
        let mut day = from;
        while day < to {
            day = day.succ_opt().unwrap_or(day);
            let w = self.is_working_day(day);
            complete &= w.complete;
            count += u32::from(w.value);
        }
        Counted { value: count, complete }
    }

    /// The `n`-th working day before `day` (`day` itself not counted).
    pub fn sub_working_days(&self, day: NaiveDate, n: u32) -> Counted<NaiveDate> {
        let mut complete = true;
        let mut current = day;
        let mut left = n;
        while left > 0 {
            current = current.pred_opt().unwrap_or(current);
            let w = self.is_working_day(current);
            complete &= w.complete;
            if w.value {
                left -= 1;
            }
        }
        Counted { value: current, complete }
    }

    /// When a limit of `duration` `unit`s that starts at `event` ends.
    pub fn due(&self, event: DateTime<Utc>, duration: u32, unit: Unit) -> Counted<Due> {
        let local_day = event.with_timezone(&Ho_Chi_Minh).date_naive();
        let last_day = match unit {
            Unit::Hours => {
                let at = event + chrono::Duration::hours(i64::from(duration));
                let last_day = at.with_timezone(&Ho_Chi_Minh).date_naive();
                return Counted { value: Due { at, last_day }, complete: true };
            }
            Unit::WorkingDays => return self.end_of(self.add_working_days(local_day, duration)),
            Unit::CalendarDays => local_day.checked_add_days(Days::new(u64::from(duration))),
            Unit::Months => local_day.checked_add_months(Months::new(duration)),
        };
        // The arithmetic overflows only past the year 262143; the last representable day will do.
        let last_day = last_day.unwrap_or(NaiveDate::MAX);
        self.end_of(self.working_day_on_or_after(last_day))
    }

    /// A limit whose last day is given (a date set in a document): it ends at the end of that
    /// day, or of the next working day.
    pub fn due_on(&self, last_day: NaiveDate) -> Counted<Due> {
        self.end_of(self.working_day_on_or_after(last_day))
    }

    fn end_of(&self, last_day: Counted<NaiveDate>) -> Counted<Due> {
        let day = last_day.value;
        let at = start_of(day.succ_opt().unwrap_or(day));
        Counted { value: Due { at, last_day: day }, complete: last_day.complete }
    }

    /// Refuses a coercion time at night (22:00 to 06:00), on a rest day or holiday, or within
    /// 15 days before or after Tết, in local time.
    pub fn check_coercion_time<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> Result<(), String> {
        self.check_coercion_hours(at)?;
        self.check_tet_window(at.with_timezone(&Ho_Chi_Minh).date_naive())
    }

    /// Refuses a coercion time at night (22:00 to 06:00) or on a rest day or holiday, in local
    /// time: the rule of every coercion, whether or not it mobilises forces.
    pub fn check_coercion_hours<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> Result<(), String> {
        let local = at.with_timezone(&Ho_Chi_Minh);
        if !(6..22).contains(&local.hour()) {
            return Err(format!(
                "{} is between 22:00 and 06:00, when coercion may not take place ({COERCION_BASIS})",
                local.format("%H:%M %d/%m/%Y")
            ));
        }
        self.check_coercion_rest_day(local.date_naive())
    }

    /// Refuses a coercion day that is a rest day or holiday, or within 15 days of Tết.
    pub fn check_coercion_day(&self, day: NaiveDate) -> Result<(), String> {
        self.check_coercion_rest_day(day)?;
        self.check_tet_window(day)
    }

    /// Refuses a coercion day that is a rest day or holiday.
    pub fn check_coercion_rest_day(&self, day: NaiveDate) -> Result<(), String> {
        if !self.years.contains_key(&day.year()) {
            return Err(format!(
                "the calendar has no holidays for {} yet, so a coercion date cannot be checked against them; an admin must add the year",
                day.year()
            ));
        }
        let working = self.is_working_day(day);
        if !working.value {
            let what = if is_weekend(day) {
                if day.weekday() == Weekday::Sat {
                    "a rest day (Saturday)"
                } else {
                    "a rest day (Sunday)"
                }
            } else {
                "a public holiday"
            };
            return Err(format!(
                "{} is {what}, when coercion may not take place ({COERCION_BASIS})",
                day.format("%d/%m/%Y")
            ));
        }
        Ok(())
    }

    /// Refuses a day of a coercion that mobilises forces within 15 days before mùng 1 Tết or
    /// after mùng 3 Tết.
    pub fn check_tet_window(&self, day: NaiveDate) -> Result<(), String> {
        let Some(year) = self.years.get(&day.year()) else {
            return Err(format!(
                "the calendar has no holidays for {} yet, so a coercion date cannot be checked against Tết; an admin must add the year",
                day.year()
            ));
        };
        // Tết falls in late January or February, so its window lies within its own year: from
        // 15 days before mùng 1 to 15 days after mùng 3.
        let tet = year.tet;
        let from = tet.checked_sub_days(Days::new(TET_WINDOW_DAYS)).unwrap_or(tet);
        let until = tet.checked_add_days(Days::new(TET_WINDOW_DAYS + 2)).unwrap_or(tet);
        if (from..=until).contains(&day) {
            return Err(format!(
                "{} is within 15 days of Tết ({}), when a coercion that mobilises forces may not take place ({TET_BASIS})",
                day.format("%d/%m/%Y"),
                tet.format("%d/%m/%Y")
            ));
        }
        Ok(())
    }
}

/// The coercion rule on hours and rest days alone, for callers that have no calendar data.
pub fn check_coercion_time<Tz: TimeZone>(at: &DateTime<Tz>) -> Result<(), String> {
    let local = at.with_timezone(&Ho_Chi_Minh);
    if !(6..22).contains(&local.hour()) {
        return Err(format!(
            "{} is between 22:00 and 06:00, when coercion may not take place ({COERCION_BASIS})",
            local.format("%H:%M %d/%m/%Y")
        ));
    }
    if is_weekend(local.date_naive()) {
        return Err(format!(
            "{} is a rest day ({}), when coercion may not take place ({COERCION_BASIS})",
            local.format("%d/%m/%Y"),
            if local.weekday() == Weekday::Sat { "Saturday" } else { "Sunday" }
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
