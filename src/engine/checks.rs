//! What a step's data and parties must satisfy beyond their types: conditions on the data,
//! the limits between dates, extensions, and the rules on the agencies bound together.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::calendar::Calendar;
use super::data;
use super::definition::{Condition, DataField, DataType, DateCheck, DeadlineUnit, Definition, PartyRuleKind};
use super::step::{BoundAgency, InstanceView, Refusal};
use crate::domain::AgencyCode;
use crate::error::FieldError;

/// Whether a condition holds on an instance's data.
pub fn holds(condition: &Condition, data: &Map<String, Value>) -> bool {
    match condition {
        Condition::FieldIn { field, values } => {
            data.get(field).and_then(Value::as_str).is_some_and(|v| values.iter().any(|x| x == v))
        }
        Condition::FieldIs { field, is } => data.get(field).and_then(Value::as_bool).unwrap_or(false) == *is,
        Condition::Discrepancy { discrepancy_in } => {
            data.get(discrepancy_in).is_some_and(data::has_discrepancy)
        }
    }
}

pub(super) fn describe(condition: &Condition) -> String {
    match condition {
        Condition::FieldIn { field, values } => format!("only when {field} is {}", values.join(" or ")),
        Condition::FieldIs { field, is } => format!("only when {field} is {is}"),
        Condition::Discrepancy { discrepancy_in } => {
            format!("only when {discrepancy_in} records a discrepancy")
        }
    }
}

/// The most one extension may grant, in the deadline's own unit.
fn max_extension(unit: DeadlineUnit) -> i64 {
    match unit {
        DeadlineUnit::CalendarDays | DeadlineUnit::WorkingDays => 365,
        DeadlineUnit::Months => 12,
        DeadlineUnit::Hours => 720,
    }
}

/// Refuses an extension that grants nothing, takes time away, or more than a year.
pub(super) fn check_extensions(
    def: &Definition,
    transition: &str,
    data: &Map<String, Value>,
) -> Result<(), Refusal> {
    let mut errors: Vec<FieldError> = Vec::new();
    for d in def.deadlines.iter().filter(|d| d.extended_by.iter().any(|t| t == transition)) {
        let Some(field) = &d.extension_field else { continue };
        let max = max_extension(d.unit);
        let given = data.get(field).map(|v| v.as_i64().filter(|n| (1..=max).contains(n)));
        let path = format!("data.{field}");
        if given == Some(None) && !errors.iter().any(|e| e.field == path) {
            errors.push(FieldError::new(
                path,
                format!("an extension grants 1 to {max} (in the deadline's unit)"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidData(errors))
    }
}

/// Refuses dates further apart than a check allows. A limit in days whose last day is a rest
/// day or a holiday ends on the next working day (Bộ luật Dân sự 2015, Điều 148), as the
/// deadlines' do.
pub(super) fn check_dates(
    checks: &[DateCheck],
    data: &Map<String, Value>,
    calendar: &Calendar,
) -> Result<(), Refusal> {
    let date = |f: &str| {
        let raw = data.get(f)?.as_str()?;
        NaiveDate::parse_from_str(raw.get(..10)?, "%Y-%m-%d").ok()
    };
    let mut errors = Vec::new();
    for c in checks.iter().filter(|c| c.when.as_ref().is_none_or(|w| holds(w, data))) {
        if let (Some(later), Some(earlier)) = (date(&c.field), date(&c.after_field)) {
            let days = (later - earlier).num_days();
            // The last day of `n` days after the earlier date, moved past rest days and holidays.
            let last_day = |n: u32| {
                let last =
                    earlier.checked_add_days(chrono::Days::new(u64::from(n))).unwrap_or(NaiveDate::MAX);
                calendar.working_day_on_or_after(last).value
            };
            // What a refusal says of a last day that moved.
            let moved = |n: u32, day: NaiveDate, how: &str| {
                if (day - earlier).num_days() > i64::from(n) {
                    format!("{how} on {day}, the next working day (Điều 148 Bộ luật Dân sự 2015)")
                } else {
                    String::new()
                }
            };
            let limit = c.within_days.map(|max| (max, last_day(max)));
            // A window that must have passed: the `min - 1` days after the earlier date; or the
            // months after it, to the corresponding day of the last month (Điều 147).
            let months = c.at_least_months.map(|n| {
                let end = earlier.checked_add_months(chrono::Months::new(n)).unwrap_or(NaiveDate::MAX);
                let days = u32::try_from((end - earlier).num_days() + 1).unwrap_or(u32::MAX);
                (days, calendar.working_day_on_or_after(end).value)
            });
            let window = c.at_least_days.map(|min| (min, last_day(min.saturating_sub(1)))).or(months);
            if let Some((max, last)) = limit.filter(|(_, last)| later > *last) {
                let said = moved(max, last, ", which ends");
                errors.push(FieldError::new(
                    format!("data.{}", c.field),
                    format!(
                        "{later} is {days} days after {} ({earlier}); the limit is {max} days{said} ({})",
                        c.after_field, c.legal_basis
                    ),
                ));
            } else if let Some((min, end)) = window.filter(|(_, end)| days >= 0 && later <= *end) {
                let said = moved(min.saturating_sub(1), end, " and the window ends");
                errors.push(FieldError::new(
                    format!("data.{}", c.field),
                    format!(
                        "{later} is only {days} days after {} ({earlier}); {} must pass{said} ({})",
                        c.after_field,
                        match c.at_least_months {
                            Some(n) => format!("{n} months"),
                            None => format!("at least {min} days"),
                        },
                        c.legal_basis
                    ),
                ));
            } else if days < 0 {
                errors.push(FieldError::new(
                    format!("data.{}", c.field),
                    format!("{later} is before {} ({earlier})", c.after_field),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidData(errors))
    }
}

/// Checks the agencies bound to the slots against the definition's parties and rules;
/// `given` is the creation data, on which a slot may be required.
pub(super) fn check_parties(
    def: &Definition,
    parties: &BTreeMap<String, BoundAgency>,
    given: &Map<String, Value>,
) -> Result<(), Refusal> {
    let mut errors = Vec::new();
    for p in &def.parties {
        let required_now = p.required_when.as_ref().is_some_and(|c| holds(c, given));
        match parties.get(&p.slot) {
            None if p.required => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!("required: the code of a {} agency", p.kind.as_str()),
            )),
            None if required_now => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!(
                    "required here ({}): the code of a {} agency",
                    p.required_when.as_ref().map(describe).unwrap_or_default().trim_start_matches("only "),
                    p.kind.as_str()
                ),
            )),
            Some(a) if a.kind != p.kind => errors.push(FieldError::new(
                format!("parties.{}", p.slot),
                format!(
                    "{} is a {} agency; this slot takes a {} agency",
                    a.code,
                    a.kind.as_str(),
                    p.kind.as_str()
                ),
            )),
            _ => {}
        }
    }
    for slot in parties.keys().filter(|s| def.party(s).is_none()) {
        errors.push(FieldError::new(format!("parties.{slot}"), "not a party slot of this workflow"));
    }
    for slot in parties.keys().filter(|s| def.bound_by_step(s)) {
        errors.push(FieldError::new(
            format!("parties.{slot}"),
            "bound by a step of the instance, not when it starts",
        ));
    }
    errors.extend(broken_rules(def, parties));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::InvalidParties(errors))
    }
}

/// The agencies an instance is bound to after a step binds those its `party` fields name,
/// and their parents, by slot; `None` when the step binds none. Each named agency must be
/// known, of its slot's kind, bound to a slot still free, and within the party rules.
pub(super) fn bind_parties(
    def: &Definition,
    fields: &[DataField],
    data: &Map<String, Value>,
    inst: InstanceView<'_>,
    agencies: &BTreeMap<AgencyCode, BoundAgency>,
) -> Result<Option<Bound>, Refusal> {
    let mut bound = Bound { parties: inst.parties.clone(), parents: inst.parents.clone(), new: Vec::new() };
    let mut errors = Vec::new();
    for field in fields.iter().filter(|f| f.kind == DataType::Party) {
        let (Some(slot), Some(raw)) = (&field.binds, data.get(&field.name).and_then(Value::as_str)) else {
            continue;
        };
        let path = format!("data.{}", field.name);
        let Some(party) = def.party(slot) else { continue };
        let agency = AgencyCode::parse(raw).ok().and_then(|code| agencies.get(&code));
        match (agency, inst.parties.get(slot)) {
            // Named again (a second request to the same registry): nothing changes.
            (Some(a), Some(already)) if a.code == *already => {}
            (_, Some(already)) => {
                errors.push(FieldError::new(path, format!("{slot} is bound to {already} already")))
            }
            (None, None) => errors.push(FieldError::new(path, format!("no agency has the code {raw:?}"))),
            (Some(a), None) if a.kind != party.kind => errors.push(FieldError::new(
                path,
                format!(
                    "{} is a {} agency; {slot} takes a {} agency",
                    a.code,
                    a.kind.as_str(),
                    party.kind.as_str()
                ),
            )),
            (Some(a), None) => {
                bound.new.push(a.code.clone());
                bound.parties.insert(slot.clone(), a.code.clone());
                if let Some(parent) = &a.parent {
                    bound.parents.insert(slot.clone(), parent.clone());
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::InvalidData(errors));
    }
    if bound.new.is_empty() {
        return Ok(None);
    }
    // The rules, over every slot bound now: an agency's kind is its slot's.
    let all: BTreeMap<String, BoundAgency> = bound
        .parties
        .iter()
        .filter_map(|(slot, code)| {
            let kind = def.party(slot)?.kind;
            Some((
                slot.clone(),
                BoundAgency { code: code.clone(), kind, parent: bound.parents.get(slot).cloned() },
            ))
        })
        .collect();
    let broken = broken_rules(def, &all);
    if broken.is_empty() {
        return Ok(Some(bound));
    }
    let named = fields
        .iter()
        .find(|f| f.kind == DataType::Party)
        .map_or("data".to_owned(), |f| format!("data.{}", f.name));
    Err(Refusal::InvalidData(broken.into_iter().map(|e| FieldError::new(named.clone(), e.reason)).collect()))
}

/// The agencies bound to an instance and their parents, by slot, after a step bound more.
pub(super) struct Bound {
    pub parties: BTreeMap<String, AgencyCode>,
    pub parents: BTreeMap<String, AgencyCode>,
    /// The agencies the step binds.
    pub new: Vec<AgencyCode>,
}

/// Where the agencies bound to the slots break the definition's party rules.
fn broken_rules(def: &Definition, parties: &BTreeMap<String, BoundAgency>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for rule in &def.party_rules {
        let bound: Vec<(&String, &BoundAgency)> =
            rule.slots.iter().filter_map(|s| parties.get(s).map(|a| (s, a))).collect();
        match rule.rule {
            PartyRuleKind::ParentOf => {
                if let [(superior_slot, superior), (slot, lower)] = bound[..] {
                    if lower.parent.as_ref() != Some(&superior.code) {
                        errors.push(FieldError::new(
                            format!("parties.{superior_slot}"),
                            format!(
                                "{} is not the superior office of {} ({slot}) ({})",
                                superior.code, lower.code, rule.legal_basis
                            ),
                        ));
                    }
                }
            }
            PartyRuleKind::DifferentProvince => {
                for (i, (slot, a)) in bound.iter().enumerate() {
                    if let Some((other, b)) = bound[..i].iter().find(|(_, b)| b.province() == a.province()) {
                        errors.push(FieldError::new(
                            format!("parties.{slot}"),
                            format!(
                                "{} and {} ({other}) belong to one province, which this step does not allow ({})",
                                a.code, b.code, rule.legal_basis
                            ),
                        ));
                    }
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn calendar() -> Calendar {
        Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/calendar/holidays.toml"))
            .unwrap()
    }

    fn check(within: Option<u32>, at_least: Option<u32>) -> DateCheck {
        DateCheck {
            field: "later".into(),
            after_field: "earlier".into(),
            within_days: within,
            at_least_days: at_least,
            at_least_months: None,
            when: None,
            legal_basis: "Điều 1".into(),
        }
    }

    fn dates(earlier: &str, later: &str) -> Map<String, Value> {
        json!({"earlier": earlier, "later": later}).as_object().unwrap().clone()
    }

    /// Friday 6 November 2026 + 15 days is Saturday 21: the limit ends on Monday 23, and a
    /// window of 15 days that must pass is over only after that Monday.
    #[test]
    fn a_limit_ending_on_a_rest_day_ends_on_the_next_working_day() {
        let cal = calendar();
        let within = [check(Some(15), None)];
        assert!(check_dates(&within, &dates("2026-11-06", "2026-11-23"), &cal).is_ok());
        let Err(Refusal::InvalidData(errors)) =
            check_dates(&within, &dates("2026-11-06", "2026-11-24"), &cal)
        else {
            panic!("the Tuesday is late")
        };
        assert!(errors[0].reason.contains("ends on 2026-11-23"), "{errors:?}");

        let passed = [check(None, Some(16))];
        let Err(Refusal::InvalidData(errors)) =
            check_dates(&passed, &dates("2026-11-06", "2026-11-23"), &cal)
        else {
            panic!("the window is still open on the Monday it ends")
        };
        assert!(errors[0].reason.contains("window ends on 2026-11-23"), "{errors:?}");
        assert!(check_dates(&passed, &dates("2026-11-06", "2026-11-24"), &cal).is_ok());
        // A window ending on a working day is over the day after, as before.
        assert!(check_dates(&passed, &dates("2026-11-09", "2026-11-25"), &cal).is_ok());
        assert!(check_dates(&passed, &dates("2026-11-09", "2026-11-24"), &cal).is_err());
    }

    /// A window of months ends on the corresponding day of its last month, or on that month's
    /// last day when it has none, moved past a rest day; the act may come the day after.
    #[test]
    fn a_window_of_months_ends_on_the_corresponding_day() {
        let cal = calendar();
        let months = [DateCheck { at_least_months: Some(3), ..check(None, None) }];
        // 15 August 2026 + 3 months is Sunday 15 November: the window ends Monday 16.
        let Err(Refusal::InvalidData(errors)) =
            check_dates(&months, &dates("2026-08-15", "2026-11-16"), &cal)
        else {
            panic!("the window is still open on the Monday it ends")
        };
        assert!(
            errors[0].reason.contains("3 months must pass and the window ends on 2026-11-16"),
            "{errors:?}"
        );
        assert!(check_dates(&months, &dates("2026-08-15", "2026-11-17"), &cal).is_ok());
        // 30 November + 3 months has no 30 February: the last day of February, Sunday 28,
        // moves to Monday 1 March.
        assert!(check_dates(&months, &dates("2026-11-30", "2027-03-01"), &cal).is_err());
        assert!(check_dates(&months, &dates("2026-11-30", "2027-03-02"), &cal).is_ok());
    }
}
