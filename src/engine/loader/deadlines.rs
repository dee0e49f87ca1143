//! The checks of a deadline: its states, unit, clock, parties, the steps that move it, and the
//! reminders before it.

use super::raw::*;
use super::Checker;
use crate::engine::definition::*;

impl Checker<'_, '_> {
    pub(super) fn deadline(&mut self, d: &RawDeadline) -> Option<Deadline> {
        let name = d.name.get_ref();
        if d.states.is_empty() {
            self.p.at_span(&d.name, format!("deadline {name:?} names no states"));
        }
        for s in &d.states {
            self.state(s, "deadline");
            if self.states.get(s.get_ref()) == Some(&true) {
                self.p.at_span(
                    s,
                    format!("deadline {name:?} is on terminal state {:?}, which is never left", s.get_ref()),
                );
            }
        }
        if *d.duration.get_ref() == 0 {
            self.p.at_span(&d.duration, "duration must be at least 1");
        }
        let unit = match d.unit.get_ref().as_str() {
            "calendar_days" => Some(DeadlineUnit::CalendarDays),
            "working_days" => Some(DeadlineUnit::WorkingDays),
            "hours" => Some(DeadlineUnit::Hours),
            "months" => Some(DeadlineUnit::Months),
            other => {
                self.p.at_span(
                    &d.unit,
                    format!("unknown unit {other:?}: use calendar_days, working_days, hours or months"),
                );
                None
            }
        };
        if let Some(f) = &d.starts_from_field {
            self.field_of(f, "starts_from_field", &[DataType::Date, DataType::Datetime]);
        }
        if let Some(f) = &d.due_date_field {
            self.field_of(f, "due_date_field", &[DataType::Date]);
        }
        self.slot(&d.responsible, "responsible");
        self.slot(&d.escalate_to, "escalate_to");
        if self.optional.contains(d.escalate_to.get_ref()) {
            self.p.at_span(
                &d.escalate_to,
                "escalate_to must be a required slot, so that a missed deadline always reaches someone",
            );
        }
        if let Some(first) = &d.escalate_first_to {
            self.slot(first, "escalate_first_to");
            if first.get_ref() == d.escalate_to.get_ref() {
                self.p.at_span(first, "escalate_first_to names the same slot as escalate_to");
            }
        }
        if d.legal_basis.get_ref().trim().is_empty() {
            self.p.at_span(&d.legal_basis, "legal_basis is empty: cite the article and the law");
        }
        // A figure the text does not set is labelled so, in a field the API and the console
        // show, not only in the wording of its basis.
        super::labelled(self.p, &d.legal_basis, d.note.as_deref(), d.operational, "figure");
        for (what, list) in [
            ("restarted_by", &d.restarted_by),
            ("suspended_by", &d.suspended_by),
            ("resumed_by", &d.resumed_by),
            ("extended_by", &d.extended_by),
        ] {
            for t in list {
                if !self.transitions.contains(t.get_ref()) {
                    self.p.at_span(t, format!("{what} names unknown transition {:?}", t.get_ref()));
                }
            }
        }
        if d.suspended_by.is_empty() != d.resumed_by.is_empty() {
            self.p.at_span(
                &d.name,
                format!(
                    "deadline {name:?} can be suspended only if it can be resumed, and the other way round"
                ),
            );
        }
        match (&d.extension_field, d.extended_by.is_empty()) {
            (Some(f), false) => {
                self.field_of(f, "extension_field", &[DataType::Integer]);
            }
            (None, true) => {}
            (given, _) => {
                let at = given.as_ref().or(d.extended_by.first()).unwrap_or(&d.name);
                self.p.at_span(at, format!("deadline {name:?}: extended_by and extension_field go together"));
            }
        }
        let reminders = d.reminders.clone().unwrap_or_else(|| DEFAULT_REMINDERS.to_vec());
        if reminders.iter().any(|r| *r == 0 || *r > 60) {
            self.p.at_span(&d.name, format!("deadline {name:?}: reminders are 1 to 60 working days before"));
        }
        Some(Deadline {
            name: name.clone(),
            title_vi: d.title_vi.clone(),
            title_en: d.title_en.clone(),
            states: d.states.iter().map(|s| s.get_ref().clone()).collect(),
            duration: *d.duration.get_ref(),
            unit: unit?,
            starts_from_field: d.starts_from_field.as_ref().map(|f| f.get_ref().clone()),
            due_date_field: d.due_date_field.as_ref().map(|f| f.get_ref().clone()),
            responsible: d.responsible.get_ref().clone(),
            escalate_to: d.escalate_to.get_ref().clone(),
            escalate_first_to: d.escalate_first_to.as_ref().map(|s| s.get_ref().clone()),
            legal_basis: d.legal_basis.get_ref().clone(),
            operational: d.operational.unwrap_or(false),
            when: d.when.as_ref().and_then(|w| self.condition(w)),
            restarted_by: d.restarted_by.iter().map(|t| t.get_ref().clone()).collect(),
            suspended_by: d.suspended_by.iter().map(|t| t.get_ref().clone()).collect(),
            resumed_by: d.resumed_by.iter().map(|t| t.get_ref().clone()).collect(),
            extended_by: d.extended_by.iter().map(|t| t.get_ref().clone()).collect(),
            extension_field: d.extension_field.as_ref().map(|f| f.get_ref().clone()),
            reminders,
            note: d.note.clone(),
            reply_to: d.reply_to.as_ref().map(|r| r.get_ref().clone()),
        })
    }
}
