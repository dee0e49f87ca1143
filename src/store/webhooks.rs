//! Webhooks per agency and the deliveries waiting to go out to them.

use diesel::prelude::*;

use super::fixed::{insert_rows, Bind, Sink};
use super::schema::{webhook_deliveries, webhooks};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub agency_code: String,
    pub url: String,
    /// The HMAC-SHA256 key the agency verifies bodies with.
    pub secret: String,
    pub active: bool,
    pub created_at: i64,
    /// The secret a rotation replaced, which still signs beside the new one until
    /// `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
}

impl WebhookRow {
    /// The secrets that sign a request sent at `at`: the current one, then the one it
    /// replaced while their overlap lasts.
    pub fn signing_secrets(&self, at: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if at < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub notification_id: String,
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
    /// When an admin last sent the delivery again, and who.
    pub redelivered_at: Option<i64>,
    pub redelivered_by: Option<String>,
}

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";
/// Why a delivery of a removed webhook was given up.
pub const REMOVED: &str = "the webhook was removed before delivery";

pub fn insert(conn: &mut DbConn, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(webhooks::table).values(row).execute(conn).map(|_| ())
}

pub fn active_of(conn: &mut DbConn, agency: &str) -> QueryResult<Vec<WebhookRow>> {
    native!(conn, |c| webhooks::table
        .filter(webhooks::agency_code.eq(agency))
        .filter(webhooks::active.eq(true))
        .select(WebhookRow::as_select())
        .load(c))
}

/// The active webhooks of any of these agencies. PostgreSQL takes them in one query (the
/// codes bound as one array, so its text never varies); SQLite, in-process, by agency, each
/// query prepared once, where a list of varying length would be prepared anew each time.
pub fn active_of_any(conn: &mut DbConn, agencies: &[&str]) -> QueryResult<Vec<WebhookRow>> {
    match conn {
        DbConn::Pg(c) if agencies.len() > 1 => webhooks::table
            .filter(webhooks::agency_code.eq_any(agencies))
            .filter(webhooks::active.eq(true))
            .select(WebhookRow::as_select())
            .load(c),
        _ => {
            let mut all = Vec::new();
            for agency in agencies {
                all.extend(active_of(conn, agency)?);
            }
            Ok(all)
        }
    }
}

pub fn of_agency(conn: &mut DbConn, agency: &str) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::agency_code.eq(agency))
        .order(webhooks::created_at.asc())
        .select(WebhookRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<WebhookRow>> {
    at_most_one(webhooks::table.find(id).select(WebhookRow::as_select()).load(conn))
}

/// Replaces a webhook's secret; the one replaced keeps signing until `previous_until`.
/// False when the webhook is gone or inactive.
pub fn rotate(conn: &mut DbConn, id: &str, secret: &str, previous_until: i64) -> QueryResult<bool> {
    let changed = diesel::update(webhooks::table.find(id).filter(webhooks::active.eq(true)))
        .set((
            webhooks::previous_secret.eq(webhooks::secret.nullable()),
            webhooks::previous_secret_until.eq(previous_until),
            webhooks::secret.eq(secret),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// One delivery of a webhook.
pub fn delivery(conn: &mut DbConn, webhook_id: &str, id: &str) -> QueryResult<Option<DeliveryRow>> {
    at_most_one(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .select(DeliveryRow::as_select())
            .load(conn),
    )
}

/// Queues a delivered or failed delivery again, due at `at`, with a fresh round of attempts.
/// False when it is pending already.
pub fn redeliver(conn: &mut DbConn, id: &str, at: i64, by: &str) -> QueryResult<bool> {
    let changed =
        diesel::update(webhook_deliveries::table.find(id).filter(webhook_deliveries::status.ne(PENDING)))
            .set((
                webhook_deliveries::status.eq(PENDING),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(at),
                webhook_deliveries::delivered_at.eq(None::<i64>),
                webhook_deliveries::lease_owner.eq(None::<String>),
                webhook_deliveries::lease_until.eq(None::<i64>),
                webhook_deliveries::redelivered_at.eq(at),
                webhook_deliveries::redelivered_by.eq(by),
            ))
            .execute(conn)?;
    Ok(changed == 1)
}

/// Stops a webhook: nothing more is queued for it, and what was still pending is given up
/// with the reason, visible among its deliveries.
pub fn deactivate(conn: &mut DbConn, id: &str, at: i64) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id)).set(webhooks::active.eq(false)).execute(conn)?;
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id))
            .filter(webhook_deliveries::status.eq(PENDING)),
    )
    .set((
        webhook_deliveries::status.eq(FAILED),
        webhook_deliveries::next_attempt_at.eq(at),
        webhook_deliveries::last_error.eq(REMOVED),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Inserts deliveries, all in one statement.
pub fn insert_deliveries(to: &mut impl Sink, rows: &[DeliveryRow]) -> QueryResult<()> {
    let binds: Vec<Bind<'_>> = rows
        .iter()
        .flat_map(|row| {
            [
                (&row.id).into(),
                (&row.webhook_id).into(),
                (&row.notification_id).into(),
                (&row.body).into(),
                (&row.status).into(),
                row.attempts.into(),
                row.next_attempt_at.into(),
                (&row.last_error).into(),
                (&row.lease_owner).into(),
                row.lease_until.into(),
                row.delivered_at.into(),
                row.created_at.into(),
            ]
        })
        .collect();
    insert_rows(
        to,
        "INSERT INTO webhook_deliveries (id, webhook_id, notification_id, body, status, attempts, \
         next_attempt_at, last_error, lease_owner, lease_until, delivered_at, created_at)",
        12,
        &binds,
    )
}

/// Claims up to `limit` due deliveries for `owner` until `lease_until` (see [`super::lease`]).
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    super::lease::claim(conn, &super::lease::WEBHOOK_DELIVERIES, owner, now, lease_until, limit)
}

/// A claimed delivery with its webhook, if `owner` still holds it.
pub fn held(conn: &mut DbConn, id: &str, owner: &str) -> QueryResult<Option<(DeliveryRow, WebhookRow)>> {
    at_most_one(
        webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::lease_owner.eq(owner))
            .select((DeliveryRow::as_select(), WebhookRow::as_select()))
            .load(conn),
    )
}

/// The outcome of one attempt to deliver.
pub struct Attempt<'a> {
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub error: Option<&'a str>,
    pub delivered_at: Option<i64>,
}

/// Records an attempt's outcome, if `owner` still holds the delivery.
pub fn record_attempt(conn: &mut DbConn, id: &str, owner: &str, a: &Attempt<'_>) -> QueryResult<bool> {
    let changed = diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.eq(PENDING))
            .filter(webhook_deliveries::lease_owner.eq(owner)),
    )
    .set((
        webhook_deliveries::status.eq(a.status),
        webhook_deliveries::attempts.eq(a.attempts),
        webhook_deliveries::next_attempt_at.eq(a.next_attempt_at),
        webhook_deliveries::last_error.eq(a.error),
        webhook_deliveries::delivered_at.eq(a.delivered_at),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Deliveries of an agency's webhooks in a status, newest first.
pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: &str,
    status: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id.to_owned()))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.to_owned()));
    }
    query.order(webhook_deliveries::id.desc()).limit(limit).load(conn)
}
