//! Changing a case: a payment, a status, a classification, directly or by a workflow's step.

use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::ledger::Ledger;
use super::open::text;
use super::*;
use crate::domain::{AgencyCode, AgencyKind};
use crate::engine::plan::CaseChange;
use crate::engine::step::{Actor, CaseHolder};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::service::agencies::Tree;
use crate::service::case_stats::Changes;
use crate::service::idempotency::{self, IdempotencyKey, Reply};
use crate::store::DbConn;

fn check_version(row: &CaseRow, expected: Option<i64>) -> ApiResult<()> {
    match expected {
        Some(v) if v != row.version => Err(ApiError::new(
            ErrorCode::VersionConflict,
            format!("case {} is at version {}, not {v}; read it again and decide anew", row.id, row.version),
        )),
        _ => Ok(()),
    }
}

pub(super) fn check_basis(basis: &str) -> ApiResult<String> {
    let mut errors = Vec::new();
    let b = text(&mut errors, "basis", basis, 1000);
    if errors.is_empty() {
        Ok(b)
    } else {
        Err(ApiError::validation("the basis is not valid", errors))
    }
}

/// Changes a case the actor may change, inside one transaction: `f` works on the case in
/// memory; what it did is then written, with the case's figures, if nobody changed the case
/// meanwhile. Answers `status` with what `f` returns beside the case.
fn change<T: Serialize>(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i64>,
    (key, fingerprint, status, route): (Option<&IdempotencyKey>, &str, u16, &str),
    f: impl FnOnce(&mut Ledger) -> ApiResult<T>,
) -> ApiResult<Reply> {
    idempotency::run(conn, actor, key, fingerprint, |conn| {
        let (_, row) = find_changeable(conn, actor, id)?;
        check_version(&row, expected_version)?;
        let mut changes = Changes::default();
        let mut ledger = Ledger::load(conn, row, ChangedBy::of(actor, acting_role(actor)))?;
        let extra = f(&mut ledger)?;
        let row = ledger.save(conn, &mut changes, false)?;
        changes.flush(conn)?;
        if let Some(read) = read_record(actor, &row, route) {
            store::insert_read(conn, &read)?;
        }
        let mut body = serde_json::to_value(view(&row, Access::Full)?).map_err(ApiError::internal)?;
        let extra = serde_json::to_value(extra).map_err(ApiError::internal)?;
        if !extra.is_null() {
            body = json!({ "payment": extra, "case": body });
        }
        Ok((status, body))
    })
}

/// Records a payment or a reversal; answers the payment and the case after it.
pub fn pay(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    req: NewPayment,
    (key, fingerprint, route): (Option<&IdempotencyKey>, &str, &str),
) -> ApiResult<Reply> {
    change(conn, actor, id, None, (key, fingerprint, 201, route), |ledger| ledger.pay(&req, None))
}

/// Records an outcome, a suspension or a resumption.
pub fn set_status(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    req: NewStatus,
    (key, fingerprint, route): (Option<&IdempotencyKey>, &str, &str),
) -> ApiResult<Reply> {
    let basis = check_basis(&req.basis)?;
    change(conn, actor, id, req.expected_version, (key, fingerprint, 200, route), |ledger| {
        ledger.set_status(req.status, req.on, &basis, Value::Null)
    })
}

/// Classifies a case as enforceable or not yet.
pub fn classify(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    req: NewClassification,
    (key, fingerprint, route): (Option<&IdempotencyKey>, &str, &str),
) -> ApiResult<Reply> {
    let basis = check_basis(&req.basis)?;
    change(conn, actor, id, req.expected_version, (key, fingerprint, 200, route), |ledger| {
        if ledger.row.classification == req.classification.as_str() {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                format!("the case is already {}", req.classification.as_str()),
            ));
        }
        ledger.check_day("on", req.on)?;
        ledger.classify(req.classification, Some(req.on), &basis, Value::Null)
    })
}

/// The case an instance is started for must exist and be one the starter may see.
pub fn check_link(conn: &mut DbConn, actor: &Actor, case_id: Uuid) -> ApiResult<()> {
    let tree = Tree::load(conn)?;
    find_visible(conn, &tree, actor, case_id).map(|_| ()).map_err(|_| {
        ApiError::validation(
            "the instance cannot belong to that case",
            vec![FieldError::new("case_id", "names no case you may see")],
        )
    })
}

/// A case a step may change: who holds it (for the engine to check the acting office), and
/// the case as read.
pub struct StepCase {
    pub holder: CaseHolder,
    row: CaseRow,
}

/// A step's change applied to its case in memory, to be saved with the step: and the case
/// it opens at the office the case is entrusted to, if it does.
pub struct CaseUpdate {
    ledger: Ledger,
    opened: Option<Ledger>,
}

impl StepCase {
    /// The case of that id with the offices that may act on it: the one that holds it, those
    /// above it and the enforcement offices directly under it. None when there is no such case.
    pub fn find(conn: &mut DbConn, case_id: &str) -> ApiResult<Option<StepCase>> {
        let Some(row) = store::find(conn, case_id)? else { return Ok(None) };
        let tree = Tree::load(conn)?;
        let mut above = Vec::new();
        let mut at = tree.parent(&row.agency_code);
        // Bounded: a tree of offices is a few levels deep, and a cycle must not hang us.
        while let Some(code) = at.filter(|_| above.len() < 32) {
            above.push(AgencyCode::parse(code).map_err(ApiError::internal)?);
            at = tree.parent(code);
        }
        let units = tree
            .children_of_kind(&row.agency_code, AgencyKind::Enforcement)
            .iter()
            .map(|c| AgencyCode::parse(c))
            .collect::<Result<_, _>>()
            .map_err(ApiError::internal)?;
        let holder = CaseHolder {
            number: row.number.clone(),
            office: AgencyCode::parse(&row.agency_code).map_err(ApiError::internal)?,
            above,
            units,
        };
        Ok(Some(StepCase { holder, row }))
    }

    /// Applies the change a step's plan makes to the case: the case's own rules may still
    /// refuse it (an amount beyond what is owed, a closed case), before anything is written.
    pub fn apply(
        self,
        conn: &mut DbConn,
        change: &CaseChange,
        actor: &Actor,
        role: &str,
    ) -> ApiResult<CaseUpdate> {
        let by = ChangedBy::of(actor, role);
        let source =
            json!({"instance_id": change.instance_id, "seq": change.seq, "transition": change.transition});
        let basis = format!("step {} of instance {}", change.transition, change.instance_id);
        let mut ledger = Ledger::load(conn, self.row, by)?;
        ledger.at = change.at;
        if let Some((amount, method)) = &change.payment {
            let payment = NewPayment {
                amount: *amount,
                paid_on: change.on,
                method: *method,
                note: Some(basis.clone()),
                reverses: None,
            };
            ledger.pay(&payment, Some((&change.instance_id, change.seq))).map_err(|e| ApiError {
                detail: format!("the case refuses the step's payment: {}", e.detail),
                ..e
            })?;
        }
        if let Some(class) = &change.classification {
            ledger.classify(Classification::parse(class)?, Some(change.on), &basis, source.clone())?;
        }
        if let Some(by) = &change.reduction {
            ledger.reduce_due(by.value(), change.on, &basis, source.clone())?;
        }
        if let Some((record, value)) = &change.record {
            ledger.event(
                "record",
                json!({"title_vi": record.title_vi, "title_en": record.title_en, "field": record.field,
                       "value": value, "on": change.on, "basis": basis, "source": source}),
            );
        }
        if let Some(status) = &change.status {
            let status = CaseStatus::parse(status)?;
            if ledger.status()? != status {
                ledger.set_status(status, change.on, &basis, source.clone())?;
            }
        }
        let opened = match &change.entrusted_to {
            None => None,
            Some((office, number)) => {
                let by = ChangedBy::of(actor, role);
                let opened = ledger.entrusted_copy(office.as_str(), number, change.on, by, source.clone())?;
                let entrusted = json!({"instance_id": change.instance_id, "seq": change.seq,
                                       "transition": change.transition, "case_id": opened.row.id,
                                       "agency": office.as_str(), "number": number});
                ledger.set_status(CaseStatus::Entrusted, change.on, &basis, entrusted)?;
                Some(opened)
            }
        };
        Ok(CaseUpdate { ledger, opened })
    }
}

impl CaseUpdate {
    /// Writes the change with the step, in its transaction.
    pub fn save(self, conn: &mut DbConn) -> ApiResult<()> {
        let mut changes = Changes::default();
        self.ledger.save(conn, &mut changes, false)?;
        if let Some(opened) = self.opened {
            opened.save(conn, &mut changes, true)?;
        }
        changes.flush(conn)
    }
}
