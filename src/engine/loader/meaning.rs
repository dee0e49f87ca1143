//! The checks of what a workflow means to the reports and pages: `[coercion]` and
//! `[supervision]`.

use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use super::raw::*;
use super::Checker;
use crate::domain::AgencyKind;
use crate::engine::definition::*;

impl Checker<'_, '_> {
    /// Checks a `[coercion]` section: every state under exactly one stage, the fields of the
    /// right types.
    pub(super) fn coercion(&mut self, raw: &Spanned<RawCoercion>, states: &[RawState]) -> Coercion {
        let c = raw.get_ref();
        self.slot(&c.office, "coercion.office");
        let mut stages: BTreeMap<OperationStage, Vec<String>> = BTreeMap::new();
        let mut seen: HashMap<String, OperationStage> = HashMap::new();
        for (stage, names) in c.states.by_stage() {
            for s in names {
                self.state(s, "coercion.states");
                if let Some(other) = seen.insert(s.get_ref().clone(), stage) {
                    self.p.at_span(
                        s,
                        format!(
                            "state {:?} is under both {} and {}",
                            s.get_ref(),
                            other.as_str(),
                            stage.as_str()
                        ),
                    );
                }
                stages.entry(stage).or_default().push(s.get_ref().clone());
            }
        }
        for s in states.iter().filter(|s| !seen.contains_key(s.name.get_ref())) {
            self.p.at_span(
                raw,
                format!(
                    "[coercion] puts state {:?} under no stage: name what it means for the operation",
                    s.name.get_ref()
                ),
            );
        }
        let f = &c.fields;
        let mut optional = |name: &Option<Name>, what: &str, kinds: &[DataType]| {
            name.as_ref().and_then(|n| self.field_of(n, what, kinds)).map(|d| d.name)
        };
        let fields = OperationFields {
            executed_at: optional(&f.executed_at, "coercion.fields.executed_at", &[DataType::Datetime]),
            postponed_to: optional(
                &f.postponed_to,
                "coercion.fields.postponed_to",
                &[DataType::Date, DataType::Datetime],
            ),
            measure: optional(&f.measure, "coercion.fields.measure", &[DataType::Choice, DataType::Text]),
            place: optional(&f.place, "coercion.fields.place", &[DataType::Text]),
            reference: optional(&f.reference, "coercion.fields.reference", &[DataType::Text]),
            protection_plan: optional(
                &f.protection_plan,
                "coercion.fields.protection_plan",
                &[DataType::Text],
            ),
            scheduled_at: f.scheduled_at.get_ref().clone(),
        };
        self.field_of(&f.scheduled_at, "coercion.fields.scheduled_at", &[DataType::Datetime]);
        Coercion { office: c.office.get_ref().clone(), states: stages, fields }
    }

    /// Checks a `[supervision]` section: the issuer a procuracy, the office supervised an
    /// enforcement office, the fields of the right types.
    pub(super) fn supervision(&mut self, raw: &Spanned<RawSupervision>) -> Supervision {
        let s = raw.get_ref();
        for (slot, kind, what) in [
            (&s.issuer, AgencyKind::Procuracy, "supervision.issuer"),
            (&s.supervised, AgencyKind::Enforcement, "supervision.supervised"),
        ] {
            self.slot(slot, what);
            if self.slots.get(slot.get_ref()).is_some_and(|k| *k != kind) {
                self.p.at_span(slot, format!("{what} must be a {} slot", kind.as_str()));
            }
        }
        self.field_of(&s.instrument, "supervision.instrument", &[DataType::Choice]);
        self.field_of(&s.number, "supervision.number", &[DataType::Text]);
        self.field_of(&s.issued_on, "supervision.issued_on", &[DataType::Date]);
        if let Some(n) = &s.reply_number {
            self.field_of(n, "supervision.reply_number", &[DataType::Text]);
        }
        for state in &s.awaiting_assessment {
            self.state(state, "supervision.awaiting_assessment");
        }
        let name = |n: &Name| n.get_ref().clone();
        Supervision {
            issuer: name(&s.issuer),
            supervised: name(&s.supervised),
            instrument: name(&s.instrument),
            number: name(&s.number),
            issued_on: name(&s.issued_on),
            reply_number: s.reply_number.as_ref().map(name),
            awaiting_assessment: s.awaiting_assessment.iter().map(name).collect(),
        }
    }
}
