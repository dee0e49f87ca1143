//! Opening cases, one or a batch, with their payments and outcome so far.

use serde_json::{json, Value};
use uuid::Uuid;

use super::change::check_basis;
use super::ledger::{field_error, opened_event, Ledger};
use super::*;
use crate::domain::{check_text, now, today_local, AgencyKind};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::service::agencies::Tree;
use crate::service::case_stats::Changes;
use crate::service::idempotency::{self, IdempotencyKey, Reply};
use crate::store::DbConn;

pub(super) fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, format!("is longer than {max} characters")));
    } else if let Err(r) = check_text(v) {
        errors.push(FieldError::new(field, r));
    }
    v.to_owned()
}

fn person(errors: &mut Vec<FieldError>, field: &str, p: &Person) -> String {
    let name = text(errors, &format!("{field}.name"), &p.name, 200);
    let id_number = p.id_number.as_deref().map(|v| text(errors, &format!("{field}.id_number"), v, 40));
    let address = p.address.as_deref().map(|v| text(errors, &format!("{field}.address"), v, 500));
    json!(Person { name, id_number, address }).to_string()
}

/// Checks a new case and builds it, with what already happened to it, in memory.
fn open_case(tree: &Tree, actor: &Actor, req: &CreateCase, prefix: &str) -> ApiResult<Ledger> {
    let office = req.agency.as_str();
    if !tree.contains(office) || !matches!(tree.kind(office), Some(AgencyKind::Enforcement)) {
        return Err(field_error(&format!("{prefix}agency"), "is not an enforcement office here"));
    }
    if !may_change(tree, actor, office) {
        return Err(ApiError::forbidden(format!(
            "only enforcement officers and heads of {office} or an office above it may open its cases"
        )));
    }
    let mut errors = Vec::new();
    let number = text(&mut errors, &format!("{prefix}number"), &req.number, 64);
    let judgment_ref = text(&mut errors, &format!("{prefix}judgment_ref"), &req.judgment_ref, 200);
    let court_name = text(&mut errors, &format!("{prefix}court_name"), &req.court_name, 300);
    if let Some(court) = &req.court {
        if tree.kind(court.as_str()) != Some(AgencyKind::Court) {
            errors.push(FieldError::new(format!("{prefix}court"), "is not a court here"));
        }
    }
    let obligor = person(&mut errors, &format!("{prefix}obligor"), &req.obligor);
    let obligee = person(&mut errors, &format!("{prefix}obligee"), &req.obligee);
    if req.received_on > today_local() {
        errors.push(FieldError::new(format!("{prefix}received_on"), "is in the future"));
    } else if req.received_on < EARLIEST {
        errors.push(FieldError::new(format!("{prefix}received_on"), format!("is before {EARLIEST}")));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("the case is not valid", errors));
    }
    let at = now().timestamp_micros();
    let id = Uuid::now_v7().to_string();
    let classification = req.classification.unwrap_or(Classification::Unclassified);
    let row = CaseRow {
        id,
        agency_code: office.to_owned(),
        number,
        judgment_ref,
        court_code: req.court.as_ref().map(|c| c.to_string()),
        court_name,
        category: req.category.as_str(),
        obligor,
        obligee,
        amount_due: req.amount_due.to_string(),
        collected: "0".into(),
        received_on: req.received_on.to_string(),
        classification: classification.as_str().into(),
        status: CaseStatus::Open.as_str().into(),
        closed_on: None,
        version: 0,
        created_at: at,
        updated_at: at,
        last_hash: GENESIS.into(),
    };
    let mut ledger = Ledger::new(row, ChangedBy::of(actor, acting_role(actor)), at);
    let opened = opened_event(&ledger.row);
    ledger.event("opened", opened);
    let located = |e: ApiError, what: String| match e.code {
        ErrorCode::ValidationFailed => ApiError::validation(
            e.detail,
            e.errors.into_iter().map(|f| FieldError::new(format!("{what}.{}", f.field), f.reason)).collect(),
        ),
        _ => ApiError { detail: format!("{what}: {}", e.detail), ..e },
    };
    for (i, p) in req.payments.iter().enumerate() {
        ledger.pay(p, None).map_err(|e| located(e, format!("{prefix}payments[{i}]")))?;
    }
    if let Some(outcome) = &req.outcome {
        let basis = check_basis(&outcome.basis).map_err(|e| located(e, format!("{prefix}outcome")))?;
        ledger
            .set_status(outcome.status, outcome.on, &basis, Value::Null)
            .map_err(|e| located(e, format!("{prefix}outcome")))?;
    }
    Ok(ledger)
}

/// Opens a case.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    req: CreateCase,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        let tree = Tree::load(conn)?;
        let mut changes = Changes::default();
        let ledger = open_case(&tree, actor, &req, "")?;
        let row = ledger.save(conn, &mut changes, true)?;
        changes.flush(conn)?;
        let body = serde_json::to_value(view(&row, Access::Full)?).map_err(ApiError::internal)?;
        Ok((201, body))
    })
}

/// Opens many cases in one transaction: all of them, or none.
pub fn create_many(
    conn: &mut DbConn,
    actor: &Actor,
    req: CreateCases,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    if req.cases.is_empty() || req.cases.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "send 1 to 1000 cases at a time",
            vec![FieldError::new("cases", format!("has {} cases", req.cases.len()))],
        ));
    }
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        let tree = Tree::load(conn)?;
        let mut changes = Changes::default();
        let mut ids = Vec::with_capacity(req.cases.len());
        for (i, case) in req.cases.iter().enumerate() {
            let ledger = open_case(&tree, actor, case, &format!("cases[{i}]."))?;
            let row = ledger.save(conn, &mut changes, true)?;
            ids.push(row.id);
        }
        changes.flush(conn)?;
        Ok((201, json!({ "created": ids.len(), "ids": ids })))
    })
}
