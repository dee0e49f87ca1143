//! Cases (việc thi hành án): the matter an office enforces, its money and its outcome.
//!
//! Who sees what: the office that holds the case (and the offices above it), the court that
//! gave the judgment, and auditors see everything, personal data included; admins and the
//! agencies taking part in one of the case's instances see the case without its personal data;
//! anyone else gets 404. Only the office's enforcement officers and heads change a case.
//!
//! Every answer that shows the personal data to someone beyond the case's own office and court
//! (an auditor, an office above the case's) is recorded, append-only, before it is given: who,
//! when, which case, through which route. The office's heads, admins and auditors read these
//! records.
//!
//! Every change appends a hash-chained event; payments are never edited: a correction is a
//! reversing entry. Each change also moves the case's contribution to the kept report figures
//! (`case_stats`), in the same transaction.

mod ledger;
mod model;

pub use model::*;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::agencies::Tree;
use super::case_stats::Changes;
use super::idempotency::{self, IdempotencyKey, Reply};
use crate::domain::{check_text, local_rfc3339, now, today_local, AgencyCode, AgencyKind, Money, Role};
use crate::engine::history::GENESIS;
use crate::engine::plan::CaseChange;
use crate::engine::step::Actor;
use crate::engine::step::CaseHolder;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::store::cases::{
    self as store, CaseEventRow, CaseRow, ListFilter, PaymentRow, PersonalDataReadRow,
};
use crate::store::{write_transaction, DbConn};
use ledger::{day, dec, event_hash, field_error, personal_digest, Ledger};

/// Most cases one import request may carry.
pub const MAX_BATCH: usize = 1000;

/// No case still enforced was received before the 1993 ordinance on civil judgment
/// enforcement; an earlier date is a typing error.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// How much of a case a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Full,
    WithoutPersonalData,
}

fn access(conn: &mut DbConn, tree: &Tree, actor: &Actor, row: &CaseRow) -> ApiResult<Option<Access>> {
    let me = actor.agency.as_str();
    if actor.has_role(Role::Auditor)
        || tree.is_within(&row.agency_code, me)
        || row.court_code.as_deref() == Some(me)
    {
        return Ok(Some(Access::Full));
    }
    if actor.has_role(Role::Admin) || store::agency_takes_part(conn, &row.id, me)? {
        return Ok(Some(Access::WithoutPersonalData));
    }
    Ok(None)
}

/// Whether the actor may change cases of `office`: one of its (or a superior office's)
/// enforcement officers or heads.
fn may_change(tree: &Tree, actor: &Actor, office: &str) -> bool {
    (actor.has_role(Role::EnforcementOfficer) || actor.has_role(Role::EnforcementHead))
        && tree.is_within(office, actor.agency.as_str())
}

/// An answer, and the showings of personal data to record before it is given.
#[derive(Debug)]
pub struct Shown<T> {
    pub value: T,
    pub reads: Vec<PersonalDataReadRow>,
}

/// The record of showing `row`'s personal data to `actor` through `route`, when the actor is
/// beyond the case's own office and court: an auditor, or an office above the case's.
fn read_record(actor: &Actor, row: &CaseRow, route: &str) -> Option<PersonalDataReadRow> {
    let me = actor.agency.as_str();
    let own = me == row.agency_code || row.court_code.as_deref() == Some(me);
    (actor.has_role(Role::Auditor) || !own).then(|| PersonalDataReadRow {
        id: Uuid::now_v7().to_string(),
        case_id: row.id.clone(),
        read_at: now().timestamp_micros(),
        reader_sub: actor.sub.clone(),
        reader_name: actor.name.clone(),
        reader_agency: me.to_owned(),
        reader_roles: actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        route: route.to_owned(),
    })
}

/// Writes the records of a read, all or none, before its answer is given.
pub fn record_reads(conn: &mut DbConn, reads: &[PersonalDataReadRow]) -> ApiResult<()> {
    write_transaction(conn, |conn| {
        for read in reads {
            store::insert_read(conn, read)?;
        }
        Ok(())
    })
}

fn acting_role(actor: &Actor) -> &'static str {
    if actor.has_role(Role::EnforcementHead) {
        Role::EnforcementHead.as_str()
    } else {
        Role::EnforcementOfficer.as_str()
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no case {id}"))
}

fn view(row: &CaseRow, access: Access) -> ApiResult<Case> {
    let person = |raw: &str| serde_json::from_str::<Person>(raw).map_err(ApiError::internal);
    let full = access == Access::Full;
    let amount_due = Money::parse(&row.amount_due).map_err(ApiError::internal)?;
    let collected = dec(&row.collected)?;
    Ok(Case {
        id: row.id.clone(),
        agency: row.agency_code.clone(),
        number: row.number.clone(),
        judgment_ref: row.judgment_ref.clone(),
        court: Court { code: row.court_code.clone(), name: row.court_name.clone() },
        category: serde_json::from_value(Value::from(row.category.as_str())).map_err(ApiError::internal)?,
        obligor: if full { Some(person(&row.obligor)?) } else { None },
        obligee: if full { Some(person(&row.obligee)?) } else { None },
        personal_data_withheld: !full,
        outstanding: amount_due.value() - collected,
        amount_due,
        collected,
        received_on: day(&row.received_on)?,
        carried_over: {
            let year_start = super::case_stats::year_bounds(super::case_stats::reporting_year(today_local()));
            year_start.is_some_and(|(start, _)| row.received_on < start.to_string())
        },
        classification: Classification::parse(&row.classification)?,
        status: CaseStatus::parse(&row.status)?,
        closed_on: row.closed_on.as_deref().map(day).transpose()?,
        version: row.version,
        created_at: local_rfc3339(row.created_at),
        updated_at: local_rfc3339(row.updated_at),
    })
}

fn payment_view(row: PaymentRow) -> ApiResult<Payment> {
    Ok(Payment {
        amount: dec(&row.amount)?,
        paid_on: day(&row.paid_on)?,
        recorded_at: local_rfc3339(row.recorded_at),
        id: row.id,
        case_id: row.case_id,
        method: row.method,
        reverses: row.reverses,
        instance_id: row.instance_id,
        instance_seq: row.instance_seq,
        note: row.note,
        recorded_by: row.recorded_by,
    })
}

/// Who makes a change, as the history records it.
#[derive(Debug, Clone)]
pub struct ChangedBy {
    pub sub: String,
    pub name: String,
    pub agency: String,
    pub role: String,
}

impl ChangedBy {
    fn of(actor: &Actor, role: &str) -> Self {
        Self {
            sub: actor.sub.clone(),
            name: actor.name.clone(),
            agency: actor.agency.to_string(),
            role: role.into(),
        }
    }
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) -> String {
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
    let mut ledger = Ledger {
        loaded_version: 0,
        before: None,
        payments: Vec::new(),
        new_events: Vec::new(),
        new_payments: Vec::new(),
        by: ChangedBy::of(actor, acting_role(actor)),
        at,
        row,
    };
    let opened = json!({
        "agency": ledger.row.agency_code, "number": ledger.row.number, "judgment_ref": ledger.row.judgment_ref,
        "court": ledger.row.court_code, "court_name": ledger.row.court_name, "category": ledger.row.category,
        "amount_due": ledger.row.amount_due, "received_on": ledger.row.received_on,
        "classification": ledger.row.classification,
        "personal_data_sha256": personal_digest(&ledger.row.obligor, &ledger.row.obligee),
    });
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

fn find_visible(conn: &mut DbConn, tree: &Tree, actor: &Actor, id: Uuid) -> ApiResult<(CaseRow, Access)> {
    let id = id.to_string();
    let row = store::find(conn, &id)?.ok_or_else(|| not_found(&id))?;
    match access(conn, tree, actor, &row)? {
        Some(a) => Ok((row, a)),
        None => Err(not_found(&id)),
    }
}

/// Loads a case the actor may change, or says why not (404 unseen, 403 seen but not theirs).
fn find_changeable(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<(Tree, CaseRow)> {
    let tree = Tree::load(conn)?;
    let (row, _) = find_visible(conn, &tree, actor, id)?;
    if !may_change(&tree, actor, &row.agency_code) {
        return Err(ApiError::forbidden(format!(
            "only enforcement officers and heads of {} or an office above it change this case",
            row.agency_code
        )));
    }
    Ok((tree, row))
}

/// One case, and the record to write if it shows personal data beyond the case's office.
pub fn get(conn: &mut DbConn, actor: &Actor, id: Uuid, route: &str) -> ApiResult<Shown<Case>> {
    let tree = Tree::load(conn)?;
    let (row, access) = find_visible(conn, &tree, actor, id)?;
    let reads = match access {
        Access::Full => read_record(actor, &row, route).into_iter().collect(),
        Access::WithoutPersonalData => Vec::new(),
    };
    Ok(Shown { value: view(&row, access)?, reads })
}

/// What a list of cases may be narrowed by.
#[derive(Debug, Default)]
pub struct Query {
    pub agency: Option<AgencyCode>,
    pub status: Option<CaseStatus>,
    pub classification: Option<Classification>,
    pub received_from: Option<NaiveDate>,
    pub received_to: Option<NaiveDate>,
    pub cursor: Option<String>,
    pub limit: i64,
}

/// The cases of the offices the actor works for (the office and those under it); auditors and
/// admins list every office's.
pub fn list(conn: &mut DbConn, actor: &Actor, q: Query, route: &str) -> ApiResult<Shown<CasePage>> {
    let tree = Tree::load(conn)?;
    let everything = actor.reads_everything();
    let agencies = match &q.agency {
        Some(a) if everything || tree.is_within(a.as_str(), actor.agency.as_str()) => {
            Some(tree.subtree(a.as_str()))
        }
        Some(a) => return Err(ApiError::not_found(format!("no agency {a} among yours"))),
        None if everything => None,
        None => Some(tree.subtree(actor.agency.as_str())),
    };
    let after = match q.cursor {
        Some(c) => Some(
            Uuid::parse_str(&c)
                .map_err(|_| ApiError::bad_request("cursor is not one this service gave out"))?,
        ),
        None => None,
    };
    let filter = ListFilter {
        agencies,
        status: q.status.map(|s| s.as_str().to_owned()),
        classification: q.classification.map(|c| c.as_str().to_owned()),
        received_from: q.received_from.map(|d| d.to_string()),
        received_to: q.received_to.map(|d| d.to_string()),
        after: after.map(|a| a.to_string()),
        limit: q.limit + 1,
    };
    let mut rows = store::list(conn, &filter)?;
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.id.clone()) } else { None };
    let mut items = Vec::with_capacity(rows.len());
    let mut reads = Vec::new();
    for row in &rows {
        let access =
            if actor.has_role(Role::Auditor) || tree.is_within(&row.agency_code, actor.agency.as_str()) {
                reads.extend(read_record(actor, row, route));
                Access::Full
            } else {
                Access::WithoutPersonalData
            };
        items.push(view(row, access)?);
    }
    Ok(Shown { value: CasePage { items, next_cursor }, reads })
}

fn check_version(row: &CaseRow, expected: Option<i64>) -> ApiResult<()> {
    match expected {
        Some(v) if v != row.version => Err(ApiError::new(
            ErrorCode::VersionConflict,
            format!("case {} is at version {}, not {v}; read it again and decide anew", row.id, row.version),
        )),
        _ => Ok(()),
    }
}

fn check_basis(basis: &str) -> ApiResult<String> {
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

/// A step's change applied to its case in memory, to be saved with the step.
pub struct CaseUpdate {
    ledger: Ledger,
}

impl StepCase {
    /// The case of that id with the offices that may act on it: the one that holds it and
    /// those above it. None when there is no such case.
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
        let holder = CaseHolder {
            number: row.number.clone(),
            office: AgencyCode::parse(&row.agency_code).map_err(ApiError::internal)?,
            above,
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
        if let Some(status) = &change.status {
            let status = CaseStatus::parse(status)?;
            if ledger.status()? != status {
                ledger.set_status(status, change.on, &basis, source)?;
            }
        }
        Ok(CaseUpdate { ledger })
    }
}

impl CaseUpdate {
    /// Writes the change with the step, in its transaction.
    pub fn save(self, conn: &mut DbConn) -> ApiResult<()> {
        let mut changes = Changes::default();
        self.ledger.save(conn, &mut changes, false)?;
        changes.flush(conn)
    }
}

/// Who was shown the case's personal data beyond its office and court, oldest first: for the
/// heads of the case's office (and of the offices above it), admins and auditors.
pub fn personal_data_reads(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    cursor: Option<Uuid>,
    limit: i64,
) -> ApiResult<PersonalDataReadPage> {
    let tree = Tree::load(conn)?;
    let (row, _) = find_visible(conn, &tree, actor, id)?;
    let head =
        actor.has_role(Role::EnforcementHead) && tree.is_within(&row.agency_code, actor.agency.as_str());
    if !(head || actor.reads_everything()) {
        return Err(ApiError::forbidden(format!(
            "only the heads of {}, admins and auditors read who was shown this case's personal data",
            row.agency_code
        )));
    }
    let after = cursor.map(|c| c.to_string());
    let mut rows = store::reads_of(conn, &row.id, after.as_deref(), limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| r.id.clone()) } else { None };
    let items = rows
        .into_iter()
        .map(|r| PersonalDataRead {
            at: local_rfc3339(r.read_at),
            reader_roles: r.reader_roles.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            id: r.id,
            case_id: r.case_id,
            reader_sub: r.reader_sub,
            reader_name: r.reader_name,
            reader_agency: r.reader_agency,
            route: r.route,
        })
        .collect();
    Ok(PersonalDataReadPage { items, next_cursor })
}

/// The case's history and payments, for those who may see the case.
pub fn history(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<CaseHistory> {
    let tree = Tree::load(conn)?;
    let (row, _) = find_visible(conn, &tree, actor, id)?;
    let events = store::events(conn, &row.id)?
        .into_iter()
        .map(|e| CaseEvent {
            seq: e.seq,
            at: local_rfc3339(e.occurred_at),
            data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
            actor_sub: e.actor_sub,
            actor_name: e.actor_name,
            actor_agency: e.actor_agency,
            actor_role: e.actor_role,
            kind: e.kind,
            hash: e.hash,
        })
        .collect();
    let payments =
        store::payments_of(conn, &row.id)?.into_iter().map(payment_view).collect::<ApiResult<_>>()?;
    Ok(CaseHistory { case_id: row.id, events, payments })
}

/// Checks the case's chain of events, that it ends where the case row says, that the personal
/// data is what was recorded, and that the payments add up to what the case says is collected.
pub fn verify(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<CaseVerification> {
    let tree = Tree::load(conn)?;
    let (row, _) = find_visible(conn, &tree, actor, id)?;
    let events = store::events(conn, &row.id)?;
    let payments = store::payments_of(conn, &row.id)?;
    Ok(verify_rows(&row, &events, &payments))
}

pub(crate) fn verify_rows(
    row: &CaseRow,
    events: &[CaseEventRow],
    payments: &[PaymentRow],
) -> CaseVerification {
    let broken = |seq: i64, count: usize, reason: String| CaseVerification {
        valid: false,
        events: count,
        first_broken_seq: Some(seq),
        reason: Some(reason),
    };
    let mut prev = GENESIS.to_owned();
    for (i, e) in events.iter().enumerate() {
        let expected = i as i64 + 1;
        if e.seq != expected {
            return broken(e.seq, i + 1, format!("expected event {expected}, found {}", e.seq));
        }
        if e.prev_hash != prev || event_hash(e) != e.hash {
            return broken(e.seq, i + 1, "the event does not match its hash or its link".into());
        }
        if e.seq == 1 {
            let recorded: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
            if recorded["personal_data_sha256"] != personal_digest(&row.obligor, &row.obligee)
                || recorded["amount_due"] != row.amount_due.as_str()
            {
                return broken(1, i + 1, "the case is not what was recorded when it was opened".into());
            }
        }
        prev = e.hash.clone();
    }
    let next = events.len() as i64 + 1;
    if prev != row.last_hash || row.version != events.len() as i64 {
        return broken(next, events.len(), "the case's head is not its last event".into());
    }
    let sum: Decimal = payments.iter().filter_map(|p| p.amount.parse::<Decimal>().ok()).sum();
    if row.collected.parse::<Decimal>().ok() != Some(sum) {
        return broken(
            next,
            events.len(),
            format!("the payments add up to {sum}, the case says {}", row.collected),
        );
    }
    let recorded = events.iter().filter(|e| e.kind == "payment").count();
    if recorded != payments.len() {
        return broken(next, events.len(), "the payments do not match the history".into());
    }
    CaseVerification { valid: true, events: events.len(), first_broken_seq: None, reason: None }
}
