//! Cases (việc thi hành án): the matter an office enforces, its money and its outcome.
//!
//! Who sees what: the office that holds the case (and the offices above it), the court that
//! gave the judgment, and auditors see everything, personal data included; admins and the
//! agencies taking part in one of the case's instances see the case without its personal data;
//! anyone else gets 404. Only the office's enforcement officers and heads change a case.
//!
//! Every change appends a hash-chained event; payments are never edited: a correction is a
//! reversing entry. Each change also moves the case's contribution to the kept report figures
//! (`case_stats`), in the same transaction.

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::agencies::Tree;
use super::case_stats::{Changes, Facts};
use super::idempotency::{self, IdempotencyKey, Reply};
use crate::db::cases::{self as store, CaseChange, CaseEventRow, CaseRow, ListFilter, PaymentRow};
use crate::db::{is_unique_violation, DbConn};
use crate::domain::{check_text, local_rfc3339, now, today_local, AgencyCode, AgencyKind, Money, Role};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::history::{canonical_json, GENESIS};
use crate::workflow::definition::CaseEffect;
use crate::workflow::engine::Actor;

/// Most cases one import request may carry.
pub const MAX_BATCH: usize = 1000;

/// No case still enforced was received before the 1993 ordinance on civil judgment
/// enforcement; an earlier date is a typing error.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A party to the judgment. Personal data: shown only to those who may see it, never logged.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    #[schema(example = "Nguyễn Văn A")]
    pub name: String,
    /// Citizen identity or enterprise registration number.
    pub id_number: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// Có điều kiện thi hành.
    Enforceable,
    /// Chưa có điều kiện thi hành.
    NotYetEnforceable,
    Unclassified,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforceable => "enforceable",
            Self::NotYetEnforceable => "not_yet_enforceable",
            Self::Unclassified => "unclassified",
        }
    }

    fn parse(s: &str) -> ApiResult<Self> {
        serde_json::from_value(Value::from(s)).map_err(ApiError::internal)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    /// Hoãn or tạm đình chỉ: still the office's, not counted as closed.
    Suspended,
    /// Thi hành xong.
    Completed,
    /// Đình chỉ thi hành án.
    Terminated,
    /// Ủy thác to another office, which opens a case of its own.
    Entrusted,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Suspended => "suspended",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
            Self::Entrusted => "entrusted",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Terminated | Self::Entrusted)
    }

    fn parse(s: &str) -> ApiResult<Self> {
        serde_json::from_value(Value::from(s)).map_err(ApiError::internal)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Civil,
    /// Tín dụng, ngân hàng.
    CreditBank,
    /// Tham nhũng, kinh tế.
    CorruptionEconomic,
    Administrative,
    Commercial,
    Labour,
    MarriageFamily,
    /// Fines, confiscation and court fees of criminal judgments.
    Criminal,
    Other,
}

impl Category {
    fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Transfer,
    /// Collected by a coercion operation.
    Coercion,
    /// Proceeds of a sale of seized assets.
    AssetSale,
    Offset,
    Other,
}

impl PaymentMethod {
    fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// Money received for a case, or (with `reverses`) the correction of an entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPayment {
    /// The amount; for a reversal, the amount of the entry reversed.
    pub amount: Money,
    pub paid_on: NaiveDate,
    pub method: PaymentMethod,
    pub note: Option<String>,
    /// The payment this entry reverses; the entry then takes its amount out again.
    pub reverses: Option<Uuid>,
}

/// A recorded outcome or a suspension.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStatus {
    pub status: CaseStatus,
    /// The day of the decision.
    pub on: NaiveDate,
    /// The decision and its legal basis, such as "QĐ đình chỉ số 12/QĐ-CTHADS".
    pub basis: String,
    /// Refused with 409 when the case has moved on.
    pub expected_version: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClassification {
    pub classification: Classification,
    pub on: NaiveDate,
    /// The verification record or decision, such as "Biên bản xác minh ngày 12/11/2026".
    pub basis: String,
    pub expected_version: Option<i64>,
}

/// A new case; `classification`, `payments` and `outcome` let an office bring in its cases
/// with what already happened to them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    /// The enforcement office that holds the case.
    #[schema(value_type = String, example = "THADS-LC")]
    pub agency: AgencyCode,
    /// The office's number of the case (số thụ lý), unique in the office.
    pub number: String,
    /// The judgment or decision enforced, such as "Bản án số 12/2026/DS-PT".
    pub judgment_ref: String,
    /// The court that gave it, when it is an agency here.
    #[schema(value_type = Option<String>, example = "TAND-LC")]
    pub court: Option<AgencyCode>,
    pub court_name: String,
    pub category: Category,
    pub obligor: Person,
    pub obligee: Person,
    pub amount_due: Money,
    pub received_on: NaiveDate,
    pub classification: Option<Classification>,
    #[serde(default)]
    pub payments: Vec<NewPayment>,
    pub outcome: Option<NewStatus>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCases {
    pub cases: Vec<CreateCase>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Court {
    pub code: Option<String>,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Case {
    pub id: String,
    pub agency: String,
    pub number: String,
    pub judgment_ref: String,
    pub court: Court,
    pub category: Category,
    /// Absent unless the caller may see personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obligor: Option<Person>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obligee: Option<Person>,
    /// True when the obligor and obligee were withheld from this caller.
    pub personal_data_withheld: bool,
    #[schema(value_type = String)]
    pub amount_due: Money,
    #[schema(value_type = String)]
    pub collected: Decimal,
    #[schema(value_type = String)]
    pub outstanding: Decimal,
    pub received_on: NaiveDate,
    /// Whether the case is carried over (năm trước chuyển sang) in the current reporting year:
    /// received before its 1 October. Reports of other periods say it for themselves.
    pub carried_over: bool,
    pub classification: Classification,
    pub status: CaseStatus,
    pub closed_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
    pub id: String,
    pub case_id: String,
    /// Negative for a reversal.
    #[schema(value_type = String, example = "-1500000")]
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub method: String,
    pub reverses: Option<String>,
    /// The instance and step it came from, such as a coercion operation's.
    pub instance_id: Option<String>,
    pub instance_seq: Option<i64>,
    pub note: Option<String>,
    pub recorded_at: String,
    pub recorded_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<Case>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEvent {
    pub seq: i64,
    pub at: String,
    pub actor_sub: String,
    pub actor_name: String,
    pub actor_agency: String,
    pub actor_role: String,
    /// opened, payment, status or classification.
    pub kind: String,
    pub data: Value,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseHistory {
    pub case_id: String,
    pub events: Vec<CaseEvent>,
    pub payments: Vec<Payment>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseVerification {
    pub valid: bool,
    pub events: usize,
    pub first_broken_seq: Option<i64>,
    pub reason: Option<String>,
}

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

fn dec(raw: &str) -> ApiResult<Decimal> {
    raw.parse().map_err(ApiError::internal)
}

fn day(raw: &str) -> ApiResult<NaiveDate> {
    raw.parse().map_err(ApiError::internal)
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

/// The hash of a case event: SHA-256 over the canonical JSON of every field but the hash.
fn event_hash(e: &CaseEventRow) -> String {
    let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    let body = json!({
        "encoding": 1,
        "case_id": e.case_id,
        "seq": e.seq,
        "occurred_at": e.occurred_at,
        "actor_sub": e.actor_sub,
        "actor_name": e.actor_name,
        "actor_agency": e.actor_agency,
        "actor_role": e.actor_role,
        "kind": e.kind,
        "data": data,
        "prev_hash": e.prev_hash,
    });
    let mut text = String::new();
    canonical_json(&body, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A digest of the personal data, kept in the history instead of the data itself.
fn personal_digest(obligor: &str, obligee: &str) -> String {
    let value = json!({
        "obligor": serde_json::from_str::<Value>(obligor).unwrap_or(Value::Null),
        "obligee": serde_json::from_str::<Value>(obligee).unwrap_or(Value::Null),
    });
    let mut text = String::new();
    canonical_json(&value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
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

/// A case being changed in memory: its row as it will be, the events and payments to write,
/// and its contribution as it was when loaded.
struct Ledger {
    row: CaseRow,
    loaded_version: i64,
    before: Option<Facts>,
    payments: Vec<PaymentRow>,
    new_events: Vec<CaseEventRow>,
    new_payments: Vec<PaymentRow>,
    by: ChangedBy,
    at: i64,
}

fn refuse(code: ErrorCode, detail: impl Into<String>) -> ApiError {
    ApiError::new(code, detail)
}

fn field_error(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::validation("the request does not fit the case", vec![FieldError::new(field, reason)])
}

impl Ledger {
    fn load(conn: &mut DbConn, row: CaseRow, by: ChangedBy) -> ApiResult<Ledger> {
        let payments = store::payments_of(conn, &row.id)?;
        let before = Some(facts(&row, &payments)?);
        Ok(Ledger {
            loaded_version: row.version,
            row,
            before,
            payments,
            new_events: Vec::new(),
            new_payments: Vec::new(),
            by,
            at: now().timestamp_micros(),
        })
    }

    fn status(&self) -> ApiResult<CaseStatus> {
        CaseStatus::parse(&self.row.status)
    }

    fn event(&mut self, kind: &str, data: Value) {
        let mut e = CaseEventRow {
            case_id: self.row.id.clone(),
            seq: self.row.version + 1,
            occurred_at: self.at,
            actor_sub: self.by.sub.clone(),
            actor_name: self.by.name.clone(),
            actor_agency: self.by.agency.clone(),
            actor_role: self.by.role.clone(),
            kind: kind.into(),
            data: data.to_string(),
            prev_hash: self.row.last_hash.clone(),
            hash: String::new(),
        };
        e.hash = event_hash(&e);
        self.row.version = e.seq;
        self.row.last_hash = e.hash.clone();
        self.row.updated_at = self.at;
        self.new_events.push(e);
    }

    fn check_day(&self, field: &str, on: NaiveDate) -> ApiResult<()> {
        if on > today_local() {
            return Err(field_error(field, "is in the future"));
        }
        if on.to_string() < self.row.received_on {
            return Err(field_error(
                field,
                format!("is before the case was received on {}", self.row.received_on),
            ));
        }
        Ok(())
    }

    fn last_payment_day(&self) -> Option<String> {
        self.payments.iter().chain(&self.new_payments).map(|p| p.paid_on.clone()).max()
    }

    fn classify(
        &mut self,
        to: Classification,
        on: Option<NaiveDate>,
        basis: &str,
        extra: Value,
    ) -> ApiResult<()> {
        let from = self.row.classification.clone();
        if from == to.as_str() {
            return Ok(());
        }
        if self.status()?.is_closed() {
            return Err(refuse(
                ErrorCode::CaseClosed,
                format!("case {} is {}", self.row.number, self.row.status),
            ));
        }
        self.row.classification = to.as_str().into();
        self.event(
            "classification",
            json!({"from": from, "to": to, "on": on, "basis": basis, "source": extra}),
        );
        Ok(())
    }

    fn set_status(&mut self, to: CaseStatus, on: NaiveDate, basis: &str, extra: Value) -> ApiResult<()> {
        let from = self.status()?;
        if from == to {
            return Err(refuse(ErrorCode::ValidationFailed, format!("the case is already {}", to.as_str())));
        }
        if from.is_closed() {
            return Err(refuse(
                ErrorCode::CaseClosed,
                format!(
                    "case {} is {}; a closed case changes only by reversing a payment",
                    self.row.number,
                    from.as_str()
                ),
            ));
        }
        self.check_day("on", on)?;
        let mut data = json!({"from": from, "to": to, "on": on, "basis": basis, "source": extra});
        if to.is_closed() {
            if let Some(last) = self.last_payment_day() {
                if on.to_string() < last {
                    return Err(field_error("on", format!("is before the last payment, on {last}")));
                }
            }
            self.row.closed_on = Some(on.to_string());
            // A case carried out in full had the conditions to be: it counts as enforceable.
            if to == CaseStatus::Completed && self.row.classification != Classification::Enforceable.as_str()
            {
                data["classification"] = json!({"from": self.row.classification, "to": "enforceable"});
                self.row.classification = Classification::Enforceable.as_str().into();
            }
        } else {
            self.row.closed_on = None;
        }
        self.row.status = to.as_str().into();
        self.event("status", data);
        Ok(())
    }

    fn pay(&mut self, p: &NewPayment, source: Option<(&str, i64)>) -> ApiResult<Payment> {
        let note = p.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(n) = &note {
            check_text(n).map_err(|r| field_error("note", r))?;
            if n.chars().count() > 1000 {
                return Err(field_error("note", "is longer than 1000 characters"));
            }
        }
        self.check_day("paid_on", p.paid_on)?;
        let due = dec(&self.row.amount_due)?;
        let collected = dec(&self.row.collected)?;
        let amount = match p.reverses {
            None => {
                if p.amount.value().is_zero() {
                    return Err(field_error("amount", "must be above zero"));
                }
                if self.status()?.is_closed() {
                    return Err(refuse(
                        ErrorCode::CaseClosed,
                        format!("case {} is {}: it takes no more payments", self.row.number, self.row.status),
                    ));
                }
                if collected + p.amount.value() > due {
                    return Err(refuse(
                        ErrorCode::OverCollection,
                        format!(
                            "{} would bring the collected amount to {} of {} due; {} is outstanding",
                            p.amount,
                            collected + p.amount.value(),
                            due,
                            due - collected
                        ),
                    ));
                }
                p.amount.value()
            }
            Some(reversed) => {
                let reversed = reversed.to_string();
                let original = self
                    .payments
                    .iter()
                    .chain(&self.new_payments)
                    .find(|x| x.id == reversed)
                    .ok_or_else(|| field_error("reverses", "names no payment of this case"))?;
                let original_amount = dec(&original.amount)?;
                if original_amount.is_sign_negative() {
                    return Err(field_error("reverses", "names a reversal; record a new payment instead"));
                }
                if self
                    .payments
                    .iter()
                    .chain(&self.new_payments)
                    .any(|x| x.reverses.as_deref() == Some(&reversed))
                {
                    return Err(field_error("reverses", "that payment is already reversed"));
                }
                if original_amount != p.amount.value() {
                    return Err(field_error(
                        "amount",
                        format!("must be the reversed payment's amount, {original_amount}"),
                    ));
                }
                if p.paid_on.to_string() < original.paid_on {
                    return Err(field_error(
                        "paid_on",
                        format!("is before the reversed payment, on {}", original.paid_on),
                    ));
                }
                match self.status()? {
                    CaseStatus::Completed => {
                        let reason = format!("payment {reversed} reversed");
                        self.row.status = CaseStatus::Open.as_str().into();
                        self.row.closed_on = None;
                        self.event(
                            "status",
                            json!({"from": "completed", "to": "open", "on": p.paid_on, "basis": reason}),
                        );
                    }
                    CaseStatus::Terminated | CaseStatus::Entrusted => {
                        return Err(refuse(
                            ErrorCode::CaseClosed,
                            format!("case {} is {}: its payments stand", self.row.number, self.row.status),
                        ))
                    }
                    CaseStatus::Open | CaseStatus::Suspended => {}
                }
                -original_amount
            }
        };
        let after = collected + amount;
        self.row.collected = after.normalize().to_string();
        let id = Uuid::now_v7().to_string();
        let method = p.method.as_str();
        self.event(
            "payment",
            json!({
                "payment_id": id, "amount": amount.normalize().to_string(), "paid_on": p.paid_on, "method": method,
                "reverses": p.reverses, "note": note, "collected": self.row.collected,
                "instance_id": source.map(|s| s.0), "instance_seq": source.map(|s| s.1),
            }),
        );
        let row = PaymentRow {
            id,
            case_id: self.row.id.clone(),
            agency_code: self.row.agency_code.clone(),
            case_seq: self.row.version,
            amount: amount.normalize().to_string(),
            paid_on: p.paid_on.to_string(),
            method,
            reverses: p.reverses.map(|r| r.to_string()),
            instance_id: source.map(|s| s.0.to_owned()),
            instance_seq: source.map(|s| s.1),
            note,
            recorded_at: self.at,
            recorded_by: format!("{}/{}", self.by.agency, self.by.sub),
        };
        self.new_payments.push(row.clone());
        if p.reverses.is_none() && !due.is_zero() && after == due {
            let on = self.last_payment_day().and_then(|d| d.parse().ok()).unwrap_or(p.paid_on);
            self.set_status(CaseStatus::Completed, on, "collected in full", Value::Null)?;
        }
        payment_view(row)
    }

    /// Writes what changed; the case must still be at the version it was loaded at.
    fn save(self, conn: &mut DbConn, changes: &mut Changes, new: bool) -> ApiResult<CaseRow> {
        if new {
            let mut first = self.row.clone();
            first.version = self.row.version;
            store::insert(conn, &first).map_err(|e| {
                if is_unique_violation(&e) {
                    ApiError::new(
                        ErrorCode::AlreadyExists,
                        format!(
                            "office {} already has a case numbered {:?}",
                            self.row.agency_code, self.row.number
                        ),
                    )
                } else {
                    e.into()
                }
            })?;
        } else if !self.new_events.is_empty() {
            let change = CaseChange {
                collected: self.row.collected.clone(),
                classification: self.row.classification.clone(),
                status: self.row.status.clone(),
                closed_on: self.row.closed_on.clone(),
                version: self.row.version,
                updated_at: self.row.updated_at,
                last_hash: self.row.last_hash.clone(),
            };
            if !store::change(conn, &self.row.id, self.loaded_version, &change)? {
                return Err(stale(&self.row.id));
            }
        }
        for e in &self.new_events {
            store::insert_event(conn, e)?;
        }
        for p in &self.new_payments {
            store::insert_payment(conn, p)?;
        }
        let all: Vec<PaymentRow> = self.payments.iter().chain(&self.new_payments).cloned().collect();
        changes.replace(self.before.as_ref(), &facts(&self.row, &all)?);
        Ok(self.row)
    }
}

fn stale(id: &str) -> ApiError {
    ApiError::new(ErrorCode::VersionConflict, format!("case {id} changed meanwhile; read it again and retry"))
}

fn facts(row: &CaseRow, payments: &[PaymentRow]) -> ApiResult<Facts> {
    let dated =
        payments.iter().map(|p| Ok((day(&p.paid_on)?, dec(&p.amount)?))).collect::<ApiResult<Vec<_>>>()?;
    Facts::of(row, dated)
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
        ledger
            .set_status(outcome.status, outcome.on, outcome.basis.trim(), Value::Null)
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

pub fn get(conn: &mut DbConn, actor: &Actor, id: Uuid) -> ApiResult<Case> {
    let tree = Tree::load(conn)?;
    let (row, access) = find_visible(conn, &tree, actor, id)?;
    view(&row, access)
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
pub fn list(conn: &mut DbConn, actor: &Actor, q: Query) -> ApiResult<CasePage> {
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
    for row in &rows {
        let access =
            if actor.has_role(Role::Auditor) || tree.is_within(&row.agency_code, actor.agency.as_str()) {
                Access::Full
            } else {
                Access::WithoutPersonalData
            };
        items.push(view(row, access)?);
    }
    Ok(CasePage { items, next_cursor })
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
    (key, fingerprint, status): (Option<&IdempotencyKey>, &str, u16),
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
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    change(conn, actor, id, None, (key, fingerprint, 201), |ledger| ledger.pay(&req, None))
}

/// Records an outcome, a suspension or a resumption.
pub fn set_status(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    req: NewStatus,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    let basis = check_basis(&req.basis)?;
    change(conn, actor, id, req.expected_version, (key, fingerprint, 200), |ledger| {
        ledger.set_status(req.status, req.on, &basis, Value::Null)
    })
}

/// Classifies a case as enforceable or not yet.
pub fn classify(
    conn: &mut DbConn,
    actor: &Actor,
    id: Uuid,
    req: NewClassification,
    key: Option<&IdempotencyKey>,
    fingerprint: &str,
) -> ApiResult<Reply> {
    let basis = check_basis(&req.basis)?;
    change(conn, actor, id, req.expected_version, (key, fingerprint, 200), |ledger| {
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

/// The date a step's field gives, or the step's own day.
fn step_day(data: &serde_json::Map<String, Value>, field: Option<&str>, at: i64) -> NaiveDate {
    let given = field.and_then(|f| data.get(f)).and_then(Value::as_str).and_then(|raw| {
        raw.parse::<NaiveDate>().ok().or_else(|| {
            DateTime::parse_from_rfc3339(raw)
                .ok()
                .map(|t| t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive())
        })
    });
    given.unwrap_or_else(|| {
        crate::domain::from_micros(at).with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive()
    })
}

/// A workflow step that changes its instance's case: a classification, a status, a payment.
pub struct CaseStep<'a> {
    pub case_id: &'a str,
    pub effect: &'a CaseEffect,
    pub data: &'a serde_json::Map<String, Value>,
    pub instance_id: &'a str,
    pub seq: i64,
    pub transition: &'a str,
    pub at: i64,
    pub by: ChangedBy,
}

/// Carries out a step's case effect inside the step's transaction.
pub fn apply_step(conn: &mut DbConn, step: CaseStep<'_>) -> ApiResult<()> {
    let Some(row) = store::find(conn, step.case_id)? else {
        return Ok(());
    };
    // The step acts on the case for the office that fires it: that office must hold the case
    // (or be above the office that does), as for a change made directly.
    let tree = Tree::load(conn)?;
    if !tree.is_within(&row.agency_code, &step.by.agency) {
        return Err(ApiError::forbidden(format!(
            "this step changes case {}, which {} holds; {} may not change it",
            row.number, row.agency_code, step.by.agency
        )));
    }
    let on = step_day(step.data, step.effect.on.as_deref(), step.at);
    let source = json!({"instance_id": step.instance_id, "seq": step.seq, "transition": step.transition});
    let basis = format!("step {} of instance {}", step.transition, step.instance_id);
    let mut changes = Changes::default();
    let mut ledger = Ledger::load(conn, row, step.by)?;
    ledger.at = step.at;
    if let Some(field) = &step.effect.payment {
        let amount = step.data.get(field).and_then(Value::as_str).map(Money::parse).transpose();
        match amount.map_err(ApiError::internal)? {
            Some(amount) if !amount.value().is_zero() => {
                let payment = NewPayment {
                    amount,
                    paid_on: on,
                    method: if step.transition == "execute" {
                        PaymentMethod::Coercion
                    } else {
                        PaymentMethod::Other
                    },
                    note: Some(basis.clone()),
                    reverses: None,
                };
                ledger.pay(&payment, Some((step.instance_id, step.seq))).map_err(|e| ApiError {
                    detail: format!("the case refuses the step's payment: {}", e.detail),
                    ..e
                })?;
            }
            _ => {}
        }
    }
    if let Some(class) = &step.effect.classification {
        ledger.classify(Classification::parse(class)?, Some(on), &basis, source.clone())?;
    }
    if let Some(status) = &step.effect.status {
        let status = CaseStatus::parse(status)?;
        if ledger.status()? != status {
            ledger.set_status(status, on, &basis, source)?;
        }
    }
    ledger.save(conn, &mut changes, false)?;
    changes.flush(conn)
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

fn verify_rows(row: &CaseRow, events: &[CaseEventRow], payments: &[PaymentRow]) -> CaseVerification {
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
