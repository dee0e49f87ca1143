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

use std::path::Path;

use proptest::prelude::*;

fn calendar() -> Calendar {
    Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml")).unwrap()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An event at 10:00 in Hà Nội on `s`.
fn event(s: &str) -> DateTime<Utc> {
    at(&format!("{s}T10:00:00+07:00")).with_timezone(&Utc)
}

/// The last day of a limit and the instant it passes, as local text.
fn due(cal: &Calendar, from: &str, n: u32, unit: Unit) -> (String, String, bool) {
    let d = cal.due(event(from), n, unit);
    let local = d.value.at.with_timezone(&Ho_Chi_Minh).format("%Y-%m-%d %H:%M").to_string();
    (d.value.last_day.to_string(), local, d.complete)
}

#[test]
fn the_shipped_calendar_covers_2024_to_2027() {
    let cal = calendar();
    for year in 2024..=2027 {
        assert!(cal.covers(year), "{year}");
    }
    assert!(cal.years()[&2027].provisional);
    assert!(!cal.years()[&2026].provisional);
}

#[test]
fn working_days_around_tet_2026() {
    let cal = calendar();
    // Thursday 12/2/2026, 5 working days: Fri 13/2, then Tết 16-20/2 and two weekends, then 23-26/2.
    assert_eq!(
        due(&cal, "2026-02-12", 5, Unit::WorkingDays),
        ("2026-02-26".into(), "2026-02-27 00:00".into(), true)
    );
    // Ten calendar days from Friday 6/2 end on Monday 16/2, a Tết holiday: the limit moves to
    // the end of the next working day, Monday 23/2.
    assert_eq!(due(&cal, "2026-02-06", 10, Unit::CalendarDays).0, "2026-02-23");
    // The count starts the day after the event: 1 calendar day from Monday 23/11 is Tuesday 24/11.
    assert_eq!(
        due(&cal, "2026-11-23", 1, Unit::CalendarDays),
        ("2026-11-24".into(), "2026-11-25 00:00".into(), true)
    );
}

#[test]
fn working_days_around_tet_2027() {
    let cal = calendar();
    // Thursday 4/2/2027: Fri 5/2 and 8-11/2 are off around mùng 1 on Saturday 6/2.
    assert_eq!(due(&cal, "2027-02-04", 2, Unit::WorkingDays).0, "2027-02-15");
    assert_eq!(due(&cal, "2027-02-04", 1, Unit::WorkingDays).0, "2027-02-12");
}

#[test]
fn working_days_around_quoc_khanh() {
    let cal = calendar();
    // 2026: Monday 31/8 swapped off, 1/9 and 2/9 holidays; Saturday 22/8 worked instead.
    assert_eq!(due(&cal, "2026-08-28", 3, Unit::WorkingDays).0, "2026-09-07");
    assert_eq!(due(&cal, "2026-08-21", 1, Unit::WorkingDays).0, "2026-08-22");
    // 2025: 1/9 and 2/9.
    assert_eq!(due(&cal, "2025-08-29", 1, Unit::WorkingDays).0, "2025-09-03");
    // 2024: 2/9 and 3/9.
    assert_eq!(due(&cal, "2024-08-30", 2, Unit::WorkingDays).0, "2024-09-05");
}

#[test]
fn hours_months_and_document_dates() {
    let cal = calendar();
    // Hours run from the event itself, weekends or not.
    assert_eq!(
        due(&cal, "2026-11-28", 24, Unit::Hours),
        ("2026-11-29".into(), "2026-11-29 10:00".into(), true)
    );
    // Six months from 31/8/2026: no 31/2, so the last day of February 2027, a Sunday: Monday 1/3.
    assert_eq!(due(&cal, "2026-08-31", 6, Unit::Months).0, "2027-03-01");
    assert_eq!(due(&cal, "2026-05-15", 6, Unit::Months).0, "2026-11-16", "15/11/2026 is a Sunday");
    // A date set in a document that falls on a holiday ends at the end of the next working day.
    assert_eq!(cal.due_on(day("2026-04-30")).value.last_day, day("2026-05-04"));
}

#[test]
fn a_year_without_data_is_reported() {
    let cal = calendar();
    let d = cal.due(event("2027-12-28"), 5, Unit::WorkingDays);
    assert!(!d.complete, "2028 has no data");
    assert!(cal.due(event("2026-12-21"), 5, Unit::WorkingDays).complete);
    assert!(!cal.is_working_day(day("2028-01-03")).complete);
    let refused = cal.check_coercion_time(&at("2028-03-07T09:00:00+07:00")).unwrap_err();
    assert!(refused.contains("no holidays for 2028"), "{refused}");
}

#[test]
fn coercion_around_tet_and_holidays() {
    let cal = calendar();
    let check = |s: &str| cal.check_coercion_time(&at(s));
    // Tết 2026: mùng 1 on 17/2, so no coercion from 2/2 to 6/3 (15 days after mùng 3).
    assert!(check("2026-01-30T09:00:00+07:00").is_ok());
    assert!(check("2026-02-02T09:00:00+07:00").unwrap_err().contains("Tết"));
    assert!(check("2026-03-06T09:00:00+07:00").unwrap_err().contains("Tết"));
    assert!(check("2026-03-09T09:00:00+07:00").is_ok());
    assert!(check("2026-09-01T09:00:00+07:00").unwrap_err().contains("holiday"));
    // A Saturday worked in a swap is a working day, but never a coercion day at 23:00.
    assert!(check("2026-08-22T09:00:00+07:00").is_ok());
    assert!(check("2026-08-22T23:00:00+07:00").unwrap_err().contains("22:00"));
    assert!(check("2026-11-29T09:00:00+07:00").unwrap_err().contains("Sunday"));
}

#[test]
fn bad_calendar_data_is_refused() {
    let base = "tet = 2026-02-17\nholidays = [2026-01-01]\nsource = \"x\"\n";
    assert!(Calendar::from_toml(&format!("[2026]\n{base}")).is_ok());
    assert!(Calendar::from_toml(&format!("[2025]\n{base}")).unwrap_err().0.contains("not in 2025"));
    assert!(Calendar::from_toml(&format!("[twenty]\n{base}")).is_err());
    let working_weekday = format!("[2026]\n{base}working_weekends = [2026-01-05]\n");
    assert!(Calendar::from_toml(&working_weekday).unwrap_err().0.contains("not a Saturday or Sunday"));
    assert!(Calendar::from_toml("[2026]\ntet = 2026-02-17\nholidays = []\nsource = \"\"\n").is_err());
}

fn covered_day() -> impl Strategy<Value = NaiveDate> {
    (0u64..(365 * 4 - 40)).prop_map(|offset| day("2024-01-01").checked_add_days(Days::new(offset)).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Adding working days never lands on a rest day or a holiday.
    #[test]
    fn adding_working_days_lands_on_a_working_day(start in covered_day(), n in 1u32..25) {
        let cal = calendar();
        let end = cal.add_working_days(start, n);
        prop_assert!(end.complete);
        prop_assert!(cal.is_working_day(end.value).value);
        prop_assert!(end.value > start);
    }

    /// Counting the working days between the start and the result gives back n; counting back
    /// n working days from the result gives back a working start.
    #[test]
    fn adding_then_counting_back_returns_the_start(start in covered_day(), n in 0u32..25) {
        let cal = calendar();
        let end = cal.add_working_days(start, n).value;
        prop_assert_eq!(cal.working_days_between(start, end).value, n);
        if cal.is_working_day(start).value {
            prop_assert_eq!(cal.sub_working_days(end, n).value, start);
        }
    }

    /// A limit in days never ends on a day off, never before its nominal last day, and passes
    /// at a local midnight.
    #[test]
    fn a_limit_in_days_ends_on_a_working_day(start in covered_day(), n in 1u32..40) {
        let cal = calendar();
        let due = cal.due(start_of(start), n, Unit::CalendarDays).value;
        prop_assert!(cal.is_working_day(due.last_day).value);
        prop_assert!(due.last_day >= start.checked_add_days(Days::new(u64::from(n))).unwrap());
        let local = due.at.with_timezone(&Ho_Chi_Minh);
        prop_assert_eq!((local.hour(), local.minute()), (0, 0));
        prop_assert_eq!(local.date_naive(), due.last_day.succ_opt().unwrap());
    }
}

/// Each announced year of the shipped calendar holds against its notices, as the notices
/// state them: runs of days off (weekends within them are rest days anyway) and the
/// Saturdays worked in exchange. A year not announced stays provisional.
#[test]
fn each_announced_year_holds_against_its_notices() {
    type Notice = (&'static str, &'static [(&'static str, &'static str)], &'static [&'static str]);
    // (year, the runs of days off as announced, the Saturdays worked)
    let notices: [(i32, Notice); 3] = [
        (
            2024,
            (
                "Tết 08/02-14/02; Công văn 2450/VPCP-KGVX 27/4-01/5, làm bù 04/5; Quốc khánh 31/8-03/9",
                &[
                    ("2024-01-01", "2024-01-01"),
                    ("2024-02-08", "2024-02-14"),
                    ("2024-04-18", "2024-04-18"),
                    ("2024-04-27", "2024-05-01"),
                    ("2024-08-31", "2024-09-03"),
                ],
                &["2024-05-04"],
            ),
        ),
        (
            2025,
            (
                "Công văn 8726/VPCP-KGVX Tết 25/01-02/02; 30/4-04/5, làm bù 26/4; Quốc khánh 30/8-02/9",
                &[
                    ("2025-01-01", "2025-01-01"),
                    ("2025-01-25", "2025-02-02"),
                    ("2025-04-07", "2025-04-07"),
                    ("2025-04-30", "2025-05-04"),
                    ("2025-08-30", "2025-09-02"),
                ],
                &["2025-04-26"],
            ),
        ),
        (
            2026,
            (
                "Công văn 12729/VPCP-KGVX 01-04/01, làm bù 10/01; Thông báo 9441/TB-BNV Tết 14/02-22/02 and \
                 Quốc khánh 29/8-02/9, làm bù 22/8; Giỗ Tổ on Sunday 26/4, nghỉ bù 27/4; 30/4-03/5",
                &[
                    ("2026-01-01", "2026-01-04"),
                    ("2026-02-14", "2026-02-22"),
                    ("2026-04-26", "2026-04-27"),
                    ("2026-04-30", "2026-05-03"),
                    ("2026-08-29", "2026-09-02"),
                ],
                &["2026-01-10", "2026-08-22"],
            ),
        ),
    ];
    let cal = calendar();
    let day = |s: &str| s.parse::<NaiveDate>().unwrap();
    for (year, (said, runs, worked)) in notices {
        let data = &cal.years()[&year];
        assert!(!data.provisional, "{year} is announced");
        let mut off = BTreeSet::new();
        for (from, to) in runs {
            let mut d = day(from);
            while d <= day(to) {
                if !is_weekend(d) {
                    off.insert(d);
                }
                d = d.succ_opt().unwrap();
            }
        }
        assert_eq!(data.holidays, off, "{year}: the weekdays off are not those of {said}");
        let worked: BTreeSet<NaiveDate> = worked.iter().map(|s| day(s)).collect();
        assert_eq!(data.working_weekends, worked, "{year}: the Saturdays worked are not those of {said}");
    }
    let next = &cal.years()[&2027];
    assert!(
        next.provisional && next.source.starts_with("Provisional"),
        "2027 stays provisional until announced"
    );
}
