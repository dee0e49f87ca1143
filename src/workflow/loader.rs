//! Reads workflow definition files and refuses a bad one with its path, line and reason.
//!
//! Parsing keeps the byte span of every name, so each check can point at the line that is
//! wrong. All problems of a file are reported at once, not only the first.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    id: Spanned<String>,
    version: Spanned<u32>,
    valid_from: Spanned<toml::value::Datetime>,
    valid_until: Option<Spanned<toml::value::Datetime>>,
    title_vi: String,
    title_en: String,
    law: String,
    initial_state: Spanned<String>,
    parties: Vec<RawParty>,
    states: Vec<RawState>,
    create: RawCreate,
    #[serde(default)]
    transitions: Vec<RawTransition>,
    #[serde(default)]
    deadlines: Vec<RawDeadline>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    slot: Spanned<String>,
    kind: Spanned<String>,
    title_vi: String,
    title_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    name: Spanned<String>,
    title_vi: String,
    title_en: String,
    #[serde(default)]
    terminal: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCreate {
    party: Spanned<String>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
    #[serde(default)]
    data: Vec<RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransition {
    name: Spanned<String>,
    title_vi: String,
    title_en: String,
    from: Vec<Spanned<String>>,
    to: Spanned<String>,
    party: Spanned<String>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
    #[serde(default)]
    data: Vec<RawField>,
    #[serde(default)]
    notify: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default = "yes")]
    required: bool,
    title_vi: String,
    title_en: String,
    #[serde(default)]
    options: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadline {
    name: Spanned<String>,
    states: Vec<Spanned<String>>,
    duration: Spanned<u32>,
    unit: Spanned<String>,
    starts_from_field: Option<Spanned<String>>,
    responsible: Spanned<String>,
    escalate_to: Option<Spanned<String>>,
    legal_basis: Spanned<String>,
    when: Option<RawCondition>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: Spanned<String>,
    #[serde(rename = "in")]
    values: Vec<Spanned<String>>,
}

/// Collects the problems of one file, turning byte offsets into line numbers.
struct Problems<'a> {
    path: &'a Path,
    source: &'a str,
    found: Vec<DefinitionError>,
}

impl Problems<'_> {
    fn at(&mut self, offset: usize, reason: impl Into<String>) {
        let line = self.source[..offset.min(self.source.len())].matches('\n').count() + 1;
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
    let def = validate(&mut p, raw);
    match def {
        Some(def) if p.found.is_empty() => Ok(def),
        _ => Err(p.found),
    }
}

fn check_unique<'a>(p: &mut Problems<'_>, what: &str, names: impl IntoIterator<Item = &'a Spanned<String>>) {
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

fn roles(p: &mut Problems<'_>, raw: &[Spanned<String>], owner: &Spanned<String>, what: &str) -> Vec<Role> {
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

fn fields(p: &mut Problems<'_>, raw: Vec<RawField>) -> Vec<DataField> {
    check_unique(p, "data field", raw.iter().map(|f| &f.name));
    raw.into_iter()
        .filter_map(|f| {
            let kind = DataType::parse(f.kind.get_ref());
            match kind {
                None => p.at_span(
                    &f.kind,
                    format!(
                        "unknown data type {:?}: use text, date, datetime, money, integer, items or choice",
                        f.kind.get_ref()
                    ),
                ),
                Some(DataType::Choice) if f.options.is_empty() => {
                    p.at_span(&f.name, format!("choice field {:?} lists no options", f.name.get_ref()))
                }
                Some(k) if k != DataType::Choice && !f.options.is_empty() => p.at_span(
                    &f.name,
                    format!("only a choice field has options; {:?} is not one", f.name.get_ref()),
                ),
                _ => {}
            }
            Some(DataField {
                name: f.name.into_inner(),
                kind: kind?,
                required: f.required,
                title_vi: f.title_vi,
                title_en: f.title_en,
                options: f.options,
            })
        })
        .collect()
}

fn validate(p: &mut Problems<'_>, raw: RawDefinition) -> Option<Definition> {
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

    // Parties.
    check_unique(p, "party slot", raw.parties.iter().map(|x| &x.slot));
    let parties: Vec<Party> = raw
        .parties
        .into_iter()
        .filter_map(|x| match x.kind.get_ref().parse::<AgencyKind>() {
            Ok(kind) => {
                Some(Party { slot: x.slot.into_inner(), kind, title_vi: x.title_vi, title_en: x.title_en })
            }
            Err(e) => {
                p.at_span(&x.kind, format!("party slot {:?}: {e}", x.slot.get_ref()));
                None
            }
        })
        .collect();
    let slots: HashSet<String> = parties.iter().map(|x| x.slot.clone()).collect();
    let check_slot = |p: &mut Problems<'_>, s: &Spanned<String>, what: &str| {
        if !slots.contains(s.get_ref()) {
            p.at_span(s, format!("{what} names unknown party slot {:?}", s.get_ref()));
        }
    };

    // States.
    check_unique(p, "state", raw.states.iter().map(|s| &s.name));
    if raw.states.is_empty() {
        p.at(0, "no states");
    }
    let terminal: HashMap<String, bool> =
        raw.states.iter().map(|s| (s.name.get_ref().clone(), s.terminal)).collect();
    let check_state = |p: &mut Problems<'_>, s: &Spanned<String>, what: &str| {
        if !terminal.contains_key(s.get_ref()) {
            p.at_span(s, format!("{what} names unknown state {:?}", s.get_ref()));
        }
    };
    check_state(p, &raw.initial_state, "initial_state");

    // Creation.
    check_slot(p, &raw.create.party, "create");
    let create = CreateRule {
        party: raw.create.party.get_ref().clone(),
        roles: roles(p, &raw.create.roles, &raw.create.party, "create rule for party"),
        data: fields(p, raw.create.data),
    };

    // Transitions.
    check_unique(p, "transition", raw.transitions.iter().map(|t| &t.name));
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut transitions = Vec::new();
    for t in raw.transitions {
        if t.name.get_ref() == "create" {
            p.at_span(&t.name, "\"create\" is reserved for the start of an instance");
        }
        if t.from.is_empty() {
            p.at_span(&t.name, format!("transition {:?} has no from state", t.name.get_ref()));
        }
        for f in &t.from {
            check_state(p, f, "from");
            if terminal.get(f.get_ref()) == Some(&true) {
                p.at_span(
                    f,
                    format!("transition {:?} leaves terminal state {:?}", t.name.get_ref(), f.get_ref()),
                );
            }
            edges.push((f.get_ref().clone(), t.to.get_ref().clone()));
        }
        check_state(p, &t.to, "to");
        check_slot(p, &t.party, "party");
        for n in &t.notify {
            check_slot(p, n, "notify");
        }
        let allowed = roles(p, &t.roles, &t.name, "transition");
        transitions.push(Transition {
            name: t.name.get_ref().clone(),
            title_vi: t.title_vi,
            title_en: t.title_en,
            from: t.from.into_iter().map(Spanned::into_inner).collect(),
            to: t.to.into_inner(),
            party: t.party.into_inner(),
            roles: allowed,
            data: fields(p, t.data),
            notify: t.notify.into_iter().map(Spanned::into_inner).collect(),
        });
    }

    // Every state reachable from the start; every non-terminal state has a way out.
    let mut reached = HashSet::from([raw.initial_state.get_ref().clone()]);
    let mut queue = VecDeque::from([raw.initial_state.get_ref().clone()]);
    while let Some(s) = queue.pop_front() {
        for (from, to) in &edges {
            if *from == s && reached.insert(to.clone()) {
                queue.push_back(to.clone());
            }
        }
    }
    for s in &raw.states {
        if !reached.contains(s.name.get_ref()) {
            p.at_span(
                &s.name,
                format!("state {:?} is unreachable from {:?}", s.name.get_ref(), raw.initial_state.get_ref()),
            );
        }
        if !s.terminal && !edges.iter().any(|(from, _)| from == s.name.get_ref()) {
            p.at_span(
                &s.name,
                format!("state {:?} is not terminal but no transition leaves it", s.name.get_ref()),
            );
        }
    }

    // Deadlines.
    let all_fields: Vec<&DataField> =
        create.data.iter().chain(transitions.iter().flat_map(|t| t.data.iter())).collect();
    check_unique(p, "deadline", raw.deadlines.iter().map(|d| &d.name));
    let mut deadlines = Vec::new();
    for d in raw.deadlines {
        if d.states.is_empty() {
            p.at_span(&d.name, format!("deadline {:?} names no states", d.name.get_ref()));
        }
        for s in &d.states {
            check_state(p, s, "deadline");
            if terminal.get(s.get_ref()) == Some(&true) {
                p.at_span(
                    s,
                    format!(
                        "deadline {:?} is on terminal state {:?}, which is never left",
                        d.name.get_ref(),
                        s.get_ref()
                    ),
                );
            }
        }
        if *d.duration.get_ref() == 0 {
            p.at_span(&d.duration, "duration must be at least 1");
        }
        let unit = match d.unit.get_ref().as_str() {
            "calendar_days" => Some(DeadlineUnit::CalendarDays),
            "working_days" => Some(DeadlineUnit::WorkingDays),
            "hours" => Some(DeadlineUnit::Hours),
            other => {
                p.at_span(
                    &d.unit,
                    format!("unknown unit {other:?}: use calendar_days, working_days or hours"),
                );
                None
            }
        };
        if let Some(f) = &d.starts_from_field {
            let ok = all_fields
                .iter()
                .any(|x| x.name == *f.get_ref() && matches!(x.kind, DataType::Date | DataType::Datetime));
            if !ok {
                p.at_span(
                    f,
                    format!(
                        "starts_from_field {:?} is not a date or datetime field of this workflow",
                        f.get_ref()
                    ),
                );
            }
        }
        check_slot(p, &d.responsible, "responsible");
        if let Some(e) = &d.escalate_to {
            check_slot(p, e, "escalate_to");
        }
        if d.legal_basis.get_ref().trim().is_empty() {
            p.at_span(&d.legal_basis, "legal_basis is empty: cite the article and the law");
        }
        let when = d.when.map(|w| {
            match all_fields.iter().find(|x| x.name == *w.field.get_ref() && x.kind == DataType::Choice) {
                None => p.at_span(
                    &w.field,
                    format!("when.field {:?} is not a choice field of this workflow", w.field.get_ref()),
                ),
                Some(field) => {
                    for v in &w.values {
                        if !field.options.contains(v.get_ref()) {
                            p.at_span(v, format!("{:?} is not an option of {:?}", v.get_ref(), field.name));
                        }
                    }
                }
            }
            Condition {
                field: w.field.into_inner(),
                values: w.values.into_iter().map(Spanned::into_inner).collect(),
            }
        });
        deadlines.push(Deadline {
            name: d.name.into_inner(),
            states: d.states.into_iter().map(Spanned::into_inner).collect(),
            duration: d.duration.into_inner(),
            unit: unit?,
            starts_from_field: d.starts_from_field.map(Spanned::into_inner),
            responsible: d.responsible.into_inner(),
            escalate_to: d.escalate_to.map(Spanned::into_inner),
            legal_basis: d.legal_basis.into_inner(),
            when,
            note: d.note,
        });
    }

    Some(Definition {
        id: raw.id.into_inner(),
        version: raw.version.into_inner(),
        valid_from: valid_from?,
        valid_until,
        title_vi: raw.title_vi,
        title_en: raw.title_en,
        law: raw.law,
        parties,
        states: raw
            .states
            .into_iter()
            .map(|s| State {
                name: s.name.into_inner(),
                title_vi: s.title_vi,
                title_en: s.title_en,
                terminal: s.terminal,
            })
            .collect(),
        initial_state: raw.initial_state.into_inner(),
        create,
        transitions,
        deadlines,
        source: p.path.to_owned(),
    })
}

/// Every version of every workflow, loaded from one directory.
#[derive(Debug, Default)]
pub struct Registry {
    by_id: BTreeMap<String, Vec<Arc<Definition>>>,
}

impl Registry {
    /// Loads every `*.toml` file directly in `dir` (sub-folders hold other data and are skipped).
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<DefinitionError>> {
        let problem = |reason: String| vec![DefinitionError { path: dir.to_owned(), line: 0, reason }];
        let entries =
            std::fs::read_dir(dir).map_err(|e| problem(format!("cannot read the workflows folder: {e}")))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                vec![DefinitionError { path: path.clone(), line: 0, reason: format!("cannot read: {e}") }]
            })?;
            files.push((path, text));
        }
        Self::from_sources(files.iter().map(|(p, t)| (p.as_path(), t.as_str())))
    }

    /// Builds the registry from file texts, checking that versions of one workflow neither
    /// repeat nor overlap in time.
    pub fn from_sources<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<Self, Vec<DefinitionError>> {
        let mut errors = Vec::new();
        let mut registry = Registry::default();
        for (path, text) in files {
            match parse_definition(path, text) {
                Ok(def) => registry.by_id.entry(def.id.clone()).or_default().push(Arc::new(def)),
                Err(mut e) => errors.append(&mut e),
            }
        }
        for versions in registry.by_id.values_mut() {
            versions.sort_by_key(|d| (d.valid_from, d.version));
            for pair in versions.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let at = |reason: String| DefinitionError { path: b.source.clone(), line: 1, reason };
                if a.version == b.version {
                    errors.push(at(format!(
                        "workflow {:?} version {} is also defined in {}",
                        b.id,
                        b.version,
                        a.source.display()
                    )));
                } else if a.valid_until.is_none_or(|until| until >= b.valid_from) {
                    errors.push(at(format!(
                        "workflow {:?} version {} starts {} while version {} ({}) is still in force",
                        b.id,
                        b.version,
                        b.valid_from,
                        a.version,
                        a.source.display()
                    )));
                }
            }
            versions.sort_by_key(|d| d.version);
        }
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, id: &str, version: u32) -> Option<&Arc<Definition>> {
        self.by_id.get(id)?.iter().find(|d| d.version == version)
    }

    /// The version that new instances take for a legal reference date.
    pub fn in_force(&self, id: &str, date: NaiveDate) -> Option<&Arc<Definition>> {
        self.by_id.get(id)?.iter().find(|d| d.in_force_on(date))
    }

    pub fn versions(&self, id: &str) -> Option<&[Arc<Definition>]> {
        self.by_id.get(id).map(Vec::as_slice)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Definition>> {
        self.by_id.values().flatten()
    }

    pub fn len(&self) -> usize {
        self.by_id.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
id = "demo"
version = 1
valid_from = 2026-07-01
title_vi = "Thử"
title_en = "Demo"
law = "Luật 106/2025/QH15"
initial_state = "open"

[[parties]]
slot = "court"
kind = "court"
title_vi = "Tòa án"
title_en = "Court"

[[states]]
name = "open"
title_vi = "Mở"
title_en = "Open"

[[states]]
name = "done"
title_vi = "Xong"
title_en = "Done"
terminal = true

[create]
party = "court"
roles = ["court_liaison"]

[[transitions]]
name = "finish"
title_vi = "Kết thúc"
title_en = "Finish"
from = ["open"]
to = "done"
party = "court"
roles = ["court_liaison"]

[[deadlines]]
name = "finish"
states = ["open"]
duration = 5
unit = "working_days"
responsible = "court"
legal_basis = "Điều 1"
"#;

    fn problems(text: &str) -> Vec<(usize, String)> {
        match parse_definition(Path::new("demo.toml"), text) {
            Ok(_) => vec![],
            Err(errors) => errors.into_iter().map(|e| (e.line, e.reason)).collect(),
        }
    }

    /// The line in `text` holding `needle`, counted from 1.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    fn assert_refused(text: &str, needle: &str, reason: &str) {
        let found = problems(text);
        let line = line_of(text, needle);
        assert!(
            found.iter().any(|(l, r)| *l == line && r.contains(reason)),
            "expected line {line} ({needle}) to say {reason:?}; got {found:?}"
        );
    }

    #[test]
    fn the_valid_file_loads() {
        assert_eq!(problems(VALID), vec![]);
    }

    #[test]
    fn unknown_states_are_refused_at_their_line() {
        let text = VALID.replace("to = \"done\"", "to = \"closed\"");
        assert_refused(&text, "to = \"closed\"", "unknown state \"closed\"");
        let text = VALID.replace("states = [\"open\"]", "states = [\"waiting\"]");
        assert_refused(&text, "states = [\"waiting\"]", "unknown state \"waiting\"");
    }

    #[test]
    fn unreachable_states_are_refused() {
        let text = VALID.replace(
            "[create]",
            "[[states]]\nname = \"limbo\"\ntitle_vi = \"x\"\ntitle_en = \"x\"\nterminal = true\n\n[create]",
        );
        assert_refused(&text, "name = \"limbo\"", "unreachable");
    }

    #[test]
    fn transitions_without_a_role_are_refused() {
        let text = VALID.replace(
            "from = [\"open\"]\nto = \"done\"\nparty = \"court\"\nroles = [\"court_liaison\"]",
            "from = [\"open\"]\nto = \"done\"\nparty = \"court\"\nroles = []",
        );
        assert_refused(&text, "name = \"finish\"", "no allowed role");
        let text = VALID.replace(
            "roles = [\"court_liaison\"]\n\n[[transitions]]",
            "roles = [\"judge\"]\n\n[[transitions]]",
        );
        assert_refused(&text, "roles = [\"judge\"]", "unknown role \"judge\"");
    }

    #[test]
    fn unknown_agency_kinds_are_refused() {
        let text = VALID.replace("kind = \"court\"", "kind = \"ministry\"");
        assert_refused(&text, "kind = \"ministry\"", "unknown agency kind \"ministry\"");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let text = VALID.replace(
            "[create]",
            "[[states]]\nname = \"open\"\ntitle_vi = \"x\"\ntitle_en = \"x\"\n\n[create]",
        );
        let found = problems(&text);
        let second =
            text.lines().enumerate().filter(|(_, l)| l.contains("name = \"open\"")).nth(1).unwrap().0 + 1;
        assert!(
            found.iter().any(|(l, r)| *l == second && r.contains("duplicate state name \"open\"")),
            "{found:?}"
        );
    }

    #[test]
    fn other_mistakes_are_refused_with_their_line() {
        assert_refused(
            &VALID.replace("unit = \"working_days\"", "unit = \"weeks\""),
            "unit = \"weeks\"",
            "unknown unit",
        );
        assert_refused(
            &VALID.replace("legal_basis = \"Điều 1\"", "legal_basis = \" \""),
            "legal_basis = \" \"",
            "cite the article",
        );
        assert_refused(
            &VALID.replace("law = ", "colour = \"red\"\nlaw = "),
            "colour",
            "unknown field `colour`",
        );
        assert_refused(
            &VALID.replace("duration = 5", "duration = \"5\""),
            "duration = \"5\"",
            "invalid type",
        );
        assert_refused(
            &VALID.replace("valid_from = 2026-07-01", "valid_from = \"2026-07-01\""),
            "valid_from",
            "invalid type",
        );
        assert_refused(
            &VALID.replace(
                "party = \"court\"\nroles = [\"court_liaison\"]\n\n[[transitions]]",
                "party = \"judge\"\nroles = [\"court_liaison\"]\n\n[[transitions]]",
            ),
            "party = \"judge\"",
            "unknown party slot",
        );
    }

    #[test]
    fn overlapping_versions_are_refused() {
        let v2 = VALID.replace("version = 1", "version = 2");
        let files = [(Path::new("a.toml"), VALID), (Path::new("b.toml"), v2.as_str())];
        let errors = Registry::from_sources(files).unwrap_err();
        assert!(errors[0].reason.contains("still in force"), "{errors:?}");

        let v1 =
            VALID.replace("valid_from = 2026-07-01", "valid_from = 2020-01-01\nvalid_until = 2026-06-30");
        let files = [(Path::new("a.toml"), v1.as_str()), (Path::new("b.toml"), v2.as_str())];
        let registry = Registry::from_sources(files).unwrap();
        let on = |d: &str| registry.in_force("demo", d.parse().unwrap()).map(|d| d.version);
        assert_eq!((on("2026-06-30"), on("2026-07-01"), on("2019-12-31")), (Some(1), Some(2), None));
    }

    #[test]
    fn the_shipped_workflows_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        let registry = Registry::load_dir(&dir).unwrap();
        assert!(registry.versions("court_transfer").is_some_and(|v| v.len() == 2));
        for def in registry.all() {
            for d in &def.deadlines {
                assert!(!d.legal_basis.trim().is_empty(), "{} {}", def.id, d.name);
            }
        }
    }
}
