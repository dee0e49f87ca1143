//! Reads one workflow definition file and refuses a bad one with its path, line and reason.
//!
//! Parsing keeps the byte span of every name, so each check can point at the line that is
//! wrong. All problems of a file are reported at once, not only the first.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::definition::*;
use crate::domain::{is_identifier, AgencyKind, PaymentMethod, Role};

/// One problem in a definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

type Name = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    id: Name,
    version: Spanned<u32>,
    valid_from: Spanned<toml::value::Datetime>,
    valid_until: Option<Spanned<toml::value::Datetime>>,
    title_vi: String,
    title_en: String,
    law: String,
    initial_state: Name,
    parties: Vec<RawParty>,
    #[serde(default)]
    party_rules: Vec<RawPartyRule>,
    states: Vec<RawState>,
    create: RawCreate,
    #[serde(default)]
    transitions: Vec<RawTransition>,
    #[serde(default)]
    deadlines: Vec<RawDeadline>,
    handover: Option<Spanned<RawHandover>>,
    coercion: Option<Spanned<RawCoercion>>,
    supervision: Option<Spanned<RawSupervision>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    slot: Name,
    kind: Name,
    #[serde(default = "yes")]
    required: bool,
    required_when: Option<Spanned<RawCondition>>,
    title_vi: String,
    title_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartyRule {
    rule: Name,
    slots: Vec<Name>,
    legal_basis: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    name: Name,
    title_vi: String,
    title_en: String,
    #[serde(default)]
    terminal: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreate {
    party: Name,
    #[serde(default)]
    roles: Vec<Name>,
    #[serde(default)]
    data: Vec<RawField>,
    #[serde(default)]
    checks: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransition {
    name: Name,
    title_vi: String,
    title_en: String,
    from: Vec<Name>,
    to: Name,
    party: Option<Name>,
    #[serde(default)]
    signed_by: Vec<Name>,
    #[serde(default)]
    roles: Vec<Name>,
    #[serde(default)]
    requires_parties: Vec<Name>,
    guard: Option<Spanned<RawCondition>>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    data: Vec<RawField>,
    #[serde(default)]
    checks: Vec<RawCheck>,
    #[serde(default)]
    notify: Vec<Name>,
    #[serde(default)]
    starts: Vec<RawFollowUp>,
    case: Option<Spanned<RawCaseEffect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaseEffect {
    classification: Option<Name>,
    status: Option<Name>,
    payment: Option<Name>,
    method: Option<Name>,
    on: Option<Name>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    when: Spanned<RawCondition>,
    to: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFollowUp {
    workflow: Name,
    parties: BTreeMap<String, Name>,
    #[serde(default)]
    data: BTreeMap<String, Name>,
    #[serde(default)]
    values: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Name,
    #[serde(rename = "type")]
    kind: Name,
    required: Option<bool>,
    required_when: Option<Spanned<RawCondition>>,
    title_vi: String,
    title_en: String,
    #[serde(default)]
    options: Vec<String>,
    of: Option<Name>,
    time_rule: Option<Name>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    field: Name,
    after_field: Name,
    within_days: Option<u32>,
    at_least_days: Option<u32>,
    when: Option<Spanned<RawCondition>>,
    legal_basis: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadline {
    name: Name,
    states: Vec<Name>,
    duration: Spanned<u32>,
    unit: Name,
    starts_from_field: Option<Name>,
    due_date_field: Option<Name>,
    responsible: Name,
    escalate_to: Name,
    escalate_first_to: Option<Name>,
    legal_basis: Name,
    when: Option<Spanned<RawCondition>>,
    #[serde(default)]
    restarted_by: Vec<Name>,
    #[serde(default)]
    suspended_by: Vec<Name>,
    #[serde(default)]
    resumed_by: Vec<Name>,
    #[serde(default)]
    extended_by: Vec<Name>,
    extension_field: Option<Name>,
    reminders: Option<Vec<u32>>,
    note: Option<String>,
    reply_to: Option<Name>,
}

/// Working days before the due day on which a reminder goes out, unless a deadline says otherwise.
pub const DEFAULT_REMINDERS: [u32; 2] = [3, 1];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: Option<Name>,
    #[serde(rename = "in")]
    values: Option<Vec<Name>>,
    is: Option<bool>,
    discrepancy_in: Option<Name>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandover {
    sender: Name,
    receiver: Name,
    manifest: Name,
    receipt: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoercion {
    office: Name,
    states: RawStages,
    fields: RawOperationFields,
}

/// The states under each stage of an operation (see [`OperationStage`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStages {
    #[serde(default)]
    drafting: Vec<Name>,
    #[serde(default)]
    awaiting_protection: Vec<Name>,
    #[serde(default)]
    protected: Vec<Name>,
    #[serde(default)]
    scheduled: Vec<Name>,
    #[serde(default)]
    postponed: Vec<Name>,
    #[serde(default)]
    executed: Vec<Name>,
    #[serde(default)]
    cancelled: Vec<Name>,
}

impl RawStages {
    fn by_stage(&self) -> [(OperationStage, &[Name]); 7] {
        [
            (OperationStage::Drafting, &self.drafting),
            (OperationStage::AwaitingProtection, &self.awaiting_protection),
            (OperationStage::Protected, &self.protected),
            (OperationStage::Scheduled, &self.scheduled),
            (OperationStage::Postponed, &self.postponed),
            (OperationStage::Executed, &self.executed),
            (OperationStage::Cancelled, &self.cancelled),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperationFields {
    scheduled_at: Name,
    executed_at: Option<Name>,
    postponed_to: Option<Name>,
    measure: Option<Name>,
    place: Option<Name>,
    reference: Option<Name>,
    protection_plan: Option<Name>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupervision {
    issuer: Name,
    supervised: Name,
    instrument: Name,
    number: Name,
    issued_on: Name,
    reply_number: Option<Name>,
    awaiting_assessment: Vec<Name>,
}

/// Collects the problems of one file, turning byte offsets into line numbers.
struct Problems<'a> {
    path: &'a Path,
    source: &'a str,
    found: Vec<DefinitionError>,
}

impl Problems<'_> {
    fn line(&self, offset: usize) -> usize {
        self.source[..offset.min(self.source.len())].matches('\n').count() + 1
    }

    fn at(&mut self, offset: usize, reason: impl Into<String>) {
        let line = self.line(offset);
        self.found.push(DefinitionError { path: self.path.to_owned(), line, reason: reason.into() });
    }

    fn at_span<T>(&mut self, s: &Spanned<T>, reason: impl Into<String>) {
        self.at(s.span().start, reason);
    }
}

fn toml_date(p: &mut Problems<'_>, value: &Spanned<toml::value::Datetime>, key: &str) -> Option<NaiveDate> {
    let dt = value.get_ref();
    match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => {
            let date = NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into());
            if date.is_none() {
                p.at_span(value, format!("{key} is not a real calendar date"));
            }
            date
        }
        _ => {
            p.at_span(value, format!("{key} must be a plain date such as 2026-07-01"));
            None
        }
    }
}

/// Parses and validates one definition file's text.
pub fn parse_definition(path: &Path, source: &str) -> Result<Definition, Vec<DefinitionError>> {
    let mut p = Problems { path, source, found: Vec::new() };
    let raw: RawDefinition = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            p.at(offset, e.message().to_owned());
            return Err(p.found);
        }
    };
    let def = Checker::new(&mut p, &raw).and_then(|c| c.build(raw));
    match def {
        Some(def) if p.found.is_empty() => Ok(def),
        _ => Err(p.found),
    }
}

fn check_unique<'a>(p: &mut Problems<'_>, what: &str, names: impl IntoIterator<Item = &'a Name>) {
    let mut seen = HashSet::new();
    for name in names {
        if !is_identifier(name.get_ref()) {
            p.at_span(
                name,
                format!("{what} name {:?} must be lower-case letters, digits and '_'", name.get_ref()),
            );
        }
        if !seen.insert(name.get_ref().as_str()) {
            p.at_span(name, format!("duplicate {what} name {:?}", name.get_ref()));
        }
    }
}

fn roles(p: &mut Problems<'_>, raw: &[Name], owner: &Name, what: &str) -> Vec<Role> {
    if raw.is_empty() {
        p.at_span(owner, format!("{what} {:?} has no allowed role", owner.get_ref()));
    }
    raw.iter()
        .filter_map(|r| match r.get_ref().parse::<Role>() {
            Ok(role) => Some(role),
            Err(e) => {
                p.at_span(r, e);
                None
            }
        })
        .collect()
}

/// What the checks of one file need to know of the file as a whole.
struct Checker<'p, 'a> {
    p: &'p mut Problems<'a>,
    /// Slot to its kind.
    slots: HashMap<String, AgencyKind>,
    /// State to whether it is terminal.
    states: HashMap<String, bool>,
    transitions: HashSet<String>,
    /// Every data field of the workflow, by name (the first declaration of a name wins).
    fields: HashMap<String, DataField>,
    /// Slots that may be left unbound.
    optional: HashSet<String>,
}

impl<'p, 'a> Checker<'p, 'a> {
    fn new(p: &'p mut Problems<'a>, raw: &RawDefinition) -> Option<Self> {
        let mut slots = HashMap::new();
        check_unique(p, "party slot", raw.parties.iter().map(|x| &x.slot));
        for party in &raw.parties {
            match party.kind.get_ref().parse::<AgencyKind>() {
                Ok(kind) => {
                    slots.insert(party.slot.get_ref().clone(), kind);
                }
                Err(e) => p.at_span(&party.kind, format!("party slot {:?}: {e}", party.slot.get_ref())),
            }
        }
        check_unique(p, "state", raw.states.iter().map(|s| &s.name));
        if raw.states.is_empty() {
            p.at(0, "no states");
        }
        let states = raw.states.iter().map(|s| (s.name.get_ref().clone(), s.terminal)).collect();
        check_unique(p, "transition", raw.transitions.iter().map(|t| &t.name));
        let transitions = raw.transitions.iter().map(|t| t.name.get_ref().clone()).collect();
        // Learn every field first, so that conditions can refer to fields of later steps. Their
        // problems are reported when each step declares them, not here as well.
        let mut fields = HashMap::new();
        let mut scratch = Problems { path: p.path, source: p.source, found: Vec::new() };
        let mut learning = Checker {
            p: &mut scratch,
            slots,
            states,
            transitions,
            fields: HashMap::new(),
            optional: HashSet::new(),
        };
        let all_raw = raw.create.data.iter().chain(raw.transitions.iter().flat_map(|t| t.data.iter()));
        for f in all_raw {
            if let Some(field) = learning.field(f) {
                fields.entry(field.name.clone()).or_insert(field);
            }
        }
        let Checker { slots, states, transitions, .. } = learning;
        let optional = raw.parties.iter().filter(|x| !x.required).map(|x| x.slot.get_ref().clone()).collect();
        Some(Self { p, slots, states, transitions, fields, optional })
    }

    /// Refuses a step nobody could take: every role must be able to act for one of the
    /// step's slots, given the kind of agency each slot takes.
    fn roles_fit(&mut self, roles: &[Role], slots: &[&Name], owner: &Name) {
        let kinds: Vec<AgencyKind> =
            slots.iter().filter_map(|s| self.slots.get(s.get_ref()).copied()).collect();
        if kinds.len() < slots.len() {
            return; // an unknown slot is reported on its own
        }
        for role in roles {
            if !kinds.iter().any(|k| role.acts_for(*k)) {
                let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                self.p.at_span(
                    owner,
                    format!(
                        "{:?}: role {} cannot act for a {} agency, so nobody could take this step with it",
                        owner.get_ref(),
                        role.as_str(),
                        kinds.join(" or ")
                    ),
                );
            }
        }
    }

    fn slot(&mut self, s: &Name, what: &str) {
        if !self.slots.contains_key(s.get_ref()) {
            self.p.at_span(s, format!("{what} names unknown party slot {:?}", s.get_ref()));
        }
    }

    fn state(&mut self, s: &Name, what: &str) {
        if !self.states.contains_key(s.get_ref()) {
            self.p.at_span(s, format!("{what} names unknown state {:?}", s.get_ref()));
        }
    }

    /// A field of this workflow of one of the given types.
    fn field_of(&mut self, name: &Name, what: &str, kinds: &[DataType]) -> Option<DataField> {
        let found = self.fields.get(name.get_ref()).filter(|f| kinds.contains(&f.kind)).cloned();
        if found.is_none() {
            let kinds: Vec<String> = kinds.iter().map(|k| format!("{k:?}").to_lowercase()).collect();
            self.p.at_span(
                name,
                format!("{what} {:?} is not a {} field of this workflow", name.get_ref(), kinds.join(" or ")),
            );
        }
        found
    }

    /// Checks one data field's declaration on its own (references are checked after all are read).
    fn field(&mut self, f: &RawField) -> Option<DataField> {
        let kind = DataType::parse(f.kind.get_ref());
        let name = f.name.get_ref();
        match kind {
            None => self.p.at_span(
                &f.kind,
                format!(
                    "unknown data type {:?}: use text, date, datetime, money, integer, boolean, items, receipt or choice",
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
        })
    }

    fn fields(&mut self, raw: &[RawField]) -> Vec<DataField> {
        check_unique(self.p, "data field", raw.iter().map(|f| &f.name));
        let mut out: Vec<DataField> = raw.iter().filter_map(|f| self.field(f)).collect();
        for (f, field) in raw.iter().zip(out.iter_mut()) {
            if let Some(when) = &f.required_when {
                field.required_when = self.condition(when);
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

    fn condition(&mut self, raw: &Spanned<RawCondition>) -> Option<Condition> {
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

    fn checks(&mut self, raw: &[RawCheck]) -> Vec<DateCheck> {
        let dates = [DataType::Date, DataType::Datetime];
        raw.iter()
            .map(|c| {
                self.field_of(&c.field, "field", &dates);
                self.field_of(&c.after_field, "after_field", &dates);
                if c.legal_basis.get_ref().trim().is_empty() {
                    self.p.at_span(&c.legal_basis, "legal_basis is empty: cite the article and the law");
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
                    when: c.when.as_ref().and_then(|w| self.condition(w)),
                    legal_basis: c.legal_basis.get_ref().clone(),
                }
            })
            .collect()
    }

    fn transition(&mut self, t: &RawTransition) -> Transition {
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
        let starts = t
            .starts
            .iter()
            .map(|s| {
                if !is_identifier(s.workflow.get_ref()) {
                    self.p.at_span(&s.workflow, "starts.workflow must be a workflow id");
                }
                for source in s.parties.values() {
                    let slot =
                        source.get_ref().strip_prefix(super::step::PARENT_OF).unwrap_or(source.get_ref());
                    if !self.slots.contains_key(slot) {
                        self.p.at_span(source, format!("starts.parties names unknown party slot {slot:?}"));
                    }
                }
                for source in s.data.values() {
                    if !self.fields.contains_key(source.get_ref()) {
                        self.p.at_span(
                            source,
                            format!("starts.data names unknown field {:?}", source.get_ref()),
                        );
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
                FollowUp {
                    workflow: s.workflow.get_ref().clone(),
                    parties: s.parties.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
                    data: s.data.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
                    values,
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
            notify: t.notify.iter().map(|n| n.get_ref().clone()).collect(),
            starts,
            case: t.case.as_ref().map(|c| self.case_effect(c)),
        }
    }

    fn case_effect(&mut self, raw: &Spanned<RawCaseEffect>) -> CaseEffect {
        let c = raw.get_ref();
        if c.classification.is_none() && c.status.is_none() && c.payment.is_none() {
            self.p.at_span(raw, "case needs a classification, a status or a payment");
        }
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
        }
    }

    fn deadline(&mut self, d: &RawDeadline) -> Option<Deadline> {
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
            states: d.states.iter().map(|s| s.get_ref().clone()).collect(),
            duration: *d.duration.get_ref(),
            unit: unit?,
            starts_from_field: d.starts_from_field.as_ref().map(|f| f.get_ref().clone()),
            due_date_field: d.due_date_field.as_ref().map(|f| f.get_ref().clone()),
            responsible: d.responsible.get_ref().clone(),
            escalate_to: d.escalate_to.get_ref().clone(),
            escalate_first_to: d.escalate_first_to.as_ref().map(|s| s.get_ref().clone()),
            legal_basis: d.legal_basis.get_ref().clone(),
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

    /// Checks a `[coercion]` section: every state under exactly one stage, the fields of the
    /// right types.
    fn coercion(&mut self, raw: &Spanned<RawCoercion>, states: &[RawState]) -> Coercion {
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
    fn supervision(&mut self, raw: &Spanned<RawSupervision>) -> Supervision {
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

    fn build(mut self, raw: RawDefinition) -> Option<Definition> {
        let p = &mut *self.p;
        if !is_identifier(raw.id.get_ref()) {
            p.at_span(&raw.id, "id must be lower-case letters, digits and '_'");
        }
        if *raw.version.get_ref() == 0 {
            p.at_span(&raw.version, "version starts at 1");
        }
        let valid_from = toml_date(p, &raw.valid_from, "valid_from");
        let valid_until = raw.valid_until.as_ref().and_then(|v| toml_date(p, v, "valid_until"));
        if let (Some(from), Some(until), Some(span)) = (valid_from, valid_until, raw.valid_until.as_ref()) {
            if until < from {
                p.at_span(span, "valid_until is before valid_from");
            }
        }
        self.state(&raw.initial_state, "initial_state");

        let parties: Vec<Party> = raw
            .parties
            .iter()
            .filter_map(|x| {
                if x.required && x.required_when.is_some() {
                    self.p
                        .at_span(&x.slot, "required_when applies to an optional slot: set required = false");
                }
                Some(Party {
                    slot: x.slot.get_ref().clone(),
                    kind: *self.slots.get(x.slot.get_ref())?,
                    required: x.required,
                    required_when: x.required_when.as_ref().and_then(|w| self.condition(w)),
                    title_vi: x.title_vi.clone(),
                    title_en: x.title_en.clone(),
                })
            })
            .collect();
        let party_rules = raw
            .party_rules
            .iter()
            .filter_map(|r| {
                for s in &r.slots {
                    self.slot(s, "party rule");
                }
                if r.slots.len() < 2 {
                    self.p.at_span(&r.rule, "a party rule names two or more slots");
                }
                if r.legal_basis.get_ref().trim().is_empty() {
                    self.p.at_span(&r.legal_basis, "legal_basis is empty: cite the article and the law");
                }
                let rule = match r.rule.get_ref().as_str() {
                    "different_province" => PartyRuleKind::DifferentProvince,
                    "parent_of" if r.slots.len() == 2 => PartyRuleKind::ParentOf,
                    "parent_of" => {
                        self.p.at_span(
                            &r.rule,
                            "parent_of names exactly two slots: the superior, then the other",
                        );
                        return None;
                    }
                    other => {
                        self.p.at_span(
                            &r.rule,
                            format!("unknown party rule {other:?}: use different_province or parent_of"),
                        );
                        return None;
                    }
                };
                Some(PartyRule {
                    rule,
                    slots: r.slots.iter().map(|s| s.get_ref().clone()).collect(),
                    legal_basis: r.legal_basis.get_ref().clone(),
                })
            })
            .collect();

        self.slot(&raw.create.party, "create");
        if self.slots.contains_key(raw.create.party.get_ref())
            && !raw.parties.iter().any(|x| x.slot.get_ref() == raw.create.party.get_ref() && x.required)
        {
            self.p.at_span(&raw.create.party, "the party that starts an instance must be a required slot");
        }
        let create_roles = roles(self.p, &raw.create.roles, &raw.create.party, "create rule for party");
        self.roles_fit(&create_roles, &[&raw.create.party], &raw.create.party);
        let create = CreateRule {
            party: raw.create.party.get_ref().clone(),
            roles: create_roles,
            data: self.fields(&raw.create.data),
            checks: self.checks(&raw.create.checks),
        };
        let transitions: Vec<Transition> = raw.transitions.iter().map(|t| self.transition(t)).collect();

        // Every state reachable from the start; every non-terminal state has a way out.
        let edges: Vec<(&str, &str)> = transitions
            .iter()
            .flat_map(|t| {
                let targets = std::iter::once(t.to.as_str()).chain(t.routes.iter().map(|r| r.to.as_str()));
                let targets: Vec<&str> = targets.collect();
                t.from.iter().flat_map(move |f| targets.clone().into_iter().map(move |to| (f.as_str(), to)))
            })
            .collect();
        let start = raw.initial_state.get_ref().as_str();
        let mut reached = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(s) = queue.pop_front() {
            for (from, to) in &edges {
                if *from == s && reached.insert(to) {
                    queue.push_back(to);
                }
            }
        }
        for s in &raw.states {
            let name = s.name.get_ref().as_str();
            if !reached.contains(name) {
                self.p.at_span(&s.name, format!("state {name:?} is unreachable from {start:?}"));
            }
            if !s.terminal && !edges.iter().any(|(from, _)| *from == name) {
                self.p
                    .at_span(&s.name, format!("state {name:?} is not terminal but no transition leaves it"));
            }
        }

        check_unique(self.p, "deadline", raw.deadlines.iter().map(|d| &d.name));
        let deadlines: Vec<Deadline> = raw.deadlines.iter().filter_map(|d| self.deadline(d)).collect();

        let handover = raw.handover.as_ref().map(|h| {
            let raw_h = h.get_ref();
            self.slot(&raw_h.sender, "handover.sender");
            self.slot(&raw_h.receiver, "handover.receiver");
            self.field_of(&raw_h.manifest, "handover.manifest", &[DataType::Items]);
            let receipt = self.field_of(&raw_h.receipt, "handover.receipt", &[DataType::Receipt]);
            if receipt.is_some_and(|r| r.of.as_deref() != Some(raw_h.manifest.get_ref())) {
                self.p.at_span(&raw_h.receipt, "handover.receipt must confirm the handover's manifest");
            }
            Handover {
                sender: raw_h.sender.get_ref().clone(),
                receiver: raw_h.receiver.get_ref().clone(),
                manifest: raw_h.manifest.get_ref().clone(),
                receipt: raw_h.receipt.get_ref().clone(),
            }
        });

        let coercion = raw.coercion.as_ref().map(|c| self.coercion(c, &raw.states));
        let supervision = raw.supervision.as_ref().map(|s| self.supervision(s));
        for raw_d in &raw.deadlines {
            let Some(reply_to) = &raw_d.reply_to else { continue };
            match &supervision {
                None => {
                    self.p.at_span(reply_to, "reply_to names an instrument: the workflow needs [supervision]")
                }
                Some(s) => {
                    let options =
                        self.fields.get(&s.instrument).map(|f| f.options.clone()).unwrap_or_default();
                    if !options.contains(reply_to.get_ref()) {
                        self.p.at_span(
                            reply_to,
                            format!(
                                "reply_to {:?} is not an option of {:?}",
                                reply_to.get_ref(),
                                s.instrument
                            ),
                        );
                    }
                }
            }
        }

        Some(Definition {
            id: raw.id.get_ref().clone(),
            version: *raw.version.get_ref(),
            valid_from: valid_from?,
            valid_until,
            title_vi: raw.title_vi,
            title_en: raw.title_en,
            law: raw.law,
            parties,
            party_rules,
            states: raw
                .states
                .iter()
                .map(|s| State {
                    name: s.name.get_ref().clone(),
                    title_vi: s.title_vi.clone(),
                    title_en: s.title_en.clone(),
                    terminal: s.terminal,
                })
                .collect(),
            initial_state: raw.initial_state.get_ref().clone(),
            create,
            transitions,
            deadlines,
            handover,
            coercion,
            supervision,
            source: self.p.path.to_owned(),
        })
    }
}

#[cfg(test)]
#[path = "loader_tests.rs"]
mod tests;
