//! The legal calendar, in Asia/Ho_Chi_Minh: rest days, and the times when coercion may not
//! take place.
//!
//! Holidays and the Tết window join this module with the deadlines and their working-day
//! arithmetic; every check of "a rest day or a holiday" goes through here so that they apply
//! everywhere at once.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Weekday};
use chrono_tz::Asia::Ho_Chi_Minh;

/// The legal basis of the coercion time rule.
pub const COERCION_BASIS: &str =
    "Điều 46 khoản 2 Luật THADS 26/2008/QH12; Điều 13 khoản 2 Nghị định 62/2015/NĐ-CP";

/// Saturday and Sunday are rest days.
pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Refuses a coercion time at night (22:00 to 06:00) or on a rest day, in local time.
pub fn check_coercion_time<Tz: TimeZone>(at: &DateTime<Tz>) -> Result<(), String> {
    let local = at.with_timezone(&Ho_Chi_Minh);
    let hour = local.hour();
    if !(6..22).contains(&hour) {
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
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<chrono::FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn coercion_hours_and_rest_days() {
        // Tuesday 24 November 2026.
        assert!(check_coercion_time(&at("2026-11-24T08:00:00+07:00")).is_ok());
        assert!(check_coercion_time(&at("2026-11-24T06:00:00+07:00")).is_ok());
        assert!(check_coercion_time(&at("2026-11-24T21:59:00+07:00")).is_ok());
        assert!(check_coercion_time(&at("2026-11-24T22:00:00+07:00")).is_err());
        assert!(check_coercion_time(&at("2026-11-24T23:00:00+07:00")).unwrap_err().contains("22:00"));
        assert!(check_coercion_time(&at("2026-11-24T05:59:00+07:00")).is_err());
        // 01:30 UTC is 08:30 in Hà Nội; 16:00 UTC is 23:00.
        assert!(check_coercion_time(&at("2026-11-24T01:30:00Z")).is_ok());
        assert!(check_coercion_time(&at("2026-11-24T16:00:00Z")).is_err());
        // Sunday 29 November 2026, in the morning.
        assert!(check_coercion_time(&at("2026-11-29T09:00:00+07:00")).unwrap_err().contains("Sunday"));
        // Friday 23:30 UTC is already Saturday in Hà Nội.
        assert!(check_coercion_time(&at("2026-11-27T23:30:00Z")).unwrap_err().contains("Saturday"));
    }
}
