//! Domain types that validate on construction: once you hold one, it is valid.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An agency's code, such as `THADS-HN` or `TAND-HN`: 2 to 40 characters of upper-case
/// ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "THADS-HN", pattern = "^[A-Z0-9][A-Z0-9._-]{1,39}$")]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_len = (2..=40).contains(&raw.len());
        let mut chars = raw.chars();
        let ok_first = chars.next().is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let ok_rest = chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-_.".contains(c));
        if ok_len && ok_first && ok_rest {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("agency code {raw:?} must be 2 to 40 upper-case letters, digits, '-', '_' or '.'"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What kind of body an agency is; a workflow's party slots name the kind they accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    Enforcement,
    Court,
    Police,
    Procuracy,
    SteeringCommittee,
    PeopleCommittee,
    JusticeDepartment,
    PrivateEnforcement,
    /// Tổ chức đấu giá tài sản: sells seized assets under an auction contract.
    AuctionOrganisation,
    /// Tổ chức thẩm định giá: values seized assets under a valuation contract.
    ValuationOrganisation,
    /// Văn phòng or chi nhánh đăng ký đất đai: answers on land and registers its transfer.
    LandRegistry,
    /// Ngân hàng, tổ chức tín dụng: answers on accounts and blocks or deducts them.
    CreditInstitution,
}

impl AgencyKind {
    pub const ALL: [AgencyKind; 12] = [
        Self::Enforcement,
        Self::Court,
        Self::Police,
        Self::Procuracy,
        Self::SteeringCommittee,
        Self::PeopleCommittee,
        Self::JusticeDepartment,
        Self::PrivateEnforcement,
        Self::AuctionOrganisation,
        Self::ValuationOrganisation,
        Self::LandRegistry,
        Self::CreditInstitution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforcement => "enforcement",
            Self::Court => "court",
            Self::Police => "police",
            Self::Procuracy => "procuracy",
            Self::SteeringCommittee => "steering_committee",
            Self::PeopleCommittee => "people_committee",
            Self::JusticeDepartment => "justice_department",
            Self::PrivateEnforcement => "private_enforcement",
            Self::AuctionOrganisation => "auction_organisation",
            Self::ValuationOrganisation => "valuation_organisation",
            Self::LandRegistry => "land_registry",
            Self::CreditInstitution => "credit_institution",
        }
    }
}

impl FromStr for AgencyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown agency kind {s:?}"))
    }
}

/// A role carried in the identity token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    EnforcementOfficer,
    EnforcementHead,
    CourtLiaison,
    PoliceLiaison,
    ProcuracyInspector,
    SteeringMember,
    SteeringChair,
    /// Answers for a commune People's Committee (residence, land in use, a person's status).
    CommuneLiaison,
    AuctionLiaison,
    ValuationLiaison,
    RegistryLiaison,
    BankLiaison,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 14] = [
        Self::EnforcementOfficer,
        Self::EnforcementHead,
        Self::CourtLiaison,
        Self::PoliceLiaison,
        Self::ProcuracyInspector,
        Self::SteeringMember,
        Self::SteeringChair,
        Self::CommuneLiaison,
        Self::AuctionLiaison,
        Self::ValuationLiaison,
        Self::RegistryLiaison,
        Self::BankLiaison,
        Self::Auditor,
        Self::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnforcementOfficer => "enforcement_officer",
            Self::EnforcementHead => "enforcement_head",
            Self::CourtLiaison => "court_liaison",
            Self::PoliceLiaison => "police_liaison",
            Self::ProcuracyInspector => "procuracy_inspector",
            Self::SteeringMember => "steering_member",
            Self::SteeringChair => "steering_chair",
            Self::CommuneLiaison => "commune_liaison",
            Self::AuctionLiaison => "auction_liaison",
            Self::ValuationLiaison => "valuation_liaison",
            Self::RegistryLiaison => "registry_liaison",
            Self::BankLiaison => "bank_liaison",
            Self::Auditor => "auditor",
            Self::Admin => "admin",
        }
    }
}

impl Role {
    /// Whether someone with this role can act for an agency of this kind. Auditors and admins
    /// act for no party: they read and administer.
    pub fn acts_for(self, kind: AgencyKind) -> bool {
        use AgencyKind as K;
        match self {
            Self::EnforcementOfficer | Self::EnforcementHead => {
                matches!(kind, K::Enforcement | K::PrivateEnforcement)
            }
            Self::CourtLiaison => kind == K::Court,
            Self::PoliceLiaison => kind == K::Police,
            Self::ProcuracyInspector => kind == K::Procuracy,
            Self::SteeringMember | Self::SteeringChair => {
                matches!(kind, K::SteeringCommittee | K::PeopleCommittee)
            }
            Self::CommuneLiaison => kind == K::PeopleCommittee,
            Self::AuctionLiaison => kind == K::AuctionOrganisation,
            Self::ValuationLiaison => kind == K::ValuationOrganisation,
            Self::RegistryLiaison => kind == K::LandRegistry,
            Self::BankLiaison => kind == K::CreditInstitution,
            Self::Auditor | Self::Admin => false,
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown role {s:?}"))
    }
}

/// An amount of money in VND: an exact decimal, written in JSON as a string
/// (`"1302149296000"`), never a floating-point number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "1302149296000", pattern = "^(0|[1-9][0-9]{0,17})(\\.[0-9]{1,2})?$")]
pub struct Money(#[serde(with = "rust_decimal::serde::str")] Decimal);

impl Money {
    /// Every amount is below 10^18 VND (over a thousand times the largest judgment debt on record),
    /// so that sums over every case of the country stay exact and far from overflowing.
    pub const LIMIT: i64 = 1_000_000_000_000_000_000;

    /// Parses a decimal string; amounts are never negative and carry at most 2 decimal places.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = Decimal::from_str_exact(raw.trim())
            .map_err(|_| format!("{raw:?} is not a decimal amount such as \"1302149296000\""))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(format!("amount {raw:?} must not be negative"));
        }
        if value.scale() > 2 {
            return Err(format!("amount {raw:?} has more than 2 decimal places"));
        }
        if value >= Decimal::from(Self::LIMIT) {
            return Err(format!("amount {raw:?} is not below {} VND", Self::LIMIT));
        }
        Ok(Self(value.normalize()))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Refuses control characters (other than line breaks and tabs) in free text: they have no
/// place in a record, and some databases cannot store them.
pub fn check_text(s: &str) -> Result<(), String> {
    match s.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        Some(c) => Err(format!("contains the control character U+{:04X}", u32::from(c))),
        None => Ok(()),
    }
}

/// Whether `s` is a name as definitions write them: lower-case letters, digits and `_`,
/// starting with a letter, at most 64 characters.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A point in time as stored: microseconds since the Unix epoch, UTC.
pub type Micros = i64;

pub fn to_micros(t: DateTime<Utc>) -> Micros {
    t.timestamp_micros()
}

pub fn from_micros(m: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or(DateTime::UNIX_EPOCH)
}

/// The current time truncated to microseconds, the precision the store keeps.
pub fn now() -> DateTime<Utc> {
    from_micros(to_micros(Utc::now()))
}

/// Formats a stored time as RFC 3339 with the Asia/Ho_Chi_Minh offset, as the API shows times.
pub fn local_rfc3339(m: Micros) -> String {
    from_micros(m).with_timezone(&Ho_Chi_Minh).to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Today's date in Asia/Ho_Chi_Minh.
pub fn today_local() -> NaiveDate {
    Utc::now().with_timezone(&Ho_Chi_Minh).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes() {
        assert!(AgencyCode::parse("THADS-HN").is_ok());
        assert!(AgencyCode::parse("thads").is_err());
        assert!(AgencyCode::parse("-X").is_err());
        assert!(AgencyCode::parse("A").is_err());
    }

    #[test]
    fn money_is_exact() {
        let m = Money::parse("1302149296000").unwrap();
        assert_eq!(m.to_string(), "1302149296000");
        assert_eq!(Money::parse("10.50").unwrap().to_string(), "10.5");
        assert!(Money::parse("-1").is_err());
        assert!(Money::parse("1.234").is_err());
        assert!(Money::parse("1e3").is_err());
        assert!(Money::parse("999999999999999999.99").is_ok());
        assert!(Money::parse("1000000000000000000").is_err());
        assert!(Money::parse("79228162514264337593543950335").is_err());
        assert_eq!(
            serde_json::to_string(&Money::parse("385296980000").unwrap()).unwrap(),
            "\"385296980000\""
        );
        assert!(serde_json::from_str::<Money>("12.5").is_err());
    }

    #[test]
    fn kinds_and_roles_round_trip() {
        for k in AgencyKind::ALL {
            assert_eq!(k.as_str().parse::<AgencyKind>().unwrap(), k);
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
    }
}

/// How money reached a case.
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
    pub const ALL: [PaymentMethod; 6] =
        [Self::Cash, Self::Transfer, Self::Coercion, Self::AssetSale, Self::Offset, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Transfer => "transfer",
            Self::Coercion => "coercion",
            Self::AssetSale => "asset_sale",
            Self::Offset => "offset",
            Self::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == raw)
    }
}
