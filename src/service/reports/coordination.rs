//! The coordination report: who meets their deadlines, and the procuracy's instruments.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::*;
use crate::domain::{local_rfc3339, now, AgencyCode};
use crate::engine::registry::Registry;
use crate::engine::step::Actor;
use crate::error::ApiResult;
use crate::service::agencies::Tree;
use crate::store::deadlines::{self as deadline_store, MET, MISSED, OPEN, SUSPENDED};
use crate::store::DbConn;

/// One kind of deadline-bearing step, for one responsible agency.

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StepFigures {
    pub workflow: String,
    /// The deadline's name in its definition.
    pub deadline: String,
    /// Its title there, in Vietnamese (the name when no loaded definition has it).
    #[schema(example = "Trả lời kiến nghị của Viện kiểm sát")]
    pub title: String,
    pub responsible_agency: String,
    /// Completed in the period before the deadline.
    pub on_time: i64,
    /// Completed in the period after the deadline.
    pub late: i64,
    /// Running now (suspended ones included).
    pub open_now: i64,
    /// Running now and past due.
    pub overdue_now: i64,
    /// The median and 90th percentile (nearest rank) of the time from the clock's start to
    /// the step, over those completed in the period, in seconds.
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

/// The procuracy's instruments (yêu cầu, kiến nghị, kháng nghị) and the replies to them.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct InstrumentFigures {
    /// The workflow whose instances the instruments are (for the CSV).
    #[serde(skip)]
    pub workflow: String,
    /// request, recommendation or protest.
    pub instrument: String,
    /// Issued in the period.
    pub issued: i64,
    /// Of those issued in the period: answered before the reply was due, after, or not yet.
    pub answered_on_time: i64,
    pub answered_late: i64,
    pub unanswered: i64,
    /// Not yet answered and past due.
    pub unanswered_overdue: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoordinationReport {
    pub agency: Option<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub steps: Vec<StepFigures>,
    pub procuracy_instruments: Vec<InstrumentFigures>,
    pub generated_at: String,
}

pub(super) fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Who meets their deadlines: per workflow, deadline and responsible agency, over the
/// instances the scope's agencies take part in.
pub fn coordination(
    conn: &mut DbConn,
    registry: &Registry,
    actor: &Actor,
    agency: Option<AgencyCode>,
    period: Period,
) -> ApiResult<CoordinationReport> {
    let tree = Tree::load(conn)?;
    let scope = scope(&tree, actor, agency.as_ref())?;
    let start = |d: NaiveDate| crate::engine::calendar::start_of(d).timestamp_micros();
    let (from, until) = (start(period.from), start(period.to.succ_opt().unwrap_or(period.to)));
    let at = now().timestamp_micros();
    let facts = deadline_store::facts(conn, scope.agencies.as_deref(), from, until)?;
    let mut steps: BTreeMap<(String, String, String), (StepFigures, Vec<i64>)> = BTreeMap::new();
    let mut instruments: BTreeMap<(String, String), InstrumentFigures> = BTreeMap::new();
    // The deadlines that are replies to the procuracy's instruments, by workflow and name, as
    // the definitions declare them (`reply_to`).
    let replies: BTreeMap<(&str, &str), &str> = registry
        .all()
        .flat_map(|def| {
            def.deadlines
                .iter()
                .filter_map(|d| Some(((def.id.as_str(), d.name.as_str()), d.reply_to.as_deref()?)))
        })
        .collect();
    for f in &facts {
        let key = (f.workflow_id.clone(), f.name.clone(), f.responsible_agency.clone());
        let (s, durations) = steps.entry(key).or_insert_with(|| {
            (
                StepFigures {
                    workflow: f.workflow_id.clone(),
                    deadline: f.name.clone(),
                    title: registry
                        .deadline(&f.workflow_id, &f.name)
                        .map_or_else(|| f.name.clone(), |d| d.title_vi.clone()),
                    responsible_agency: f.responsible_agency.clone(),
                    ..StepFigures::default()
                },
                Vec::new(),
            )
        });
        let running = f.status == OPEN || f.status == SUSPENDED;
        let closed_in = f.closed_at.is_some_and(|c| c >= from && c < until);
        if running {
            s.open_now += 1;
            if f.status == OPEN && f.due_at < at {
                s.overdue_now += 1;
            }
        } else if closed_in {
            match f.status.as_str() {
                MET => s.on_time += 1,
                MISSED => s.late += 1,
                _ => {}
            }
            if let Some(c) = f.closed_at {
                durations.push((c - f.starts_at).max(0) / 1_000_000);
            }
        }
        if f.opened_at >= from && f.opened_at < until {
            if let Some(&kind) = replies.get(&(f.workflow_id.as_str(), f.name.as_str())) {
                let key = (f.workflow_id.clone(), kind.to_owned());
                let i = instruments.entry(key).or_insert_with(|| InstrumentFigures {
                    workflow: f.workflow_id.clone(),
                    instrument: kind.to_owned(),
                    ..Default::default()
                });
                i.issued += 1;
                match f.status.as_str() {
                    MET => i.answered_on_time += 1,
                    MISSED => i.answered_late += 1,
                    _ => {
                        i.unanswered += 1;
                        if f.due_at < at {
                            i.unanswered_overdue += 1;
                        }
                    }
                }
            }
        }
    }
    let steps = steps
        .into_values()
        .filter(|(s, _)| s.on_time + s.late + s.open_now > 0)
        .map(|(mut s, mut durations)| {
            durations.sort_unstable();
            s.median_seconds = nearest_rank(&durations, 50);
            s.p90_seconds = nearest_rank(&durations, 90);
            s
        })
        .collect();
    Ok(CoordinationReport {
        agency: scope.root,
        from: period.from,
        to: period.to,
        steps,
        procuracy_instruments: instruments.into_values().collect(),
        generated_at: local_rfc3339(at),
    })
}
