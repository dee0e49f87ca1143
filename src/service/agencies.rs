//! Agencies: anyone signed in may list them; only an admin creates one.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::idempotency::{self, IdempotencyKey, Reply};
use crate::domain::{check_text, local_rfc3339, now, AgencyCode, AgencyKind, Role};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::store::agencies::{self as store, AgencyRow};
use crate::store::{is_unique_violation, DbConn};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgency {
    pub code: AgencyCode,
    pub kind: AgencyKind,
    /// The agency's name, such as "Cục Thi hành án dân sự thành phố Hà Nội".
    pub name: String,
    /// The code of the agency above it, such as the provincial office of a regional office.
    pub parent: Option<AgencyCode>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Agency {
    pub code: String,
    pub kind: AgencyKind,
    pub name: String,
    pub parent: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyPage {
    pub items: Vec<Agency>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn view(row: AgencyRow) -> ApiResult<Agency> {
    Ok(Agency {
        kind: row.kind.parse().map_err(ApiError::internal)?,
        created_at: local_rfc3339(row.created_at),
        code: row.code,
        name: row.name,
        parent: row.parent_code,
    })
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    req: CreateAgency,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    if !actor.has_role(Role::Admin) {
        return Err(ApiError::forbidden("only an admin may create agencies"));
    }
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 300 {
        return Err(ApiError::validation(
            "the agency needs a name",
            vec![FieldError::new("name", "1 to 300 characters")],
        ));
    }
    if let Err(reason) = check_text(&name) {
        return Err(ApiError::validation("the name cannot be stored", vec![FieldError::new("name", reason)]));
    }
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        if let Some(parent) = &req.parent {
            if store::find(conn, parent.as_str())?.is_none() {
                return Err(ApiError::validation(
                    "the parent agency does not exist",
                    vec![FieldError::new("parent", format!("no agency {parent}"))],
                ));
            }
        }
        let row = AgencyRow {
            code: req.code.to_string(),
            kind: req.kind.as_str().to_owned(),
            name,
            parent_code: req.parent.as_ref().map(ToString::to_string),
            created_at: now().timestamp_micros(),
        };
        match store::insert(conn, &row) {
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::new(
                    ErrorCode::AlreadyExists,
                    format!("agency {} already exists", row.code),
                ))
            }
            other => other?,
        }
        let body = serde_json::to_value(view(row)?).map_err(ApiError::internal)?;
        Ok((201, body))
    })
}

/// The names of the agencies `codes` name, by code; a code no agency has is left out.
pub fn names(conn: &mut DbConn, codes: &[&str]) -> ApiResult<std::collections::BTreeMap<String, String>> {
    Ok(crate::store::agencies::find_many(conn, codes)?.into_iter().map(|a| (a.code, a.name)).collect())
}

/// One agency by its code.
pub fn get(conn: &mut DbConn, code: &AgencyCode) -> ApiResult<Agency> {
    let row =
        store::find(conn, code.as_str())?.ok_or_else(|| ApiError::not_found(format!("no agency {code}")))?;
    view(row)
}

pub fn list(
    conn: &mut DbConn,
    kind: Option<AgencyKind>,
    cursor: Option<&str>,
    limit: i64,
) -> ApiResult<AgencyPage> {
    let mut rows = store::list(conn, kind.map(AgencyKind::as_str), cursor, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.code.clone()) } else { None };
    Ok(AgencyPage { items: rows.into_iter().map(view).collect::<ApiResult<_>>()?, next_cursor })
}

/// The agencies as a tree of offices under their parents.
pub struct Tree {
    nodes: std::collections::HashMap<String, (AgencyKind, Option<String>)>,
}

impl Tree {
    pub fn load(conn: &mut DbConn) -> ApiResult<Tree> {
        let mut nodes = std::collections::HashMap::new();
        for (code, kind, parent) in store::tree(conn)? {
            nodes.insert(code, (kind.parse().map_err(ApiError::internal)?, parent));
        }
        Ok(Tree { nodes })
    }

    pub fn contains(&self, code: &str) -> bool {
        self.nodes.contains_key(code)
    }

    pub fn kind(&self, code: &str) -> Option<AgencyKind> {
        self.nodes.get(code).map(|(k, _)| *k)
    }

    /// Whether `code` is `ancestor` or lies under it.
    pub fn is_within(&self, code: &str, ancestor: &str) -> bool {
        let mut at = Some(code);
        // Bounded: a tree of offices is a few levels deep, and a cycle must not hang us.
        for _ in 0..32 {
            match at {
                Some(c) if c == ancestor => return true,
                Some(c) => at = self.nodes.get(c).and_then(|(_, p)| p.as_deref()),
                None => return false,
            }
        }
        false
    }

    /// The agencies of `kind` whose parent is `code`, sorted.
    pub fn children_of_kind(&self, code: &str, kind: AgencyKind) -> Vec<String> {
        let mut out: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, (k, parent))| *k == kind && parent.as_deref() == Some(code))
            .map(|(c, _)| c.clone())
            .collect();
        out.sort();
        out
    }

    /// `code` and every agency under it, sorted.
    pub fn subtree(&self, code: &str) -> Vec<String> {
        let mut out: Vec<String> = self.nodes.keys().filter(|c| self.is_within(c, code)).cloned().collect();
        out.sort();
        out
    }

    /// Every agency, sorted.
    pub fn all(&self) -> Vec<String> {
        let mut out: Vec<String> = self.nodes.keys().cloned().collect();
        out.sort();
        out
    }

    pub fn parent(&self, code: &str) -> Option<&str> {
        self.nodes.get(code).and_then(|(_, p)| p.as_deref())
    }
}
