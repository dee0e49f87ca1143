//! What the API says of cases: the requests it takes and the views it gives.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::domain::PaymentMethod;
use crate::domain::{AgencyCode, Money};
use crate::error::{ApiError, ApiResult};

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

    pub(super) fn parse(s: &str) -> ApiResult<Self> {
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

    pub(super) fn parse(s: &str) -> ApiResult<Self> {
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
    pub(super) fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }
}

/// Money received for a case, or (with `reverses`) the correction of an entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "10000000", "paid_on": "2025-12-01", "method": "transfer",
                          "note": "Người phải thi hành án chuyển khoản đợt 1"}))]
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
#[schema(example = json!({"status": "suspended", "on": "2026-11-12",
                          "basis": "QĐ hoãn thi hành án số 12/QĐ-CTHADS", "expected_version": 3}))]
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
#[schema(example = json!({"classification": "not_yet_enforceable", "on": "2026-11-12",
                          "basis": "Biên bản xác minh ngày 12/11/2026", "expected_version": 2}))]
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
#[schema(example = json!({
    "agency": "THADS-HN", "number": "101/2025/TĐ", "judgment_ref": "Bản án số 101/2025/DS-ST",
    "court": "TAND-HN", "court_name": "Tòa án nhân dân thành phố Hà Nội", "category": "credit_bank",
    "obligor": {"name": "Nguyễn Văn Nợ", "id_number": "012345678901", "address": "Số 1 Tràng Tiền, Hà Nội"},
    "obligee": {"name": "Ngân hàng TMCP Hà Nội", "address": "Số 2 Lý Thái Tổ, Hà Nội"},
    "amount_due": "150000000", "received_on": "2025-11-03", "classification": "enforceable"
}))]
pub struct CreateCase {
    /// The enforcement office that holds the case.
    #[schema(example = "THADS-LC")]
    pub agency: AgencyCode,
    /// The office's number of the case (số thụ lý), unique in the office.
    pub number: String,
    /// The judgment or decision enforced, such as "Bản án số 12/2026/DS-PT".
    pub judgment_ref: String,
    /// The court that gave it, when it is an agency here.
    #[schema(example = "TAND-LC")]
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

/// A showing of a case's personal data to someone beyond the case's own office and court (an
/// auditor, an office above the case's): who, when, and through which route.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalDataRead {
    pub id: String,
    pub case_id: String,
    pub at: String,
    pub reader_sub: String,
    pub reader_name: String,
    pub reader_agency: String,
    /// The roles the reader's token carried.
    pub reader_roles: Vec<String>,
    /// The route that answered, such as `GET /api/v1/cases/{id}`.
    #[schema(example = "GET /api/v1/cases/{id}")]
    pub route: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonalDataReadPage {
    pub items: Vec<PersonalDataRead>,
    pub next_cursor: Option<String>,
}
