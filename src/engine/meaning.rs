//! What a workflow means to the reports and pages, as its definition declares it: that its
//! instances are coercion operations (`[coercion]`), or the procuracy's instruments
//! (`[supervision]`). The code reads these, never a workflow's, state's or step's name.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// What a coercion operation's states mean for the operation and its police protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationStage {
    /// Being drafted or approved: the police have not been asked yet.
    Drafting,
    /// Sent: the police's protection plan is awaited.
    AwaitingProtection,
    /// The police confirmed their protection; no time is set yet.
    Protected,
    /// A time is set (and the protection confirmed).
    Scheduled,
    Postponed,
    Executed,
    Cancelled,
}

impl OperationStage {
    pub const ALL: [OperationStage; 7] = [
        Self::Drafting,
        Self::AwaitingProtection,
        Self::Protected,
        Self::Scheduled,
        Self::Postponed,
        Self::Executed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Drafting => "drafting",
            Self::AwaitingProtection => "awaiting_protection",
            Self::Protected => "protected",
            Self::Scheduled => "scheduled",
            Self::Postponed => "postponed",
            Self::Executed => "executed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A workflow whose instances are coercion operations: each of its states under the stage it
/// means, and the fields that say when, where and what.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Coercion {
    /// The slot of the enforcement office that carries the operation out.
    pub office: String,
    /// Stage to the states that mean it; every state is under exactly one.
    pub states: BTreeMap<OperationStage, Vec<String>>,
    pub fields: OperationFields,
}

/// The data fields of a coercion operation that the calendar and the steering page show.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperationFields {
    /// The datetime the operation is set for.
    pub scheduled_at: String,
    /// The datetime it was carried out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<String>,
    /// The date a postponed operation is expected on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postponed_to: Option<String>,
    /// The measure (a choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The case it enforces, as the office refers to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The number of the police's protection plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection_plan: Option<String>,
}

impl Coercion {
    /// The stage a state means.
    pub fn stage(&self, state: &str) -> Option<OperationStage> {
        self.states.iter().find(|(_, states)| states.iter().any(|s| s == state)).map(|(stage, _)| *stage)
    }
}

/// A workflow whose instances are instruments of the procuracy (request, recommendation,
/// protest) and the replies to them: the slots and fields its page and report read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Supervision {
    /// The slot of the procuracy that issues the instrument.
    pub issuer: String,
    /// The slot of the office supervised, which must reply.
    pub supervised: String,
    /// The choice field that names the kind of instrument.
    pub instrument: String,
    /// The instrument's number.
    pub number: String,
    /// The date it was issued.
    pub issued_on: String,
    /// The number of the office's reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_number: Option<String>,
    /// The states in which a reply waits for the procuracy to assess it.
    pub awaiting_assessment: Vec<String>,
}
