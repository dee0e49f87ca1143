//! Workflow definitions as the API shows them.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::instances::{definition, find_visible};
use crate::domain::today_local;
use crate::engine::diagram;
use crate::engine::step::Actor;
use crate::store::DbConn;

use crate::engine::definition::Definition;
use crate::engine::registry::Registry;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowSummary {
    pub id: String,
    pub version: u32,
    pub title_vi: String,
    pub title_en: String,
    pub law: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// Whether new instances started today take this version.
    pub in_force: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowVersions {
    pub id: String,
    /// Every version, oldest first.
    pub versions: Vec<Definition>,
}

pub fn list(registry: &Registry, today: NaiveDate) -> Vec<WorkflowSummary> {
    registry
        .all()
        .map(|d| WorkflowSummary {
            id: d.id.clone(),
            version: d.version,
            title_vi: d.title_vi.clone(),
            title_en: d.title_en.clone(),
            law: d.law.clone(),
            valid_from: d.valid_from,
            valid_until: d.valid_until,
            in_force: d.in_force_on(today),
        })
        .collect()
}

pub fn versions(registry: &Registry, id: &str) -> ApiResult<WorkflowVersions> {
    let versions = registry.versions(id).ok_or_else(|| ApiError::not_found(format!("no workflow {id:?}")))?;
    Ok(WorkflowVersions {
        id: id.to_owned(),
        versions: versions.iter().map(|d| Definition::clone(Arc::as_ref(d))).collect(),
    })
}

/// How a diagram is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiagramFormat {
    /// SVG drawn by the service.
    #[default]
    Svg,
    /// Mermaid state-diagram text.
    Mermaid,
}

/// A diagram, ready to send.
pub struct Diagram {
    pub content_type: &'static str,
    pub body: String,
}

fn draw(def: &Definition, current: Option<&str>, format: DiagramFormat) -> ApiResult<Diagram> {
    Ok(match format {
        DiagramFormat::Svg => Diagram {
            content_type: "image/svg+xml",
            body: diagram::svg(def, current).map_err(ApiError::internal)?,
        },
        DiagramFormat::Mermaid => {
            Diagram { content_type: "text/vnd.mermaid; charset=utf-8", body: diagram::mermaid(def, current) }
        }
    })
}

/// The diagram of one version of a workflow: the one asked for, or the one in force today.
pub fn workflow_diagram(
    registry: &Registry,
    id: &str,
    version: Option<u32>,
    current: Option<&str>,
    format: DiagramFormat,
) -> ApiResult<Diagram> {
    let versions = registry.versions(id).ok_or_else(|| ApiError::not_found(format!("no workflow {id:?}")))?;
    let def = match version {
        Some(v) => versions
            .iter()
            .find(|d| d.version == v)
            .ok_or_else(|| ApiError::not_found(format!("workflow {id:?} has no version {v}")))?,
        None => registry
            .in_force(id, today_local())
            .or_else(|| versions.last())
            .ok_or_else(|| ApiError::not_found(format!("no workflow {id:?}")))?,
    };
    if let Some(state) = current.filter(|s| def.state(s).is_none()) {
        return Err(ApiError::not_found(format!("{id} v{} has no state {state:?}", def.version)));
    }
    draw(def, current, format)
}

/// The diagram of an instance's workflow version, its current state highlighted.
pub fn instance_diagram(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    id: Uuid,
    format: DiagramFormat,
) -> ApiResult<Diagram> {
    let loaded = find_visible(conn, actor, id)?;
    let def = definition(registry, &loaded.row)?;
    draw(def, Some(&loaded.row.state), format)
}
