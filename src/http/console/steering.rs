//! The steering committee's view: a month calendar of the coercion operations it takes part
//! in, each with where the police protection stands (the reports are in `reports`).

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, Duration, NaiveDate};
use chrono_tz::Asia::Ho_Chi_Minh;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::i18n::Lang;
use super::instance::state_of;
use super::layout::{columns, page};
use super::session::{ConsoleError, ConsoleKeys, Signed};
use crate::domain::today_local;
use crate::engine::definition::{Coercion, OperationStage};
use crate::engine::registry::Registry;
use crate::error::ApiError;
use crate::http::api::AppState;
use crate::service::feeds::{self, Feed, NewFeed};
use crate::service::instances::{self, Instance, ListQuery};

/// Most plans the calendar reads (newest first).
const MOST_PLANS: usize = 2000;
const PAGE: i64 = 200;

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    /// `YYYY-MM`; this month when absent.
    month: Option<String>,
}

/// What the steering page reads of an operation, as its definition's `[coercion]` declares.
struct Operation<'a> {
    instance: &'a Instance,
    coercion: &'a Coercion,
}

impl<'a> Operation<'a> {
    fn of(registry: &'a Registry, instance: &'a Instance) -> Option<Self> {
        let def = registry.get(&instance.workflow, instance.workflow_version)?;
        Some(Operation { instance, coercion: def.coercion.as_ref()? })
    }

    fn field(&self, name: Option<&str>) -> Option<&'a str> {
        self.instance.data.get(name?).and_then(Value::as_str)
    }

    /// Where the police protection stands, and the badge's class.
    fn protection(&self) -> (&'static str, &'static str) {
        match self.coercion.stage(&self.instance.state) {
            Some(OperationStage::Drafting) => ("protection_not_asked", "muted"),
            Some(OperationStage::AwaitingProtection) => ("protection_awaited", "late"),
            Some(OperationStage::Protected | OperationStage::Scheduled | OperationStage::Executed) => {
                ("protection_confirmed", "ok")
            }
            Some(OperationStage::Postponed) => ("postponed", "late"),
            Some(OperationStage::Cancelled) | None => ("cancelled", "muted"),
        }
    }

    /// The local day and time the operation is set for.
    fn scheduled(&self) -> Option<DateTime<chrono_tz::Tz>> {
        let raw = self.field(Some(&self.coercion.fields.scheduled_at))?;
        DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Ho_Chi_Minh))
    }

    fn office(&self) -> String {
        self.instance.parties.get(&self.coercion.office).cloned().unwrap_or_default()
    }

    fn measure(&self) -> &'a str {
        self.field(self.coercion.fields.measure.as_deref()).unwrap_or_default()
    }

    fn place(&self) -> &'a str {
        self.field(self.coercion.fields.place.as_deref()).unwrap_or_default()
    }

    fn reference(&self) -> &'a str {
        self.field(self.coercion.fields.reference.as_deref()).unwrap_or(&self.instance.id)
    }

    fn protection_plan(&self) -> Option<&'a str> {
        self.field(self.coercion.fields.protection_plan.as_deref())
    }
}

/// Years a calendar or a report may be asked for, as the reports' periods.
pub(super) const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn first_of(month: Option<&str>, lang: Lang) -> Result<NaiveDate, ConsoleError> {
    match month {
        None => {
            let today = today_local();
            Ok(today.with_day(1).unwrap_or(today))
        }
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
            .filter(|d| YEARS.contains(&d.year()))
            .ok_or_else(|| {
                ConsoleError::Api(
                    ApiError::bad_request("month is YYYY-MM, of a year from 2000 to 2100"),
                    lang,
                )
            }),
    }
}

/// The first of the month `months` after the one `first` starts (the year stays in bounds).
fn add_months(first: NaiveDate, months: i32) -> NaiveDate {
    let index = first.year() * 12 + first.month0() as i32 + months;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap_or(first)
}

#[get("/steering")]
pub async fn calendar_page(
    state: web::Data<AppState>,
    signed: Signed,
    q: web::Query<MonthQuery>,
) -> Result<Markup, ConsoleError> {
    let lang = signed.lang;
    let first = first_of(q.month.as_deref(), lang)?;
    let next = add_months(first, 1);
    let actor = signed.actor.clone();
    let plans = state
        .read(move |conn, rules| {
            let mut plans = Vec::new();
            for workflow in rules.registry.coercion_workflows() {
                let mut cursor = None;
                while plans.len() < MOST_PLANS {
                    let q = ListQuery {
                        workflow: Some(workflow.to_owned()),
                        cursor,
                        limit: PAGE,
                        ..Default::default()
                    };
                    let page = instances::list(conn, &rules.registry, &actor, q)?;
                    plans.extend(page.items);
                    match page.next_cursor {
                        Some(c) => cursor = Some(c.parse().map_err(ApiError::internal)?),
                        None => break,
                    }
                }
            }
            Ok((plans, feeds::live(conn, &actor)?))
        })
        .await
        .map_err(ConsoleError::api(lang))?;
    let (plans, feed) = plans;
    let registry = state.registry.clone();
    let operations: Vec<Operation<'_>> = plans.iter().filter_map(|i| Operation::of(&registry, i)).collect();
    let mut in_month: Vec<(DateTime<chrono_tz::Tz>, &Operation<'_>)> = operations
        .iter()
        .filter_map(|o| o.scheduled().map(|at| (at, o)))
        .filter(|(at, _)| at.date_naive() >= first && at.date_naive() < next)
        .collect();
    in_month.sort_by_key(|(at, _)| *at);
    let unscheduled: Vec<&Operation<'_>> =
        operations.iter().filter(|o| o.scheduled().is_none() && !o.instance.terminal).collect();
    // The weeks of the month, Monday first.
    let start = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
    let weeks: Vec<Vec<NaiveDate>> = (0..6)
        .map(|w| (0..7).map(|d| start + Duration::days(w * 7 + d)).collect())
        .filter(|week: &Vec<NaiveDate>| week[0] < next)
        .collect();
    let month_title = match lang {
        Lang::Vi => format!("Tháng {}/{}", first.month(), first.year()),
        Lang::En => first.format("%B %Y").to_string(),
    };
    let link = |d: NaiveDate| format!("/console/steering?month={}", d.format("%Y-%m"));
    let operation = |o: &Operation<'_>, at: &DateTime<chrono_tz::Tz>| {
        let (status, class) = o.protection();
        html! {
            a.operation href={ "/console/instances/" (o.instance.id) } {
                strong { (at.format("%H:%M")) } " "
                (lang.option(o.measure()))
                " · " (o.place())
                " " span class={ "badge " (class) } { (lang.t(status)) }
            }
        }
    };
    Ok(page(
        lang,
        Some(&signed),
        lang.t("steering"),
        html! {
            h1 { (lang.t("coercion_calendar")) }
            p { a href="/console/reports" { (lang.t("reports")) } }
            nav.month aria-label=(lang.t("coercion_calendar")) {
                @let previous = add_months(first, -1);
                @if YEARS.contains(&previous.year()) && previous < first {
                    a href=(link(previous)) rel="prev" { "← " (lang.t("previous_month")) }
                } @else { span {} }
                h2 { (month_title) }
                @if YEARS.contains(&next.year()) && next > first {
                    a href=(link(next)) rel="next" { (lang.t("next_month")) " →" }
                } @else { span {} }
            }
            table.calendar {
                thead { tr { @for d in 0..7 { th scope="col" { (lang.weekday(d)) } } } }
                tbody {
                    @for week in &weeks {
                        tr {
                            @for day in week {
                                td.other[day.month() != first.month()] data-date=(day) {
                                    span.day { (day.day()) }
                                    @for (at, i) in in_month.iter().filter(|(at, _)| at.date_naive() == *day) {
                                        (operation(i, at))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="this-month" {
                h2 #this-month { (lang.t("operations_this_month")) " " span.badge { (in_month.len()) } }
                @if in_month.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    table.stack {
                        (columns(lang, &["when", "office", "police_protection", "state"]))
                        tbody {
                            @for (at, o) in &in_month {
                                @let (status, class) = o.protection();
                                tr {
                                    td data-label=(lang.t("when")) {
                                        a href={ "/console/instances/" (o.instance.id) } { (lang.time(&at.to_rfc3339())) }
                                    }
                                    td data-label=(lang.t("office")) { (o.office()) }
                                    td data-label=(lang.t("police_protection")) {
                                        span class={ "badge " (class) } { (lang.t(status)) }
                                        @if let Some(n) = o.protection_plan() { " " (n) }
                                    }
                                    td data-label=(lang.t("state")) { (state_of(&registry, lang, o.instance)) }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="unscheduled" {
                h2 #unscheduled { (lang.t("not_yet_scheduled")) " " span.badge { (unscheduled.len()) } }
                @if unscheduled.is_empty() { p.muted { (lang.t("nothing")) } } @else {
                    ul.links {
                        @for o in &unscheduled {
                            @let (status, class) = o.protection();
                            li {
                                a href={ "/console/instances/" (o.instance.id) } { (o.reference()) }
                                " · " (state_of(&registry, lang, o.instance)) " " span class={ "badge " (class) } { (lang.t(status)) }
                            }
                        }
                    }
                }
            }
            (feed_card(lang, &signed.csrf, feed.as_ref()))
        },
    ))
}

/// The user's calendar feed: make one, make a new one (the old stops), or revoke it.
fn feed_card(lang: Lang, csrf: &str, feed: Option<&Feed>) -> Markup {
    html! {
        section.card aria-labelledby="calendar-feed" {
            h2 #calendar-feed { (lang.t("calendar_feed")) }
            p { (lang.t("calendar_feed_explained")) }
            @if let Some(feed) = feed {
                p { (lang.t("calendar_feed_since")) " " (lang.time(&feed.created_at)) }
            }
            form.inline method="post" action="/console/steering/feed" {
                input type="hidden" name="csrf" value=(csrf);
                button.primary type="submit" {
                    (lang.t(if feed.is_some() { "calendar_feed_rotate" } else { "calendar_feed_make" }))
                }
            }
            @if feed.is_some() {
                form.inline method="post" action="/console/steering/feed/revoke" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.plain type="submit" { (lang.t("calendar_feed_revoke")) }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Makes the user's feed, replacing any earlier one, and shows its URL this once.
#[post("/steering/feed")]
pub async fn make_feed(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    req: HttpRequest,
    signed: Signed,
    posted: web::Form<CsrfForm>,
) -> Result<Markup, ConsoleError> {
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang = signed.lang;
    let actor = signed.actor.clone();
    let (_, path) = state
        .write(move |conn, _| feeds::create(conn, &actor, NewFeed::default()))
        .await
        .map_err(ConsoleError::api(lang))?;
    let url = crate::http::api::absolute_url(&req, &path);
    Ok(page(
        lang,
        Some(&signed),
        lang.t("calendar_feed"),
        html! {
            h1 { (lang.t("calendar_feed")) }
            section.card {
                label for="feed-url" { (lang.t("calendar_feed_url")) }
                input #feed-url type="text" readonly value=(url);
                p { (lang.t("calendar_feed_once")) }
                p { a href="/console/steering" { "← " (lang.t("coercion_calendar")) } }
            }
        },
    ))
}

/// Stops the user's feed at once.
#[post("/steering/feed/revoke")]
pub async fn revoke_feed(
    state: web::Data<AppState>,
    keys: web::Data<ConsoleKeys>,
    signed: Signed,
    posted: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    signed.check_csrf(&keys, &posted.csrf)?;
    let lang = signed.lang;
    let actor = signed.actor.clone();
    state.write(move |conn, _| feeds::revoke(conn, &actor)).await.map_err(ConsoleError::api(lang))?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/steering#calendar-feed")).finish())
}
