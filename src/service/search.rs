//! Finding an instance or a case by a number in hand (a judgment's, a decision's, a register
//! entry's, the case's own) and, for those who may see a case's personal data, by its parties'
//! names and ID numbers. Vietnamese typed without diacritics finds the text with them.
//!
//! Scoped exactly as the lists are: an instance is found by the agencies it is seen by (by
//! everyone for admins and auditors), a case by the office holding it and the offices above
//! (by everyone for admins and auditors). Names are searched only where the caller sees the
//! personal data: the cases of their own offices, or all of them for an auditor; never for an
//! admin. The scope is part of the index query, so nothing outside it is read, counted or
//! shown. A case found by a name is a showing of its personal data, recorded like the others
//! when the caller is beyond its own office and court.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::agencies::Tree;
use super::cases::{self, Shown};
use crate::domain::Role;
use crate::engine::registry::Registry;
use crate::engine::search::{office_word, party_word, words};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::store::search::{self as store, Query, Terms, CASE};
use crate::store::{cases as case_store, instances as instance_store, DbConn};

/// Longest query taken, in characters.
pub const MAX_QUERY: usize = 200;
/// Most results given, and how many unless asked otherwise.
pub const MAX_RESULTS: i64 = 100;
pub const DEFAULT_RESULTS: i64 = 20;
/// Rows read at a time while indexing what was there before search.
const PAGE: i64 = 1000;

/// What to search for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Numbers or names, with or without diacritics: every word must be found.
    #[param(example = "quyet dinh 45", min_length = 1, max_length = 200)]
    pub q: String,
    /// Most results (1 to 100, 20 unless given).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Instance,
    Case,
}

/// An instance or a case the query found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Hit {
    pub kind: HitKind,
    pub id: Uuid,
    /// The instance's workflow title, or the case's number.
    #[schema(example = "Chuyển giao bản án, quyết định")]
    pub title: String,
    /// The instance's workflow, by id, and the version it runs under; none for a case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<u32>,
    /// The instance's state or the case's status.
    pub state: String,
    /// The numbers it is found by, as they were written.
    pub numbers: Vec<String>,
    /// The agency holding the case, or the instance's agencies.
    pub agencies: Vec<String>,
    /// True when only the case's personal data (a name, an ID number) matched: the reason it
    /// was found is not shown, and the finding is recorded among the case's personal-data
    /// reads when the caller is beyond its office and court.
    pub matched_personal_data: bool,
    /// Where to read it.
    #[schema(example = "/api/v1/instances/0190f0a4-8c2b-7cc1-8000-000000000000")]
    pub href: String,
}

/// The results of a search, newest first: no count beyond them is given.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// The words searched for, as the index holds them.
    #[schema(example = json!(["quyet", "dinh", "45"]))]
    pub words: Vec<String>,
    pub items: Vec<Hit>,
}

/// What a caller may find.
struct Reach {
    names: bool,
    scope: Option<Vec<String>>,
}

fn reach(conn: &mut DbConn, actor: &Actor) -> ApiResult<Reach> {
    if actor.has_role(Role::Auditor) {
        return Ok(Reach { names: true, scope: None });
    }
    if actor.has_role(Role::Admin) {
        return Ok(Reach { names: false, scope: None });
    }
    let me = actor.agency.as_str();
    let tree = Tree::load(conn)?;
    let mut scope = vec![party_word(me)];
    scope.extend(tree.subtree(me).iter().map(|office| office_word(office)));
    // The cases in the caller's scope are those of their own offices, whose personal data
    // they see.
    Ok(Reach { names: true, scope: Some(scope) })
}

/// Checks a query and its size asked for.
pub fn check(q: &SearchQuery) -> ApiResult<(Vec<String>, i64)> {
    let limit = match q.limit {
        None => DEFAULT_RESULTS,
        Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "limit {n} is out of range: ask for 1 to {MAX_RESULTS}"
            )))
        }
    };
    let invalid = |reason: String| {
        ApiError::validation("the query cannot be searched", vec![FieldError::new("q", reason)])
    };
    if q.q.chars().count() > MAX_QUERY {
        return Err(invalid(format!("is longer than {MAX_QUERY} characters")));
    }
    let words = words(&q.q);
    if words.is_empty() {
        return Err(invalid("has no letter or digit to search by".into()));
    }
    Ok((words, limit))
}

/// Finds what the actor may find by the words of `q`; `route` names the search among the
/// records of personal-data reads.
pub fn search(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    q: &SearchQuery,
    route: &str,
) -> ApiResult<Shown<SearchResults>> {
    let (words, limit) = check(q)?;
    let reach = reach(conn, actor)?;
    let found = store::find(
        conn,
        &Query { words: &words, names: reach.names, scope: reach.scope.as_deref(), limit },
    )?;
    let mut items = Vec::with_capacity(found.len());
    let mut reads = Vec::new();
    for terms in &found {
        let by_name = !covers(&terms.numbers, &words);
        let hit = if terms.kind == CASE {
            let Some(row) = case_store::find(conn, &terms.target_id)? else { continue };
            if by_name {
                reads.extend(cases::read_record(actor, &row, route));
            }
            Hit {
                kind: HitKind::Case,
                id: parse(&row.id)?,
                title: row.number.clone(),
                workflow: None,
                workflow_version: None,
                state: row.status.clone(),
                numbers: vec![row.number.clone(), row.judgment_ref.clone()],
                agencies: vec![row.agency_code.clone()],
                matched_personal_data: by_name,
                href: format!("/api/v1/cases/{}", row.id),
            }
        } else {
            let Some(row) = instance_store::find(conn, &terms.target_id)? else { continue };
            let def = registry.get(&row.workflow_id, u32::try_from(row.workflow_version).unwrap_or(0));
            let data: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&row.data).map_err(ApiError::internal)?;
            let numbers = def
                .map(|d| {
                    d.searchable_fields()
                        .filter_map(|f| data.get(f).and_then(|v| v.as_str()))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Hit {
                kind: HitKind::Instance,
                id: parse(&row.id)?,
                title: def.map_or_else(|| row.workflow_id.clone(), |d| d.title_vi.clone()),
                workflow: Some(row.workflow_id.clone()),
                workflow_version: u32::try_from(row.workflow_version).ok(),
                state: row.state.clone(),
                numbers,
                agencies: instance_store::access_of(conn, &row.id)?,
                matched_personal_data: false,
                href: format!("/api/v1/instances/{}", row.id),
            }
        };
        items.push(hit);
    }
    Ok(Shown { value: SearchResults { words, items }, reads })
}

/// Whether every word is among `text`'s.
fn covers(text: &str, words: &[String]) -> bool {
    let held: Vec<&str> = text.split(' ').collect();
    words.iter().all(|w| held.contains(&w.as_str()))
}

fn parse(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(ApiError::internal)
}

/// Writes the words of every instance and case already there before search was, if that is
/// still to be done; how many. Oldest first, instances and cases in the order they began (their
/// ids are time-ordered), so that the results come newest first as they would have. All of it
/// or nothing, in one transaction.
pub fn index_existing(conn: &mut DbConn, registry: &Registry) -> ApiResult<usize> {
    crate::store::write_transaction(conn, |conn| {
        if !store::take_index_task(conn)? {
            return Ok(0);
        }
        let mut instance_pages = Pages::default();
        let mut case_pages = Pages::default();
        let mut written = 0;
        loop {
            instance_pages.fill(|after| Ok(instance_store::page_after(conn, after, PAGE)?))?;
            case_pages.fill(|after| Ok(case_store::list(conn, &all_cases(after))?))?;
            let case_first = match (instance_pages.rows.front(), case_pages.rows.front()) {
                (None, None) => return Ok(written),
                (Some(i), Some(c)) => c.id < i.id,
                (None, Some(_)) => true,
                (Some(_), None) => false,
            };
            let terms = if case_first {
                case_pages.rows.pop_front().map(|row| cases::findable(&row))
            } else {
                findable_instance(conn, registry, &mut instance_pages)?
            };
            if let Some(terms) = terms {
                store::put(conn, &terms)?;
                written += 1;
            }
        }
    })
}

/// Rows read a page at a time, oldest first.
struct Pages<T> {
    rows: std::collections::VecDeque<T>,
    after: Option<String>,
    done: bool,
}

impl<T> Default for Pages<T> {
    fn default() -> Self {
        Pages { rows: Default::default(), after: None, done: false }
    }
}

trait Identified {
    fn id(&self) -> &str;
}

impl Identified for crate::store::instances::InstanceRow {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Identified for crate::store::cases::CaseRow {
    fn id(&self) -> &str {
        &self.id
    }
}

impl<T: Identified> Pages<T> {
    /// Reads the next page when the last is used up.
    fn fill(&mut self, read: impl FnOnce(Option<&str>) -> ApiResult<Vec<T>>) -> ApiResult<()> {
        if self.rows.is_empty() && !self.done {
            let page = read(self.after.as_deref())?;
            self.done = (page.len() as i64) < PAGE;
            self.after = page.last().map(|r| r.id().to_owned());
            self.rows.extend(page);
        }
        Ok(())
    }
}

fn all_cases(after: Option<&str>) -> case_store::ListFilter {
    case_store::ListFilter {
        agencies: None,
        status: None,
        classification: None,
        received_from: None,
        received_to: None,
        after: after.map(str::to_owned),
        limit: PAGE,
    }
}

/// The words of the next instance, if its definition gives it any.
fn findable_instance(
    conn: &mut DbConn,
    registry: &Registry,
    instances: &mut Pages<crate::store::instances::InstanceRow>,
) -> ApiResult<Option<Terms>> {
    let Some(row) = instances.rows.pop_front() else { return Ok(None) };
    let Some(def) = registry.get(&row.workflow_id, u32::try_from(row.workflow_version).unwrap_or(0)) else {
        return Ok(None);
    };
    let data = serde_json::from_str(&row.data).unwrap_or_default();
    let numbers = crate::engine::search::instance_words(def, &data);
    if numbers.is_empty() {
        return Ok(None);
    }
    let scope: Vec<String> =
        instance_store::access_of(conn, &row.id)?.iter().map(|a| party_word(a)).collect();
    Ok(Some(Terms {
        kind: store::INSTANCE.into(),
        target_id: row.id,
        numbers,
        names: String::new(),
        scope: scope.join(" "),
    }))
}
