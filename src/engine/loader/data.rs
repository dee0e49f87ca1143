//! The checks of data fields, the conditions on them and the limits between dates.

use toml::Spanned;

use super::raw::*;
use super::{check_unique, Checker};
use crate::engine::definition::*;

impl Checker<'_, '_> {
    pub(super) fn field(&mut self, f: &RawField) -> Option<DataField> {
        let kind = DataType::parse(f.kind.get_ref());
        let name = f.name.get_ref();
        match kind {
            None => self.p.at_span(
                &f.kind,
                format!(
                    "unknown data type {:?}: use text, date, datetime, money, integer, boolean, items, receipt, choice, document or party",
                    f.kind.get_ref()
                ),
            ),
            Some(DataType::Choice) if f.options.is_empty() => {
                self.p.at_span(&f.name, format!("choice field {name:?} lists no options"))
            }
            Some(k) if k != DataType::Choice && !f.options.is_empty() => {
                self.p.at_span(&f.name, format!("only a choice field has options; {name:?} is not one"))
            }
            Some(DataType::Receipt) if f.of.is_none() => self.p.at_span(
                &f.name,
                format!("receipt field {name:?} must name the items field it confirms with `of`"),
            ),
            Some(k) if k != DataType::Receipt && f.of.is_some() => {
                self.p.at_span(&f.name, format!("only a receipt field has `of`; {name:?} is not one"))
            }
            Some(DataType::Party) => match &f.slot {
                None => self.p.at_span(&f.name, format!("party field {name:?} must name the slot it binds with `slot`")),
                Some(slot) if !self.slots.contains_key(slot.get_ref()) => {
                    self.p.at_span(slot, format!("{name:?} binds unknown party slot {:?}", slot.get_ref()))
                }
                Some(slot) if !self.optional.contains(slot.get_ref()) => self.p.at_span(
                    slot,
                    format!("{name:?} binds slot {:?}, which a step binds, so it must be optional", slot.get_ref()),
                ),
                Some(_) => {}
            },
            Some(_) if f.slot.is_some() => {
                self.p.at_span(&f.name, format!("only a party field has `slot`; {name:?} is not one"))
            }
            _ => {}
        }
        let time_rule = match (f.time_rule.as_ref(), kind) {
            (None, _) => None,
            (Some(r), Some(DataType::Datetime | DataType::Date)) if r.get_ref() == "coercion" => {
                Some(TimeRule::Coercion)
            }
            (Some(r), Some(DataType::Datetime | DataType::Date)) => {
                self.p.at_span(r, format!("unknown time_rule {:?}: use coercion", r.get_ref()));
                None
            }
            (Some(r), _) => {
                self.p.at_span(r, "only a date or datetime field has a time_rule");
                None
            }
        };
        let document = kind == Some(DataType::Document);
        if !document && (!f.media_types.is_empty() || f.max_mb.is_some() || f.multiple.is_some()) {
            self.p.at_span(
                &f.name,
                format!("only a document field has media_types, max_mb or multiple; {name:?} is not one"),
            );
        }
        for t in &f.media_types {
            if !MEDIA_TYPES.contains(&t.get_ref().as_str()) {
                self.p.at_span(
                    t,
                    format!(
                        "{:?} is not a media type the service reads from a file's bytes: use one of {}",
                        t.get_ref(),
                        MEDIA_TYPES.join(", ")
                    ),
                );
            }
        }
        if f.follow_up_only == Some(true) && (f.required == Some(true) || f.required_when.is_some()) {
            self.p.at_span(&f.name, format!("{name:?} is set only by a follow-up, so it cannot be required"));
        }
        if f.searchable == Some(true) && kind != Some(DataType::Text) {
            self.p.at_span(&f.name, format!("only a text field is searchable; {name:?} is not one"));
        }
        for slot in &f.visible_to {
            if !self.slots.contains_key(slot.get_ref()) {
                self.p
                    .at_span(slot, format!("{name:?} is visible to unknown party slot {:?}", slot.get_ref()));
            }
        }
        if !f.visible_to.is_empty() {
            if f.searchable == Some(true) {
                self.p.at_span(
                    &f.name,
                    format!("{name:?} is visible to some parties only, so it cannot be searchable"),
                );
            }
            if matches!(kind, Some(DataType::Document | DataType::Party)) {
                self.p.at_span(
                    &f.name,
                    format!("{name:?}: a document or a party is seen by every party, so it cannot have visible_to"),
                );
            }
        }
        if f.max_mb.as_ref().is_some_and(|m| *m.get_ref() == 0) {
            self.p.at_span(&f.name, "max_mb must be at least 1");
        }
        if f.required_when.is_some() && f.required == Some(true) {
            self.p.at_span(
                &f.name,
                format!("{name:?} is required always; required_when applies to an optional field"),
            );
        }
        Some(DataField {
            name: name.clone(),
            kind: kind?,
            required: f.required.unwrap_or(f.required_when.is_none()),
            required_when: None,
            title_vi: f.title_vi.clone(),
            title_en: f.title_en.clone(),
            options: f.options.clone(),
            of: f.of.as_ref().map(|o| o.get_ref().clone()),
            time_rule,
            tet_window_unless: None,
            media_types: f.media_types.iter().map(|t| t.get_ref().clone()).collect(),
            max_bytes: f.max_mb.as_ref().map(|m| u64::from(*m.get_ref()) * 1024 * 1024),
            multiple: f.multiple.unwrap_or(false),
            searchable: f.searchable.unwrap_or(false),
            follow_up_only: f.follow_up_only.unwrap_or(false),
            binds: f.slot.as_ref().map(|s| s.get_ref().clone()),
            visible_to: f.visible_to.iter().map(|s| s.get_ref().clone()).collect(),
        })
    }

    pub(super) fn fields(&mut self, raw: &[RawField]) -> Vec<DataField> {
        check_unique(self.p, "data field", raw.iter().map(|f| &f.name));
        let mut out: Vec<DataField> = raw.iter().filter_map(|f| self.field(f)).collect();
        for (f, field) in raw.iter().zip(out.iter_mut()) {
            if let Some(when) = &f.required_when {
                field.required_when = self.condition(when);
            }
            if let Some(unless) = &f.tet_window_unless {
                if field.time_rule.is_none() {
                    self.p.at_span(&f.name, "tet_window_unless goes with time_rule = \"coercion\"");
                }
                field.tet_window_unless = self.condition(unless);
            }
        }
        for (f, field) in raw.iter().zip(&out) {
            if let Some(of) = &f.of {
                if field.kind == DataType::Receipt {
                    self.field_of(of, "of", &[DataType::Items]);
                }
            }
        }
        out
    }

    pub(super) fn condition(&mut self, raw: &Spanned<RawCondition>) -> Option<Condition> {
        let c = raw.get_ref();
        match (&c.field, &c.values, c.is, &c.discrepancy_in) {
            (Some(field), Some(values), None, None) => {
                let choice = self.field_of(field, "when.field", &[DataType::Choice])?;
                for v in values {
                    if !choice.options.contains(v.get_ref()) {
                        self.p.at_span(v, format!("{:?} is not an option of {:?}", v.get_ref(), choice.name));
                    }
                }
                Some(Condition::FieldIn {
                    field: field.get_ref().clone(),
                    values: values.iter().map(|v| v.get_ref().clone()).collect(),
                })
            }
            (Some(field), None, Some(is), None) => {
                self.field_of(field, "when.field", &[DataType::Boolean])?;
                Some(Condition::FieldIs { field: field.get_ref().clone(), is })
            }
            (None, None, None, Some(receipt)) => {
                self.field_of(receipt, "discrepancy_in", &[DataType::Receipt])?;
                Some(Condition::Discrepancy { discrepancy_in: receipt.get_ref().clone() })
            }
            _ => {
                self.p.at_span(
                    raw,
                    "a condition is { field = ..., in = [...] }, { field = ..., is = true } or { discrepancy_in = ... }",
                );
                None
            }
        }
    }

    pub(super) fn checks(&mut self, raw: &[RawCheck]) -> Vec<DateCheck> {
        let dates = [DataType::Date, DataType::Datetime];
        raw.iter()
            .map(|c| {
                self.field_of(&c.field, "field", &dates);
                self.field_of(&c.after_field, "after_field", &dates);
                if c.legal_basis.get_ref().trim().is_empty() {
                    self.p.at_span(&c.legal_basis, "legal_basis is empty: cite the article and the law");
                }
                if c.at_least_days.is_some() && c.at_least_months.is_some() {
                    self.p.at_span(&c.field, "give at_least_days or at_least_months, not both");
                }
                if let (Some(max), Some(min)) = (c.within_days, c.at_least_days) {
                    if min > max {
                        self.p
                            .at_span(&c.field, format!("at_least_days {min} is more than within_days {max}"));
                    }
                }
                DateCheck {
                    field: c.field.get_ref().clone(),
                    after_field: c.after_field.get_ref().clone(),
                    within_days: c.within_days,
                    at_least_days: c.at_least_days,
                    at_least_months: c.at_least_months,
                    when: c.when.as_ref().and_then(|w| self.condition(w)),
                    legal_basis: c.legal_basis.get_ref().clone(),
                }
            })
            .collect()
    }
}
