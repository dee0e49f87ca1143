//! Workflow definitions as the API shows them.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::workflow::definition::Definition;
use crate::workflow::registry::Registry;

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
