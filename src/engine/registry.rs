//! Every version of every workflow, loaded from one folder, with the checks that span files:
//! versions of one workflow that repeat or overlap, and follow-ups that start another
//! workflow with parties or data it cannot take.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::definition::{DataType, Definition, FollowUp, Transition};
use super::loader::{parse_definition, DefinitionError};

#[derive(Debug, Default)]
pub struct Registry {
    by_id: BTreeMap<String, Vec<Arc<Definition>>>,
    /// The hex SHA-256 of the files it was built from, each file's name and text in turn: two
    /// nodes that loaded other definitions show different ones.
    fingerprint: String,
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

    /// Builds the registry from file texts.
    pub fn from_sources<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<Self, Vec<DefinitionError>> {
        let mut errors = Vec::new();
        let mut registry = Registry::default();
        let mut hash = Sha256::new();
        for (path, text) in files {
            let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(text.as_bytes());
            hash.update([0]);
            match parse_definition(path, text) {
                Ok(def) => registry.by_id.entry(def.id.clone()).or_default().push(Arc::new(def)),
                Err(mut e) => errors.append(&mut e),
            }
        }
        registry.fingerprint = hex::encode(hash.finalize());
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
        for def in registry.all() {
            errors.extend(registry.check_transitional(def));
            for t in &def.transitions {
                for follow_up in &t.starts {
                    errors.extend(registry.check_follow_up(def, t, follow_up));
                }
            }
        }
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(errors)
        }
    }

    /// Checks that a transitional rule names earlier versions that exist, and states of theirs.
    fn check_transitional(&self, def: &Definition) -> Vec<DefinitionError> {
        let Some(rule) = &def.transitional else { return Vec::new() };
        let problem = |reason: String| DefinitionError { path: def.source.clone(), line: 1, reason };
        let mut errors = Vec::new();
        let earlier: Vec<&Definition> =
            rule.from_versions.iter().filter_map(|v| self.get(&def.id, *v).map(|d| &**d)).collect();
        for v in rule.from_versions.iter().filter(|v| !earlier.iter().any(|d| d.version == **v)) {
            errors.push(problem(format!(
                "[transitional] names version {v} of {:?}, which is not defined",
                def.id
            )));
        }
        for state in rule.stay.iter().filter(|s| !earlier.iter().any(|d| d.state(s).is_some())) {
            errors.push(problem(format!(
                "[transitional] stay names {state:?}, a state of none of the versions it moves from"
            )));
        }
        errors
    }

    /// Checks that every version of the started workflow that may be in force while `def` is
    /// (one not ended before `def` begins) can take what the step carries over.
    fn check_follow_up(&self, def: &Definition, t: &Transition, f: &FollowUp) -> Vec<DefinitionError> {
        let problem = |reason: String| DefinitionError { path: def.source.clone(), line: f.line, reason };
        let Some(targets) = self.versions(&f.workflow) else {
            return vec![problem(format!("starts unknown workflow {:?}", f.workflow))];
        };
        let mut errors = Vec::new();
        for target in targets.iter().filter(|t| t.valid_until.is_none_or(|until| until >= def.valid_from)) {
            let name = format!("{} v{}", target.id, target.version);
            for party in &target.parties {
                match f.parties.get(&party.slot) {
                    None if party.required => {
                        errors.push(problem(format!("{name} needs its party {:?} carried over", party.slot)))
                    }
                    // A superior office's kind is known only at run time; the engine checks it then.
                    Some(source) if source.starts_with(super::step::PARENT_OF) => {}
                    Some(source) if def.party(source).is_some_and(|s| s.kind != party.kind) => {
                        errors.push(problem(format!(
                            "{name} party {:?} takes a {} agency; {source:?} is not one",
                            party.slot,
                            party.kind.as_str()
                        )))
                    }
                    // The step could start it without a party it needs: the step must require it.
                    Some(source)
                        if party.required
                            && def.party(source).is_some_and(|s| !s.required)
                            && !t.requires_parties.contains(source)
                            && !t.slots().contains(source) =>
                    {
                        errors.push(problem(format!(
                            "{name} needs its party {:?}, but {source:?} is optional here: list it in the step's requires_parties",
                            party.slot
                        )))
                    }
                    _ => {}
                }
            }
            for slot in f.parties.keys().filter(|s| target.party(s).is_none()) {
                errors.push(problem(format!("{name} has no party slot {slot:?}")));
            }
            for field in &target.create.data {
                if let Some(value) = f.values.get(&field.name) {
                    let fits = match field.kind {
                        DataType::Choice => {
                            value.as_str().is_some_and(|v| field.options.iter().any(|o| o == v))
                        }
                        DataType::Boolean => value.is_boolean(),
                        DataType::Integer => value.is_i64(),
                        DataType::Text
                        | DataType::Date
                        | DataType::Datetime
                        | DataType::Money
                        | DataType::Party => value.is_string(),
                        DataType::Items | DataType::Receipt | DataType::Document => false,
                    };
                    if !fits {
                        errors.push(problem(format!(
                            "{name} field {:?} cannot take the value {value}",
                            field.name
                        )));
                    }
                    continue;
                }
                match f.data.get(&field.name) {
                    None if field.required => errors.push(problem(format!(
                        "{name} needs its creation field {:?} carried over",
                        field.name
                    ))),
                    Some(source)
                        if def.fields().find(|x| x.name == *source).is_some_and(|x| x.kind != field.kind) =>
                    {
                        errors.push(problem(format!(
                            "{name} field {:?} is of another type than {source:?}",
                            field.name
                        )))
                    }
                    _ => {}
                }
            }
            for field in f
                .data
                .keys()
                .chain(f.values.keys())
                .filter(|k| !target.create.data.iter().any(|x| &x.name == *k))
            {
                errors.push(problem(format!("{name} takes no creation field {field:?}")));
            }
        }
        errors
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

    /// The deadline `name` of `workflow` as its latest version that has one declares it: what
    /// a deadline, a notice or a report is titled by.
    pub fn deadline(&self, workflow: &str, name: &str) -> Option<&super::definition::Deadline> {
        self.versions(workflow)?.iter().rev().find_map(|def| def.deadlines.iter().find(|d| d.name == name))
    }

    /// The workflows whose instances are coercion operations (a version declares `[coercion]`).
    pub fn coercion_workflows(&self) -> Vec<&str> {
        self.ids_where(|d| d.coercion.is_some())
    }

    /// The workflows whose instances are the procuracy's instruments (`[supervision]`).
    pub fn supervision_workflows(&self) -> Vec<&str> {
        self.ids_where(|d| d.supervision.is_some())
    }

    fn ids_where(&self, pick: impl Fn(&Definition) -> bool) -> Vec<&str> {
        self.by_id
            .iter()
            .filter(|(_, versions)| versions.iter().any(|d| pick(d)))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// The hex SHA-256 of the definition files, by name and text.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn len(&self) -> usize {
        self.by_id.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
