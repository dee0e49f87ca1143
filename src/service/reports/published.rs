//! Published years: the head of a provincial office (for the province) or an admin (for the
//! country) publishes a reporting year's enforcement report, and from then on the report of
//! that year for that scope shows the figures as published, with who and when, and beside them
//! what the records say today, the difference field by field, and the cases whose changes
//! since make it. A reclassification or a reversal no longer rewrites a published year.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{enforcement_in, CaseFigures, Counting, EnforcementReport, MoneyFigures, OfficeFigures, Period};
use crate::domain::{local_rfc3339, now, AgencyCode, AgencyKind, Role};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::agencies::Tree;
use crate::store::published::{self as store, PublishedRow};
use crate::store::DbConn;

/// The most changed cases a report lists; the rest are counted as truncated.
const LISTED: i64 = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Publisher {
    pub name: String,
    pub agency: String,
}

/// What the records say about the year today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordsToday {
    pub cases: CaseFigures,
    pub money: MoneyFigures,
}

/// A case changed since the publication, with the kinds of change recorded (`classification`,
/// `payment`, `status`, `amount_due`, `opened`, `record`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangedCase {
    pub case_id: String,
    pub number: String,
    pub agency: String,
    pub changes: Vec<String>,
    pub last_changed_at: String,
}

/// A published year, as its report shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Publication {
    pub published_at: String,
    pub published_by: Publisher,
    pub records_today: RecordsToday,
    /// Today's figure minus the published one, for each figure that differs, such as
    /// `"cases.completed": "-1"` or `"money.rate": "-2.5"`.
    pub difference: BTreeMap<String, String>,
    /// The cases of the scope received by the year's end whose changes were recorded after the
    /// publication, the latest last.
    pub changed_cases: Vec<ChangedCase>,
    /// True when more changes were recorded than listed.
    pub changed_cases_truncated: bool,
}

/// The figures as published.
#[derive(Serialize, Deserialize)]
struct Published {
    cases: CaseFigures,
    money: MoneyFigures,
    offices: Vec<OfficeFigures>,
    /// How the published rate counted (today's default for a year published before it was kept).
    #[serde(default)]
    counting: Counting,
}

/// A figure as a number, whether JSON writes it as one or as a decimal string.
fn number(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Today's figure minus the published one, for each that differs.
fn differences(prefix: &str, published: &Value, today: &Value, out: &mut BTreeMap<String, String>) {
    let Some(fields) = published.as_object() else { return };
    for (name, was) in fields {
        let is = &today[name];
        if was == is {
            continue;
        }
        let delta = match (number(was), number(is)) {
            (Some(a), Some(b)) => (b - a).normalize().to_string(),
            _ => format!("{was} -> {is}"),
        };
        out.insert(format!("{prefix}.{name}"), delta);
    }
}

fn json<T: Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(ApiError::internal)
}

/// The cases behind the difference: changes recorded after the publication to the scope's
/// cases received by the year's end.
fn changed_cases(
    conn: &mut DbConn,
    row: &PublishedRow,
    report: &EnforcementReport,
    agencies: Option<&[String]>,
) -> ApiResult<(Vec<ChangedCase>, bool)> {
    let changes =
        store::changes_since(conn, row.published_at, &report.to.to_string(), agencies, LISTED * 4 + 1)?;
    let truncated = changes.len() as i64 > LISTED * 4;
    let mut by_case: BTreeMap<String, ChangedCase> = BTreeMap::new();
    let mut order = Vec::new();
    for c in changes.into_iter().take((LISTED * 4) as usize) {
        let entry = by_case.entry(c.case_id.clone()).or_insert_with(|| {
            order.push(c.case_id.clone());
            ChangedCase {
                case_id: c.case_id.clone(),
                number: c.number.clone(),
                agency: c.agency_code.clone(),
                changes: Vec::new(),
                last_changed_at: String::new(),
            }
        });
        if !entry.changes.contains(&c.kind) {
            entry.changes.push(c.kind);
        }
        entry.last_changed_at = local_rfc3339(c.occurred_at);
    }
    let listed = order.len() as i64 > LISTED;
    let mut cases: Vec<ChangedCase> =
        order.iter().take(LISTED as usize).filter_map(|id| by_case.remove(id)).collect();
    cases.sort_by(|a, b| a.last_changed_at.cmp(&b.last_changed_at).then(a.case_id.cmp(&b.case_id)));
    Ok((cases, truncated || listed))
}

/// Puts the published figures of the report's year and scope in place of today's, if the year
/// was published for it, with today's beside them.
pub(super) fn as_published(conn: &mut DbConn, report: &mut EnforcementReport) -> ApiResult<()> {
    let Some(year) = report.year else { return Ok(()) };
    let Some(row) = store::find(conn, year, report.agency.as_deref().unwrap_or_default())? else {
        return Ok(());
    };
    let published: Published = serde_json::from_str(&row.report).map_err(ApiError::internal)?;
    let mut difference = BTreeMap::new();
    differences("cases", &json(&published.cases)?, &json(&report.cases)?, &mut difference);
    differences("money", &json(&published.money)?, &json(&report.money)?, &mut difference);
    let agencies = match &report.agency {
        Some(root) => Some(Tree::load(conn)?.subtree(root)),
        None => None,
    };
    let (changed_cases, changed_cases_truncated) = changed_cases(conn, &row, report, agencies.as_deref())?;
    let today = RecordsToday {
        cases: std::mem::replace(&mut report.cases, published.cases),
        money: std::mem::replace(&mut report.money, published.money),
    };
    if report.offices.is_some() {
        report.offices = Some(published.offices);
    }
    report.counting = published.counting;
    report.published = Some(Publication {
        published_at: local_rfc3339(row.published_at),
        published_by: Publisher { name: row.published_by_name, agency: row.published_by_agency },
        records_today: today,
        difference,
        changed_cases,
        changed_cases_truncated,
    });
    Ok(())
}

/// Who may publish: the head of a provincial enforcement office its own province's year, an
/// admin the country's.
fn may_publish(tree: &Tree, actor: &Actor, agency: Option<&AgencyCode>) -> ApiResult<()> {
    match agency {
        None if actor.has_role(Role::Admin) => Ok(()),
        None => Err(ApiError::forbidden("only an admin publishes the country's figures")),
        Some(a) if !tree.contains(a.as_str()) => Err(ApiError::not_found(format!("no agency {a}"))),
        Some(a) if *a != actor.agency || !actor.has_role(Role::EnforcementHead) => {
            Err(ApiError::forbidden(format!("only the head of {a} publishes its figures")))
        }
        Some(a)
            if tree.kind(a.as_str()) != Some(AgencyKind::Enforcement)
                || tree.parent(a.as_str()).is_some() =>
        {
            Err(ApiError::forbidden(format!(
                "{a} is not a provincial enforcement office: its figures are published with its province's"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// Publishes a reporting year's figures for the actor's province (or, for an admin with no
/// agency, the country): as the records say them now, for the scope and each office. Once
/// only: a published year is not published again.
pub fn publish(
    conn: &mut DbConn,
    actor: &Actor,
    (year, agency): (i32, Option<AgencyCode>),
    counting: Counting,
) -> ApiResult<EnforcementReport> {
    let period = Period::parse(Some(year), None, None)?;
    if period.to >= crate::domain::today_local() {
        return Err(ApiError::validation(
            "only a year that has ended can be published",
            vec![crate::error::FieldError::new(
                "year",
                format!("reporting year {year} runs until {}", period.to),
            )],
        ));
    }
    crate::store::write_transaction(conn, |conn| {
        let tree = Tree::load(conn)?;
        may_publish(&tree, actor, agency.as_ref())?;
        let scope = agency.as_ref().map(AgencyCode::to_string).unwrap_or_default();
        if let Some(row) = store::find(conn, year, &scope)? {
            return Err(ApiError::new(
                ErrorCode::AlreadyExists,
                format!(
                    "{year} was published for {} on {} by {}",
                    if scope.is_empty() { "the country" } else { &scope },
                    local_rfc3339(row.published_at),
                    row.published_by_name
                ),
            ));
        }
        let mut report = enforcement_in(conn, actor, agency, period, (true, counting))?;
        let published = Published {
            cases: report.cases.clone(),
            money: report.money.clone(),
            offices: report.offices.clone().unwrap_or_default(),
            counting: report.counting,
        };
        let row = PublishedRow {
            year,
            scope,
            report: serde_json::to_string(&published).map_err(ApiError::internal)?,
            published_by_sub: actor.sub.clone(),
            published_by_name: actor.name.clone(),
            published_by_agency: actor.agency.to_string(),
            published_at: now().timestamp_micros(),
        };
        store::insert(conn, &row)?;
        as_published(conn, &mut report)?;
        Ok(report)
    })
}
