//! The checks of a transition: its states, parties, roles, data, routes, follow-ups and what it
//! changes in its case.

use std::collections::HashSet;

use toml::Spanned;

use super::raw::*;
use super::{roles, Checker};
use crate::domain::{is_identifier, PaymentMethod, Role};
use crate::engine::definition::*;

impl Checker<'_, '_> {
    pub(super) fn transition(&mut self, t: &RawTransition) -> Transition {
        let name = t.name.get_ref();
        if name == "create" {
            self.p.at_span(&t.name, "\"create\" is reserved for the start of an instance");
        }
        if t.from.is_empty() {
            self.p.at_span(&t.name, format!("transition {name:?} has no from state"));
        }
        for f in &t.from {
            self.state(f, "from");
            if self.states.get(f.get_ref()) == Some(&true) {
                self.p.at_span(f, format!("transition {name:?} leaves terminal state {:?}", f.get_ref()));
            }
        }
        self.state(&t.to, "to");
        match (&t.party, t.signed_by.len()) {
            (Some(party), 0) => self.slot(party, "party"),
            (None, n) if n >= 2 => {
                let mut seen = HashSet::new();
                for s in &t.signed_by {
                    self.slot(s, "signed_by");
                    if !seen.insert(s.get_ref()) {
                        self.p.at_span(s, format!("{:?} signs twice", s.get_ref()));
                    }
                    // Every signer needs a role that can act for its kind of agency.
                    let kind = self.slots.get(s.get_ref()).copied();
                    let roles: Vec<Role> = t.roles.iter().filter_map(|r| r.get_ref().parse().ok()).collect();
                    if let Some(kind) = kind.filter(|k| !roles.iter().any(|r| r.acts_for(*k))) {
                        self.p.at_span(
                            s,
                            format!(
                                "no role of {name:?} can act for a {} agency, so {:?} could never sign",
                                kind.as_str(),
                                s.get_ref()
                            ),
                        );
                    }
                }
            }
            _ => self.p.at_span(
                &t.name,
                format!("transition {name:?} needs either a party or signed_by with two or more slots"),
            ),
        }
        for n in &t.notify {
            self.slot(n, "notify");
        }
        for r in &t.requires_parties {
            self.slot(r, "requires_parties");
        }
        for r in &t.routes {
            self.state(&r.to, "route");
        }
        let data = self.fields(&t.data);
        for (raw, field) in t.data.iter().zip(&data) {
            if field.follow_up_only {
                self.p.at_span(&raw.name, "follow_up_only applies to the data an instance starts with");
            }
            if !field.visible_to.is_empty() && !t.signed_by.is_empty() {
                self.p.at_span(
                    &raw.name,
                    "a joint step's data is proposed to every signer: it cannot hold a field visible to some only",
                );
            }
            if field.kind == DataType::Party && !t.signed_by.is_empty() {
                self.p.at_span(&raw.name, "a joint step cannot bind a party: let one party's step do it");
            }
            if field.kind == DataType::Party
                && field.binds.is_some()
                && field.binds == t.party.as_ref().map(|p| p.get_ref().clone())
            {
                self.p.at_span(
                    &raw.name,
                    "a step cannot bind the slot it acts for: that slot must be bound already",
                );
            }
        }
        let starts = t
            .starts
            .iter()
            .map(|s| {
                if !is_identifier(s.workflow.get_ref()) {
                    self.p.at_span(&s.workflow, "starts.workflow must be a workflow id");
                }
                for source in s.parties.values() {
                    let slot = source
                        .get_ref()
                        .strip_prefix(crate::engine::step::PARENT_OF)
                        .unwrap_or(source.get_ref());
                    if !self.slots.contains_key(slot) {
                        self.p.at_span(source, format!("starts.parties names unknown party slot {slot:?}"));
                    }
                }
                for source in s.data.values() {
                    match self.fields.get(source.get_ref()) {
                        None => self.p.at_span(
                            source,
                            format!("starts.data names unknown field {:?}", source.get_ref()),
                        ),
                        Some(f) if !f.visible_to.is_empty() => self.p.at_span(
                            source,
                            format!(
                                "starts.data carries {:?}, which only some parties may see, to another instance",
                                source.get_ref()
                            ),
                        ),
                        Some(_) => {}
                    }
                }
                let values = s
                    .values
                    .iter()
                    .filter_map(|(k, v)| match serde_json::to_value(v) {
                        Ok(json) => Some((k.clone(), json)),
                        Err(e) => {
                            self.p.at_span(&s.workflow, format!("starts.values.{k}: {e}"));
                            None
                        }
                    })
                    .collect();
                if let Some(given) = &s.if_given {
                    if !t.data.iter().any(|f| f.name.get_ref() == given.get_ref()) {
                        self.p.at_span(
                            given,
                            format!("starts.if_given names {:?}, which is not data of this step", given.get_ref()),
                        );
                    }
                }
                FollowUp {
                    workflow: s.workflow.get_ref().clone(),
                    parties: s.parties.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
                    data: s.data.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
                    values,
                    if_given: s.if_given.as_ref().map(|g| g.get_ref().clone()),
                    line: self.p.line(s.workflow.span().start),
                }
            })
            .collect();
        Transition {
            name: name.clone(),
            title_vi: t.title_vi.clone(),
            title_en: t.title_en.clone(),
            from: t.from.iter().map(|f| f.get_ref().clone()).collect(),
            to: t.to.get_ref().clone(),
            party: t.party.as_ref().map(|p| p.get_ref().clone()),
            signed_by: t.signed_by.iter().map(|s| s.get_ref().clone()).collect(),
            requires_parties: t.requires_parties.iter().map(|r| r.get_ref().clone()).collect(),
            roles: {
                let allowed = roles(self.p, &t.roles, &t.name, "transition");
                let slots: Vec<&Name> = t.party.iter().chain(t.signed_by.iter()).collect();
                self.roles_fit(&allowed, &slots, &t.name);
                allowed
            },
            guard: t.guard.as_ref().and_then(|g| self.condition(g)),
            routes: t
                .routes
                .iter()
                .filter_map(|r| Some(Route { when: self.condition(&r.when)?, to: r.to.get_ref().clone() }))
                .collect(),
            data,
            checks: self.checks(&t.checks),
            before: t.before.as_ref().map(|b| {
                self.field_of(&b.field, "before.field", &[DataType::Datetime]);
                if b.legal_basis.get_ref().trim().is_empty() {
                    self.p.at_span(&b.legal_basis, "legal_basis is empty: cite the article and the law");
                }
                LeadTime {
                    field: b.field.get_ref().clone(),
                    hours: b.hours,
                    legal_basis: b.legal_basis.get_ref().clone(),
                }
            }),
            notify: t.notify.iter().map(|n| n.get_ref().clone()).collect(),
            starts,
            waits_for: t
                .waits_for
                .iter()
                .map(|w| {
                    if !is_identifier(w.get_ref()) {
                        self.p.at_span(w, "waits_for must list workflow ids");
                    }
                    w.get_ref().clone()
                })
                .collect(),
            case: t.case.as_ref().map(|c| self.case_effect(c)),
            records: {
                for key in t.records.keys() {
                    if !is_identifier(key) {
                        self.p.at_span(
                            &t.name,
                            format!("records {key:?}: a field name is lower-case letters, digits and '_'"),
                        );
                    } else if t.data.iter().any(|f| f.name.get_ref() == key) {
                        self.p
                            .at_span(&t.name, format!("records {key:?}, which the step also takes as data"));
                    } else if self.fields.get(key).is_some_and(|f| f.kind != DataType::Boolean) {
                        self.p.at_span(
                            &t.name,
                            format!("records {key:?}, which the workflow declares as another type"),
                        );
                    }
                }
                t.records.clone()
            },
        }
    }

    pub(super) fn case_effect(&mut self, raw: &Spanned<RawCaseEffect>) -> CaseEffect {
        let c = raw.get_ref();
        if c.classification.is_none()
            && c.status.is_none()
            && c.payment.is_none()
            && c.reduce_due.is_none()
            && c.entrust_to.is_none()
            && c.record.is_none()
        {
            self.p.at_span(
                raw,
                "case needs a classification, a status, a payment, a reduce_due, an entrust_to or a record",
            );
        }
        if let Some(f) = &c.reduce_due {
            if self.fields.get(f.get_ref()).map(|d| d.kind) != Some(DataType::Money) {
                self.p.at_span(f, format!("case.reduce_due must name a money field, not {:?}", f.get_ref()));
            }
        }
        match (&c.entrust_to, &c.number) {
            (Some(slot), Some(number)) => {
                if self.slots.get(slot.get_ref()) != Some(&crate::domain::AgencyKind::Enforcement) {
                    self.p.at_span(
                        slot,
                        format!("case.entrust_to must name an enforcement slot, not {:?}", slot.get_ref()),
                    );
                }
                if self.fields.get(number.get_ref()).map(|d| d.kind) != Some(DataType::Text) {
                    self.p.at_span(
                        number,
                        format!("case.number must name a text field, not {:?}", number.get_ref()),
                    );
                }
                if let Some(status) = &c.status {
                    self.p.at_span(
                        status,
                        "case.entrust_to closes the case as entrusted: leave case.status out",
                    );
                }
            }
            (Some(slot), None) => {
                self.p.at_span(slot, "case.entrust_to needs case.number: the new case's number")
            }
            (None, Some(number)) => self.p.at_span(number, "case.number goes with case.entrust_to"),
            (None, None) => {}
        }
        if let Some(r) = &c.record {
            if !self.fields.contains_key(r.field.get_ref()) {
                self.p.at_span(&r.field, format!("case.record names unknown field {:?}", r.field.get_ref()));
            }
        }
        let when = c.when.as_ref().and_then(|w| self.condition(w));
        if let Some(v) = &c.classification {
            if !CASE_CLASSIFICATIONS.contains(&v.get_ref().as_str()) {
                self.p.at_span(v, format!("case.classification must be one of {CASE_CLASSIFICATIONS:?}"));
            }
        }
        if let Some(v) = &c.status {
            if !CASE_STEP_STATUSES.contains(&v.get_ref().as_str()) {
                self.p.at_span(v, format!("case.status must be one of {CASE_STEP_STATUSES:?}"));
            }
        }
        if let Some(f) = &c.payment {
            if self.fields.get(f.get_ref()).map(|d| d.kind) != Some(DataType::Money) {
                self.p.at_span(f, format!("case.payment must name a money field, not {:?}", f.get_ref()));
            }
        }
        let method = match (&c.payment, &c.method) {
            (Some(_), Some(m)) => PaymentMethod::parse(m.get_ref()).or_else(|| {
                let known: Vec<&str> = PaymentMethod::ALL.iter().map(|m| m.as_str()).collect();
                self.p.at_span(m, format!("case.method must be one of {known:?}"));
                None
            }),
            (Some(f), None) => {
                self.p.at_span(f, "case.payment needs its method: how the money was collected");
                None
            }
            (None, Some(m)) => {
                self.p.at_span(m, "case.method goes with case.payment");
                None
            }
            (None, None) => None,
        };
        if let Some(f) = &c.on {
            let kind = self.fields.get(f.get_ref()).map(|d| d.kind);
            if !matches!(kind, Some(DataType::Date | DataType::Datetime)) {
                self.p
                    .at_span(f, format!("case.on must name a date or datetime field, not {:?}", f.get_ref()));
            }
        }
        let name = |n: &Option<Name>| n.as_ref().map(|v| v.get_ref().clone());
        CaseEffect {
            classification: name(&c.classification),
            status: name(&c.status),
            payment: name(&c.payment),
            method,
            on: name(&c.on),
            reduce_due: name(&c.reduce_due),
            entrust_to: name(&c.entrust_to),
            number: name(&c.number),
            record: c.record.as_ref().map(|r| CaseRecord {
                field: r.field.get_ref().clone(),
                title_vi: r.title_vi.clone(),
                title_en: r.title_en.clone(),
            }),
            when,
        }
    }
}
