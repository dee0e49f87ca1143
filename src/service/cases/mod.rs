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

mod change;
mod ledger;
mod model;
mod open;

pub use change::{check_link, classify, pay, set_status, CaseUpdate, StepCase};
pub use ledger::findable;
pub use model::*;
pub use open::{create, create_many};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::agencies::Tree;
use crate::domain::{local_rfc3339, now, today_local, AgencyCode, Money, Role};
use crate::engine::history::GENESIS;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::store::cases::{
    self as store, CaseEventRow, CaseRow, ListFilter, PaymentRow, PersonalDataReadRow,
};
use crate::store::{write_transaction, DbConn};
use ledger::{day, dec, event_hash, personal_digest};

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
pub(crate) fn read_record(actor: &Actor, row: &CaseRow, route: &str) -> Option<PersonalDataReadRow> {
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

/// The record of a read of case `case_id`'s documents or data through `route`, when the
/// reader is beyond the case's own office and court; none for them, or when there is no case.
pub fn read_of(
    conn: &mut DbConn,
    actor: &Actor,
    case_id: &str,
    route: &str,
) -> ApiResult<Option<PersonalDataReadRow>> {
    Ok(store::find(conn, case_id)?.and_then(|row| read_record(actor, &row, route)))
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
    // The amount due as opened, then as each exemption or reduction left it, and the event
    // that last set it.
    let (mut due, mut due_seq) = (Value::Null, 1);
    for (i, e) in events.iter().enumerate() {
        let expected = i as i64 + 1;
        if e.seq != expected {
            return broken(e.seq, i + 1, format!("expected event {expected}, found {}", e.seq));
        }
        if e.prev_hash != prev || event_hash(e) != e.hash {
            return broken(e.seq, i + 1, "the event does not match its hash or its link".into());
        }
        let recorded: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
        if e.seq == 1 {
            if recorded["personal_data_sha256"] != personal_digest(&row.obligor, &row.obligee) {
                return broken(1, i + 1, "the case is not what was recorded when it was opened".into());
            }
            due = recorded["amount_due"].clone();
        } else if e.kind == "amount_due" {
            (due, due_seq) = (recorded["to"].clone(), e.seq);
        }
        prev = e.hash.clone();
    }
    let next = events.len() as i64 + 1;
    if !events.is_empty() && due != row.amount_due.as_str() {
        return broken(due_seq, events.len(), "the amount due is not what the history recorded".into());
    }
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
