//! Users' calendar feeds: each a random secret, kept only as its SHA-256, and the identity
//! whose calendar it serves.

use diesel::prelude::*;

use super::schema::calendar_feeds;
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_feeds)]
pub struct FeedRow {
    pub id: String,
    /// The hex SHA-256 of the secret in the feed's URL.
    pub secret_hash: String,
    pub sub: String,
    pub name: String,
    pub agency_code: String,
    /// The roles, comma-separated, as a token's `roles` names them.
    pub roles: String,
    /// The agency whose calendar is served, when not the user's own.
    pub feed_agency: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// The live feed of a user.
pub fn live_of(conn: &mut DbConn, agency: &str, sub: &str) -> QueryResult<Option<FeedRow>> {
    at_most_one(
        calendar_feeds::table
            .filter(calendar_feeds::agency_code.eq(agency))
            .filter(calendar_feeds::sub.eq(sub))
            .filter(calendar_feeds::revoked_at.is_null())
            .select(FeedRow::as_select())
            .load(conn),
    )
}

/// The live feed whose secret hashes to `secret_hash`.
pub fn live_by_secret(conn: &mut DbConn, secret_hash: &str) -> QueryResult<Option<FeedRow>> {
    at_most_one(
        calendar_feeds::table
            .filter(calendar_feeds::secret_hash.eq(secret_hash))
            .filter(calendar_feeds::revoked_at.is_null())
            .select(FeedRow::as_select())
            .load(conn),
    )
}

/// Revokes a user's live feed, if any; true when there was one.
pub fn revoke(conn: &mut DbConn, agency: &str, sub: &str, at: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        calendar_feeds::table
            .filter(calendar_feeds::agency_code.eq(agency))
            .filter(calendar_feeds::sub.eq(sub))
            .filter(calendar_feeds::revoked_at.is_null()),
    )
    .set(calendar_feeds::revoked_at.eq(at))
    .execute(conn)?;
    Ok(changed > 0)
}

pub fn insert(conn: &mut DbConn, row: &FeedRow) -> QueryResult<()> {
    diesel::insert_into(calendar_feeds::table).values(row).execute(conn).map(|_| ())
}
