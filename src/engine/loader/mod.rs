//! Reads one workflow definition file and refuses a bad one with its path, line and reason.
//!
//! Parsing keeps the byte span of every name, so each check can point at the line that is
//! wrong. All problems of a file are reported at once, not only the first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use toml::Spanned;

mod data;
mod deadlines;
mod meaning;
mod raw;
mod steps;

use raw::*;

use super::definition::*;
use crate::domain::{is_identifier, AgencyKind, Role};

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

/// The day Law 106/2025/QH15 on civil judgment enforcement took effect, replacing Law 26/2008.
pub const LAW_106_2025: NaiveDate = match NaiveDate::from_ymd_opt(2026, 7, 1) {
    Some(day) => day,
    None => panic!("a valid date"),
};

/// A version in force from 1 July 2026 cites Law 106/2025/QH15: a basis naming only an article
/// of Law 26/2008 must say that the new law carries the figure over (cite both), or the
/// instances started under the new law would cite a repealed article.
fn cites_the_law_in_force(p: &mut Problems<'_>, raw: &RawDefinition) {
    let bases = raw
        .deadlines
        .iter()
        .map(|d| &d.legal_basis)
        .chain(raw.party_rules.iter().map(|r| &r.legal_basis))
        .chain(raw.create.checks.iter().map(|c| &c.legal_basis))
        .chain(raw.transitions.iter().flat_map(|t| t.checks.iter().map(|c| &c.legal_basis)))
        .chain(raw.transitions.iter().filter_map(|t| t.before.as_ref().map(|b| &b.legal_basis)));
    for basis in bases {
        let text = basis.get_ref();
        if text.contains("26/2008") && !text.contains("106/2025") {
            p.at_span(
                basis,
                "this version is in force under Law 106/2025/QH15: cite it, saying the figure is carried over from Law 26/2008",
            );
        }
    }
}

/// The transitional rule as written: earlier versions only, a basis cited, and an operational
/// reading labelled as one. Its states are those of the earlier versions, checked across files.
fn transitional(p: &mut Problems<'_>, raw: &Spanned<RawTransitional>, version: u32) -> Transitional {
    let t = raw.get_ref();
    if t.from_versions.is_empty() {
        p.at_span(raw, "from_versions names the earlier versions whose instances may move to this one");
    }
    for v in &t.from_versions {
        if *v.get_ref() >= version {
            p.at_span(v, format!("version {} is not earlier than this version {version}", v.get_ref()));
        }
    }
    let basis = t.legal_basis.get_ref();
    if basis.trim().is_empty() {
        p.at_span(&t.legal_basis, "legal_basis is empty: cite the transitional article of the law");
    }
    labelled(p, &t.legal_basis, t.note.as_deref(), t.operational, "rule");
    Transitional {
        from_versions: t.from_versions.iter().map(|v| *v.get_ref()).collect(),
        stay: t.stay.iter().map(|s| s.get_ref().clone()).collect(),
        legal_basis: basis.clone(),
        operational: t.operational.unwrap_or(false),
        note: t.note.clone(),
    }
}

/// Refuses a basis or note that calls `what` an operational choice without `operational = true`.
fn labelled(p: &mut Problems<'_>, basis: &Name, note: Option<&str>, operational: Option<bool>, what: &str) {
    let says = |text: &str| text.to_lowercase().contains("operational");
    if (says(basis.get_ref()) || note.is_some_and(says)) && operational != Some(true) {
        p.at_span(
            basis,
            format!("the legal basis or note calls this {what} an operational choice: say so with operational = true"),
        );
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
                let first: &DataField = fields.entry(field.name.clone()).or_insert_with(|| field.clone());
                // Data is merged by name: a value some may not see is hidden wherever it is given.
                if first.visible_to != field.visible_to {
                    p.at_span(
                        &f.name,
                        format!(
                            "{:?} is declared again with other visible_to slots: declare them alike",
                            field.name
                        ),
                    );
                }
            }
        }
        // A fact a step records is a yes-or-no field its guards and conditions may read.
        for key in raw.transitions.iter().flat_map(|t| t.records.keys()) {
            fields.entry(key.clone()).or_insert_with(|| DataField {
                name: key.clone(),
                kind: DataType::Boolean,
                required: false,
                required_when: None,
                title_vi: key.clone(),
                title_en: key.clone(),
                options: Vec::new(),
                of: None,
                time_rule: None,
                tet_window_unless: None,
                media_types: Vec::new(),
                max_bytes: None,
                multiple: false,
                searchable: false,
                follow_up_only: false,
                binds: None,
                visible_to: Vec::new(),
            });
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
        if valid_until.is_none_or(|until| until >= LAW_106_2025) {
            cites_the_law_in_force(p, &raw);
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
        for f in raw.create.data.iter().filter(|f| f.kind.get_ref() == "party") {
            self.p.at_span(
                &f.name,
                "an instance's parties are bound when it starts: a party field belongs on a step",
            );
        }
        let transitions: Vec<Transition> = raw.transitions.iter().map(|t| self.transition(t)).collect();
        for (r, t) in raw.transitions.iter().zip(&transitions) {
            for (w, workflow) in r.waits_for.iter().zip(&t.waits_for) {
                if !transitions.iter().flat_map(|t| &t.starts).any(|f| f.workflow == *workflow) {
                    self.p
                        .at_span(w, format!("waits for {workflow:?}, which no step of this workflow starts"));
                }
            }
        }

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
            transitional: raw.transitional.as_ref().map(|t| transitional(self.p, t, *raw.version.get_ref())),
            source: self.p.path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
