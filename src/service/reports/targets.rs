//! The targets an office is judged against, per reporting year.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::*;
use crate::domain::{local_rfc3339, now, AgencyCode, AgencyKind, Role};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::service::agencies::Tree;
use crate::store::cases::{self as case_store, TargetRow};
use crate::store::DbConn;

/// Sets the targets of an office for a reporting year: an admin, or a head of that office or
/// of an office above it.
pub fn set_target(
    conn: &mut DbConn,
    actor: &Actor,
    agency: AgencyCode,
    year: i32,
    cases_rate: Decimal,
    money_rate: Decimal,
) -> ApiResult<TargetRow> {
    let tree = Tree::load(conn)?;
    let office = agency.as_str();
    let allowed = actor.has_role(Role::Admin)
        || (actor.has_role(Role::EnforcementHead) && tree.is_within(office, actor.agency.as_str()));
    if !tree.contains(office)
        || !(allowed || supervises(&tree, actor) || tree.is_within(office, actor.agency.as_str()))
    {
        return Err(ApiError::not_found(format!("no agency {office} you may set targets for")));
    }
    if !allowed {
        return Err(ApiError::forbidden(
            "only an admin or a head of the office or one above it sets its targets",
        ));
    }
    if !matches!(tree.kind(office), Some(AgencyKind::Enforcement | AgencyKind::PrivateEnforcement)) {
        return Err(ApiError::validation(
            "targets are set for enforcement offices",
            vec![FieldError::new("agency", "is not an enforcement office")],
        ));
    }
    let mut errors = Vec::new();
    if !(2000..=2100).contains(&year) {
        errors.push(FieldError::new("year", "must be between 2000 and 2100"));
    }
    for (field, v) in [("cases_rate", cases_rate), ("money_rate", money_rate)] {
        if v.is_sign_negative() || v > Decimal::ONE_HUNDRED || v.scale() > 2 {
            errors
                .push(FieldError::new(field, "must be a percentage from 0 to 100 with at most two decimals"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("the targets are not valid", errors));
    }
    let row = TargetRow {
        agency_code: office.to_owned(),
        year,
        cases_rate: cases_rate.normalize().to_string(),
        money_rate: money_rate.normalize().to_string(),
        set_by: format!("{}/{}", actor.agency, actor.sub),
        set_at: now().timestamp_micros(),
    };
    crate::store::write_transaction(conn, |conn| case_store::upsert_target(conn, &row))?;
    Ok(row)
}

/// The target of an office for a year, as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Target {
    #[schema(value_type = String)]
    pub agency: String,
    pub year: i32,
    /// Target completion rate for cases, in percent.
    #[schema(value_type = String, example = "84")]
    pub cases_rate: Decimal,
    /// Target completion rate for money, in percent.
    #[schema(value_type = String, example = "45")]
    pub money_rate: Decimal,
    pub set_by: String,
    pub set_at: String,
}

impl Target {
    pub fn of(row: TargetRow) -> ApiResult<Target> {
        Ok(Target {
            cases_rate: row.cases_rate.parse().map_err(ApiError::internal)?,
            money_rate: row.money_rate.parse().map_err(ApiError::internal)?,
            agency: row.agency_code,
            year: row.year,
            set_by: row.set_by,
            set_at: local_rfc3339(row.set_at),
        })
    }
}
