//! The coercion operations an agency takes part in, as an iCalendar feed (RFC 5545) that a
//! steering committee or an office can subscribe to. Times carry `TZID=Asia/Ho_Chi_Minh`,
//! defined by the feed's VTIMEZONE (Vietnam keeps +07:00 all year, without daylight time).

use chrono::{DateTime, Duration, NaiveDateTime};
use chrono_tz::Asia::Ho_Chi_Minh;
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus};
use serde_json::{Map, Value};

use crate::domain::{from_micros, AgencyCode};
use crate::engine::definition::OperationStage;
use crate::engine::registry::Registry;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::store::instances::{self as store, InstanceRow, ListFilter};
use crate::store::DbConn;

const TZID: &str = "Asia/Ho_Chi_Minh";
/// How long an operation is shown to last when its plan says nothing of it.
const DEFAULT_HOURS: i64 = 4;
/// The most operations one feed carries (newest plans first).
const MAX_EVENTS: usize = 5000;
const PAGE: i64 = 500;

const VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\nTZID:Asia/Ho_Chi_Minh\r\nBEGIN:STANDARD\r\n\
DTSTART:19750613T000000\r\nTZOFFSETFROM:+0700\r\nTZOFFSETTO:+0700\r\nTZNAME:ICT\r\n\
END:STANDARD\r\nEND:VTIMEZONE\r\n";

fn local(raw: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Ho_Chi_Minh).naive_local())
}

/// A text field of the plan, its line breaks as iCalendar writes them (a bare CR is not
/// allowed in a content line).
fn text(data: &Map<String, Value>, key: &str) -> Option<String> {
    let raw = data.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())?;
    Some(raw.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Folds every content line to at most 75 octets (RFC 5545 3.1), at character boundaries:
/// the line as written by the calendar crate is unfolded first, as it can leave 76.
fn fold(text: &str) -> String {
    let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 64 * 3);
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        let chars: Vec<char> = line.chars().collect();
        let mut start = 0;
        let mut room = 75;
        while start < chars.len() {
            let mut end = start;
            let mut used = 0;
            while end < chars.len() && used + chars[end].len_utf8() <= room {
                used += chars[end].len_utf8();
                end += 1;
            }
            // Some readers trim the blanks at either side of a fold: fold between two letters.
            let mut cut = end;
            while cut < chars.len()
                && cut > start + 1
                && (chars[cut].is_whitespace() || chars[cut - 1].is_whitespace())
            {
                cut -= 1;
            }
            if cut == start + 1 && end < chars.len() {
                cut = end;
            }
            if start > 0 {
                out.push_str("\r\n ");
            }
            out.extend(&chars[start..cut]);
            start = cut;
            room = 74;
        }
        out.push_str("\r\n");
    }
    out
}

/// The operation an instance stands for, if its state puts it on the calendar: when, and how
/// sure. Where it stands and its fields are as its definition's `[coercion]` declares them.
fn event(row: &InstanceRow, registry: &Registry) -> Option<Event> {
    let def = registry.get(&row.workflow_id, u32::try_from(row.workflow_version).ok()?)?;
    let coercion = def.coercion.as_ref()?;
    let fields = &coercion.fields;
    let data: Map<String, Value> = serde_json::from_str(&row.data).ok()?;
    let field = |name: &Option<String>| name.as_deref().and_then(|f| text(&data, f));
    let scheduled = || local(&text(&data, &fields.scheduled_at)?);
    let (start, status) = match coercion.stage(&row.state)? {
        OperationStage::Scheduled => (scheduled()?, EventStatus::Confirmed),
        OperationStage::Executed => {
            let executed = field(&fields.executed_at).and_then(|t| local(&t));
            (executed.or_else(scheduled)?, EventStatus::Confirmed)
        }
        OperationStage::Postponed => (scheduled()?, EventStatus::Tentative),
        OperationStage::Cancelled => (scheduled()?, EventStatus::Cancelled),
        OperationStage::Drafting | OperationStage::AwaitingProtection | OperationStage::Protected => {
            return None
        }
    };
    let at = |t: NaiveDateTime| CalendarDateTime::WithTimezone { date_time: t, tzid: TZID.to_owned() };
    let measure = field(&fields.measure).unwrap_or_else(|| "other".into());
    let reference = field(&fields.reference).unwrap_or_default();
    let police = match field(&fields.protection_plan) {
        Some(n) => format!("Công an đã xác nhận kế hoạch bảo vệ số {n}"),
        None => "Công an chưa xác nhận kế hoạch bảo vệ".to_owned(),
    };
    let mut description = format!("{police}.\nTrạng thái: {}.\nlienganh instance {}", row.state, row.id);
    if let Some(d) = field(&fields.postponed_to) {
        description.push_str(&format!("\nHoãn, dự kiến cưỡng chế lại ngày {d}"));
    }
    let mut e = Event::new();
    e.uid(&format!("{}@lienganh", row.id))
        .timestamp(from_micros(row.updated_at))
        .sequence(u32::try_from(row.version).unwrap_or(0))
        .summary(format!("Cưỡng chế ({measure}) {reference}").trim_end())
        .description(&description)
        .starts(at(start))
        .ends(at(start + Duration::hours(DEFAULT_HOURS)))
        .status(status);
    if let Some(place) = field(&fields.place) {
        e.location(&place);
    }
    Some(e.done())
}

/// The feed of the coercion operations `agency` (the caller's own unless they read
/// everything) takes part in.
pub fn feed(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    agency: Option<AgencyCode>,
) -> ApiResult<String> {
    let agency = match agency {
        None => actor.agency.clone(),
        Some(a) if a == actor.agency || actor.reads_everything() => a,
        Some(a) => return Err(ApiError::not_found(format!("no calendar of {a} among yours"))),
    };
    let mut calendar = Calendar::new();
    calendar
        .name(&format!("Cưỡng chế thi hành án: {agency}"))
        .append_property(icalendar::Property::new("X-WR-TIMEZONE", TZID));
    let mut count = 0;
    for workflow in registry.coercion_workflows() {
        if count >= MAX_EVENTS {
            break;
        }
        let mut filter = ListFilter {
            visible_to: Some(agency.to_string()),
            party: None,
            workflow: Some(workflow.to_owned()),
            state: None,
            before: None,
            overdue_at: None,
            open: None,
            limit: PAGE,
        };
        loop {
            let rows = store::list(conn, &filter)?;
            for row in &rows {
                if let Some(e) = event(row, registry) {
                    calendar.push(e);
                    count += 1;
                }
            }
            if rows.len() < PAGE as usize || count >= MAX_EVENTS {
                break;
            }
            filter.before = rows.last().map(|r| r.id.clone());
        }
    }
    let mut text = calendar
        .done()
        .to_string()
        .replace("PRODID:ICALENDAR-RS", "PRODID:-//lienganh//coercion calendar//VI");
    // The zone every TZID refers to goes before the first event (RFC 5545 3.6.5).
    match text.find("BEGIN:VEVENT") {
        Some(i) => text.insert_str(i, VTIMEZONE),
        None => {
            if let Some(i) = text.find("END:VCALENDAR") {
                text.insert_str(i, VTIMEZONE);
            }
        }
    }
    Ok(fold(&text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_folded_at_75_octets_on_character_boundaries() {
        let long = format!("LOCATION:{}Hà Nội\r\nEND:VEVENT\r\n", "Phường Đông Anh, ".repeat(12));
        let folded = super::fold(&long);
        assert!(!folded.contains("\r\n  ") && !folded.contains(" \r\n"), "no fold next to a blank");
        let folded = super::fold(&long);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75), "{folded}");
        assert_eq!(folded.replace("\r\n ", ""), long);
    }
}
