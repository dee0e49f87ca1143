//! A validated workflow definition. Built only by the loader, which checks every reference,
//! so the engine can rely on states, slots and fields named here existing.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{AgencyKind, Role};

/// One version of a workflow, as a definition file states it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Definition {
    pub id: String,
    pub version: u32,
    /// First day (inclusive) on which new instances take this version.
    pub valid_from: NaiveDate,
    /// Last day (inclusive) on which new instances take this version; open-ended when absent.
    pub valid_until: Option<NaiveDate>,
    pub title_vi: String,
    pub title_en: String,
    /// The law the version follows, such as "Luật THADS 26/2008/QH12 (sửa đổi 2014, 2022)".
    pub law: String,
    pub parties: Vec<Party>,
    pub states: Vec<State>,
    pub initial_state: String,
    pub create: CreateRule,
    pub transitions: Vec<Transition>,
    pub deadlines: Vec<Deadline>,
    #[serde(skip)]
    pub source: PathBuf,
}

/// A named slot that an instance binds to one agency of the given kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Party {
    pub slot: String,
    pub kind: AgencyKind,
    pub title_vi: String,
    pub title_en: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct State {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    /// A terminal state ends the instance; nothing leaves it.
    pub terminal: bool,
}

/// Who may start an instance and what data they must give.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreateRule {
    pub party: String,
    pub roles: Vec<Role>,
    pub data: Vec<DataField>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transition {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    pub from: Vec<String>,
    pub to: String,
    /// The party slot whose agency fires this transition.
    pub party: String,
    pub roles: Vec<Role>,
    pub data: Vec<DataField>,
    /// Party slots told when the transition happens.
    pub notify: Vec<String>,
}

/// A piece of data a step requires or accepts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DataType,
    pub required: bool,
    pub title_vi: String,
    pub title_en: String,
    /// The allowed values of a `choice` field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Text,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 with an offset.
    Datetime,
    /// A decimal string, in VND.
    Money,
    Integer,
    /// A list of items: description, quantity, unit, seal, declared value.
    Items,
    /// One of `options`.
    Choice,
}

impl DataType {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "text" => Self::Text,
            "date" => Self::Date,
            "datetime" => Self::Datetime,
            "money" => Self::Money,
            "integer" => Self::Integer,
            "items" => Self::Items,
            "choice" => Self::Choice,
            _ => return None,
        })
    }
}

/// A legal time limit, opened when the instance enters one of `states` from outside them and
/// closed when it leaves them all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadline {
    pub name: String,
    pub states: Vec<String>,
    pub duration: u32,
    pub unit: DeadlineUnit,
    /// A date or datetime field that starts the clock; the state's entry when absent.
    pub starts_from_field: Option<String>,
    /// The party slot that must act.
    pub responsible: String,
    /// The party slot told when the deadline is missed.
    pub escalate_to: Option<String>,
    /// Article and law, such as "Art. 36.1 Luật THADS 26/2008/QH12".
    pub legal_basis: String,
    /// Applies only when a choice field has one of these values.
    pub when: Option<Condition>,
    /// Why a number is as it is, where the law leaves it uncertain.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineUnit {
    CalendarDays,
    WorkingDays,
    Hours,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Condition {
    pub field: String,
    #[serde(rename = "in")]
    pub values: Vec<String>,
}

impl Definition {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|s| s.name == name)
    }

    pub fn transition(&self, name: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.name == name)
    }

    pub fn party(&self, slot: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.slot == slot)
    }

    /// Whether new instances with this legal reference date take this version.
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_until.is_none_or(|until| date <= until)
    }
}
