//! The console's users and their sessions, as stored.

use diesel::prelude::*;

use super::fixed::Fixed;
use super::schema::{sessions, user_events, users};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub username: String,
    pub name: String,
    pub agency_code: String,
    /// The roles, comma-separated, as a token's `roles` names them.
    pub roles: String,
    /// The argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    pub disabled: bool,
    /// Failed sign-ins since the last one that succeeded or the last lock.
    pub failed_attempts: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub username: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

/// One thing done to an account, kept for good.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_events)]
pub struct UserEventRow {
    pub id: String,
    pub username: String,
    /// `added`, `disabled`, `enabled`, `password_set`, `signed_in`, `refused` or `locked`.
    pub action: String,
    /// Who did it: an admin's username, `command line`, or the user signing in.
    pub done_by: String,
    pub at: i64,
}

pub fn record(conn: &mut DbConn, username: &str, action: &str, done_by: &str, at: i64) -> QueryResult<()> {
    let id = uuid::Uuid::now_v7().to_string();
    Fixed::new(
        "INSERT INTO user_events (id, username, action, done_by, at) VALUES (?, ?, ?, ?, ?)",
        &[(&id).into(), username.into(), action.into(), done_by.into(), at.into()],
    )
    .run(conn)
    .map(|_| ())
}

/// The latest `limit` things done to any account, or to `username`'s, newest first.
pub fn latest_events(
    conn: &mut DbConn,
    username: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UserEventRow>> {
    let mut q = user_events::table.into_boxed();
    if let Some(username) = username {
        q = q.filter(user_events::username.eq(username));
    }
    q.order((user_events::at.desc(), user_events::id.desc()))
        .limit(limit)
        .select(UserEventRow::as_select())
        .load(conn)
}

pub fn insert(conn: &mut DbConn, row: &UserRow) -> QueryResult<()> {
    Fixed::new(
        "INSERT INTO users (username, name, agency_code, roles, password_hash, disabled, \
         failed_attempts, locked_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            (&row.username).into(),
            (&row.name).into(),
            (&row.agency_code).into(),
            (&row.roles).into(),
            (&row.password_hash).into(),
            row.disabled.into(),
            row.failed_attempts.into(),
            row.locked_until.into(),
            row.created_at.into(),
            row.updated_at.into(),
        ],
    )
    .run(conn)
    .map(|_| ())
}

pub fn find(conn: &mut DbConn, username: &str) -> QueryResult<Option<UserRow>> {
    at_most_one(native!(conn, |c| users::table.find(username).select(UserRow::as_select()).load(c)))
}

/// Every user, by agency and name.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<UserRow>> {
    users::table
        .order((users::agency_code.asc(), users::username.asc()))
        .select(UserRow::as_select())
        .load(conn)
}

/// Records a failed sign-in: the failures in a row counted so far, and the lock, if any.
pub fn failed_sign_in(
    conn: &mut DbConn,
    username: &str,
    failed_attempts: i32,
    locked_until: Option<i64>,
    at: i64,
) -> QueryResult<()> {
    Fixed::new(
        "UPDATE users SET failed_attempts = ?, locked_until = ?, updated_at = ? WHERE username = ?",
        &[failed_attempts.into(), locked_until.into(), at.into(), username.into()],
    )
    .run(conn)
    .map(|_| ())
}

/// Clears the count of failed sign-ins after one that succeeded.
pub fn signed_in(conn: &mut DbConn, username: &str, at: i64) -> QueryResult<()> {
    Fixed::new(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE username = ?",
        &[at.into(), username.into()],
    )
    .run(conn)
    .map(|_| ())
}

/// Disables a user or enables them again; false if there is no such user.
pub fn set_disabled(conn: &mut DbConn, username: &str, disabled: bool, at: i64) -> QueryResult<bool> {
    Fixed::new(
        "UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?",
        &[disabled.into(), at.into(), username.into()],
    )
    .run(conn)
    .map(|n| n == 1)
}

/// Sets a new password hash and lifts any lock; false if there is no such user.
pub fn set_password(conn: &mut DbConn, username: &str, hash: &str, at: i64) -> QueryResult<bool> {
    Fixed::new(
        "UPDATE users SET password_hash = ?, failed_attempts = 0, locked_until = NULL, updated_at = ? \
         WHERE username = ?",
        &[hash.into(), at.into(), username.into()],
    )
    .run(conn)
    .map(|n| n == 1)
}

pub fn insert_session(conn: &mut DbConn, row: &SessionRow) -> QueryResult<()> {
    Fixed::new(
        "INSERT INTO sessions (id, username, created_at, expires_at, ended_at) VALUES (?, ?, ?, ?, ?)",
        &[
            (&row.id).into(),
            (&row.username).into(),
            row.created_at.into(),
            row.expires_at.into(),
            row.ended_at.into(),
        ],
    )
    .run(conn)
    .map(|_| ())
}

/// A session with its user, if it is still running at `at` and the user is enabled.
pub fn live_session(conn: &mut DbConn, id: &str, at: i64) -> QueryResult<Option<(SessionRow, UserRow)>> {
    let found = at_most_one(native!(conn, |c| sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .load(c)))?;
    Ok(found.filter(|(s, u)| s.ended_at.is_none() && s.expires_at > at && !u.disabled))
}

pub fn end_session(conn: &mut DbConn, id: &str, at: i64) -> QueryResult<()> {
    Fixed::new(
        "UPDATE sessions SET ended_at = ?, expires_at = CASE WHEN expires_at > ? THEN ? ELSE expires_at END \
         WHERE id = ? AND ended_at IS NULL",
        &[at.into(), at.into(), at.into(), id.into()],
    )
    .run(conn)
    .map(|_| ())
}

/// Ends every running session of a user (disabled, or given a new password).
pub fn end_sessions_of(conn: &mut DbConn, username: &str, at: i64) -> QueryResult<usize> {
    Fixed::new(
        "UPDATE sessions SET ended_at = ?, expires_at = CASE WHEN expires_at > ? THEN ? ELSE expires_at END \
         WHERE username = ? AND ended_at IS NULL",
        &[at.into(), at.into(), at.into(), username.into()],
    )
    .run(conn)
}

/// Removes the sessions that ended or expired before `before` (an ended session expires when it
/// ends); how many went.
pub fn forget_sessions(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    Fixed::new("DELETE FROM sessions WHERE expires_at < ?", &[before.into()]).run(conn)
}
