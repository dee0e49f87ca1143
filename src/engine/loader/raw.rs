//! A definition file as written: every name with its place in the file, before any check.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::super::definition::OperationStage;

pub(super) type Name = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefinition {
    pub(super) id: Name,
    pub(super) version: Spanned<u32>,
    pub(super) valid_from: Spanned<toml::value::Datetime>,
    pub(super) valid_until: Option<Spanned<toml::value::Datetime>>,
    pub(super) title_vi: String,
    pub(super) title_en: String,
    pub(super) law: String,
    pub(super) initial_state: Name,
    pub(super) parties: Vec<RawParty>,
    #[serde(default)]
    pub(super) party_rules: Vec<RawPartyRule>,
    pub(super) states: Vec<RawState>,
    pub(super) create: RawCreate,
    #[serde(default)]
    pub(super) transitions: Vec<RawTransition>,
    #[serde(default)]
    pub(super) deadlines: Vec<RawDeadline>,
    pub(super) handover: Option<Spanned<RawHandover>>,
    pub(super) coercion: Option<Spanned<RawCoercion>>,
    pub(super) supervision: Option<Spanned<RawSupervision>>,
    pub(super) transitional: Option<Spanned<RawTransitional>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTransitional {
    pub(super) from_versions: Vec<Spanned<u32>>,
    #[serde(default)]
    pub(super) stay: Vec<Name>,
    pub(super) legal_basis: Name,
    pub(super) operational: Option<bool>,
    pub(super) note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawParty {
    pub(super) slot: Name,
    pub(super) kind: Name,
    #[serde(default = "yes")]
    pub(super) required: bool,
    pub(super) required_when: Option<Spanned<RawCondition>>,
    pub(super) title_vi: String,
    pub(super) title_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPartyRule {
    pub(super) rule: Name,
    pub(super) slots: Vec<Name>,
    pub(super) legal_basis: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub(super) name: Name,
    pub(super) title_vi: String,
    pub(super) title_en: String,
    #[serde(default)]
    pub(super) terminal: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCreate {
    pub(super) party: Name,
    #[serde(default)]
    pub(super) roles: Vec<Name>,
    #[serde(default)]
    pub(super) data: Vec<RawField>,
    #[serde(default)]
    pub(super) checks: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTransition {
    pub(super) name: Name,
    pub(super) title_vi: String,
    pub(super) title_en: String,
    pub(super) from: Vec<Name>,
    pub(super) to: Name,
    pub(super) party: Option<Name>,
    #[serde(default)]
    pub(super) signed_by: Vec<Name>,
    #[serde(default)]
    pub(super) roles: Vec<Name>,
    #[serde(default)]
    pub(super) requires_parties: Vec<Name>,
    pub(super) guard: Option<Spanned<RawCondition>>,
    #[serde(default)]
    pub(super) routes: Vec<RawRoute>,
    #[serde(default)]
    pub(super) data: Vec<RawField>,
    #[serde(default)]
    pub(super) checks: Vec<RawCheck>,
    pub(super) before: Option<RawLeadTime>,
    #[serde(default)]
    pub(super) notify: Vec<Name>,
    #[serde(default)]
    pub(super) starts: Vec<RawFollowUp>,
    #[serde(default)]
    pub(super) waits_for: Vec<Name>,
    pub(super) case: Option<Spanned<RawCaseEffect>>,
    #[serde(default)]
    pub(super) records: BTreeMap<String, bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLeadTime {
    pub(super) field: Name,
    pub(super) hours: u32,
    pub(super) legal_basis: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCaseEffect {
    pub(super) classification: Option<Name>,
    pub(super) status: Option<Name>,
    pub(super) payment: Option<Name>,
    pub(super) method: Option<Name>,
    pub(super) on: Option<Name>,
    pub(super) reduce_due: Option<Name>,
    pub(super) entrust_to: Option<Name>,
    pub(super) number: Option<Name>,
    pub(super) record: Option<RawCaseRecord>,
    pub(super) when: Option<Spanned<RawCondition>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCaseRecord {
    pub(super) field: Name,
    pub(super) title_vi: String,
    pub(super) title_en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRoute {
    pub(super) when: Spanned<RawCondition>,
    pub(super) to: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFollowUp {
    pub(super) workflow: Name,
    pub(super) parties: BTreeMap<String, Name>,
    #[serde(default)]
    pub(super) data: BTreeMap<String, Name>,
    #[serde(default)]
    pub(super) values: BTreeMap<String, toml::Value>,
    pub(super) if_given: Option<Name>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub(super) name: Name,
    #[serde(rename = "type")]
    pub(super) kind: Name,
    pub(super) required: Option<bool>,
    pub(super) required_when: Option<Spanned<RawCondition>>,
    pub(super) title_vi: String,
    pub(super) title_en: String,
    #[serde(default)]
    pub(super) options: Vec<String>,
    pub(super) of: Option<Name>,
    pub(super) time_rule: Option<Name>,
    pub(super) tet_window_unless: Option<Spanned<RawCondition>>,
    #[serde(default)]
    pub(super) media_types: Vec<Name>,
    pub(super) max_mb: Option<Spanned<u32>>,
    pub(super) multiple: Option<bool>,
    pub(super) searchable: Option<bool>,
    pub(super) follow_up_only: Option<bool>,
    pub(super) slot: Option<Name>,
    #[serde(default)]
    pub(super) visible_to: Vec<Name>,
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    pub(super) field: Name,
    pub(super) after_field: Name,
    pub(super) within_days: Option<u32>,
    pub(super) at_least_days: Option<u32>,
    pub(super) at_least_months: Option<u32>,
    pub(super) when: Option<Spanned<RawCondition>>,
    pub(super) legal_basis: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeadline {
    pub(super) name: Name,
    pub(super) title_vi: String,
    pub(super) title_en: String,
    pub(super) states: Vec<Name>,
    pub(super) duration: Spanned<u32>,
    pub(super) unit: Name,
    pub(super) starts_from_field: Option<Name>,
    pub(super) due_date_field: Option<Name>,
    pub(super) responsible: Name,
    pub(super) escalate_to: Name,
    pub(super) escalate_first_to: Option<Name>,
    pub(super) legal_basis: Name,
    pub(super) operational: Option<bool>,
    pub(super) when: Option<Spanned<RawCondition>>,
    #[serde(default)]
    pub(super) restarted_by: Vec<Name>,
    #[serde(default)]
    pub(super) suspended_by: Vec<Name>,
    #[serde(default)]
    pub(super) resumed_by: Vec<Name>,
    #[serde(default)]
    pub(super) extended_by: Vec<Name>,
    pub(super) extension_field: Option<Name>,
    pub(super) reminders: Option<Vec<u32>>,
    pub(super) note: Option<String>,
    pub(super) reply_to: Option<Name>,
}

/// Working days before the due day on which a reminder goes out, unless a deadline says otherwise.
pub const DEFAULT_REMINDERS: [u32; 2] = [3, 1];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) field: Option<Name>,
    #[serde(rename = "in")]
    pub(super) values: Option<Vec<Name>>,
    pub(super) is: Option<bool>,
    pub(super) discrepancy_in: Option<Name>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHandover {
    pub(super) sender: Name,
    pub(super) receiver: Name,
    pub(super) manifest: Name,
    pub(super) receipt: Name,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCoercion {
    pub(super) office: Name,
    pub(super) states: RawStages,
    pub(super) fields: RawOperationFields,
}

/// The states under each stage of an operation (see [`OperationStage`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStages {
    #[serde(default)]
    pub(super) drafting: Vec<Name>,
    #[serde(default)]
    pub(super) awaiting_protection: Vec<Name>,
    #[serde(default)]
    pub(super) protected: Vec<Name>,
    #[serde(default)]
    pub(super) scheduled: Vec<Name>,
    #[serde(default)]
    pub(super) postponed: Vec<Name>,
    #[serde(default)]
    pub(super) executed: Vec<Name>,
    #[serde(default)]
    pub(super) cancelled: Vec<Name>,
}

impl RawStages {
    pub(super) fn by_stage(&self) -> [(OperationStage, &[Name]); 7] {
        [
            (OperationStage::Drafting, &self.drafting),
            (OperationStage::AwaitingProtection, &self.awaiting_protection),
            (OperationStage::Protected, &self.protected),
            (OperationStage::Scheduled, &self.scheduled),
            (OperationStage::Postponed, &self.postponed),
            (OperationStage::Executed, &self.executed),
            (OperationStage::Cancelled, &self.cancelled),
        ]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOperationFields {
    pub(super) scheduled_at: Name,
    pub(super) executed_at: Option<Name>,
    pub(super) postponed_to: Option<Name>,
    pub(super) measure: Option<Name>,
    pub(super) place: Option<Name>,
    pub(super) reference: Option<Name>,
    pub(super) protection_plan: Option<Name>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupervision {
    pub(super) issuer: Name,
    pub(super) supervised: Name,
    pub(super) instrument: Name,
    pub(super) number: Name,
    pub(super) issued_on: Name,
    pub(super) reply_number: Option<Name>,
    pub(super) awaiting_assessment: Vec<Name>,
}
