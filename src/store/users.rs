//! The console's users and their sessions, as stored. Rarely written (a sign-in, an admin's
//! change), so written with diesel's query builder, which checks every column.

use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::schema::{account_requests, sessions, user_events, users};
use super::{at_most_one, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
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
    /// Set by someone else: the user must choose a password of their own at the next sign-in.
    pub must_change_password: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub username: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

/// One thing done to an account, kept for good.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_events)]
pub struct UserEventRow {
    pub id: String,
    pub username: String,
    /// `added`, `disabled`, `enabled`, `password_set`, `password_changed`, `signed_in`,
    /// `refused`, `locked`, and for what needs a second admin `add_requested`,
    /// `reset_requested`, `approved` and `declined`.
    pub action: String,
    /// Who did it: an admin's username, `command line`, or the user signing in.
    pub done_by: String,
    pub at: i64,
}

pub fn record(conn: &mut DbConn, username: &str, action: &str, done_by: &str, at: i64) -> QueryResult<()> {
    let row = UserEventRow {
        id: uuid::Uuid::now_v7().to_string(),
        username: username.to_owned(),
        action: action.to_owned(),
        done_by: done_by.to_owned(),
        at,
    };
    diesel::insert_into(user_events::table).values(&row).execute(conn).map(|_| ())
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
    diesel::insert_into(users::table).values(row).execute(conn).map(|_| ())
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
    diesel::update(users::table.find(username))
        .set((
            users::failed_attempts.eq(failed_attempts),
            users::locked_until.eq(locked_until),
            users::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Clears the count of failed sign-ins after one that succeeded.
pub fn signed_in(conn: &mut DbConn, username: &str, at: i64) -> QueryResult<()> {
    diesel::update(users::table.find(username))
        .set((users::failed_attempts.eq(0), users::locked_until.eq(None::<i64>), users::updated_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// Disables a user or enables them again; false if there is no such user.
pub fn set_disabled(conn: &mut DbConn, username: &str, disabled: bool, at: i64) -> QueryResult<bool> {
    diesel::update(users::table.find(username))
        .set((users::disabled.eq(disabled), users::updated_at.eq(at)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Sets a new password hash and lifts any lock; `must_change` when someone other than the
/// user set it. False if there is no such user.
pub fn set_password(
    conn: &mut DbConn,
    username: &str,
    hash: &str,
    must_change: bool,
    at: i64,
) -> QueryResult<bool> {
    diesel::update(users::table.find(username))
        .set((
            users::password_hash.eq(hash),
            users::must_change_password.eq(must_change),
            users::failed_attempts.eq(0),
            users::locked_until.eq(None::<i64>),
            users::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn insert_session(conn: &mut DbConn, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table).values(row).execute(conn).map(|_| ())
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

/// Ends a session, if it is running.
pub fn end_session(conn: &mut DbConn, id: &str, at: i64) -> QueryResult<()> {
    end(conn, Which::Session(id), at).map(|_| ())
}

/// Ends every running session of a user (disabled, or given a new password).
pub fn end_sessions_of(conn: &mut DbConn, username: &str, at: i64) -> QueryResult<usize> {
    end(conn, Which::User(username), at)
}

/// Ends every running session of a user but one.
pub fn end_sessions_except(conn: &mut DbConn, username: &str, kept: &str, at: i64) -> QueryResult<usize> {
    end(conn, Which::AllBut(username, kept), at)
}

/// The running sessions to end: one, all of a user's, or all of a user's but one.
enum Which<'a> {
    Session(&'a str),
    User(&'a str),
    AllBut(&'a str, &'a str),
}

/// Ends running sessions at `at`: an ended session expires when it ends, if not before.
fn end(conn: &mut DbConn, which: Which<'_>, at: i64) -> QueryResult<usize> {
    let expires = case_when::<_, _, BigInt>(sessions::expires_at.gt(at), at).otherwise(sessions::expires_at);
    let changes = (sessions::ended_at.eq(Some(at)), sessions::expires_at.eq(expires));
    let running = sessions::ended_at.is_null();
    match which {
        Which::Session(id) => diesel::update(sessions::table.filter(sessions::id.eq(id)).filter(running))
            .set(changes)
            .execute(conn),
        Which::User(username) => {
            diesel::update(sessions::table.filter(sessions::username.eq(username)).filter(running))
                .set(changes)
                .execute(conn)
        }
        Which::AllBut(username, kept) => diesel::update(
            sessions::table
                .filter(sessions::username.eq(username))
                .filter(sessions::id.ne(kept))
                .filter(running),
        )
        .set(changes)
        .execute(conn),
    }
}

/// Removes the sessions that ended or expired before `before` (an ended session expires when it
/// ends); how many went.
pub fn forget_sessions(conn: &mut DbConn, before: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(before))).execute(conn)
}

/// What one admin asked that another must approve.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = account_requests)]
pub struct RequestRow {
    pub id: String,
    /// `add_user` or `reset_password`.
    pub action: String,
    pub username: String,
    /// JSON: the user to add (its password hashed) or the new password's hash.
    pub payload: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// `approved` or `declined`; none while pending.
    pub outcome: Option<String>,
}

pub fn insert_request(conn: &mut DbConn, row: &RequestRow) -> QueryResult<()> {
    diesel::insert_into(account_requests::table).values(row).execute(conn).map(|_| ())
}

pub fn pending_requests(conn: &mut DbConn) -> QueryResult<Vec<RequestRow>> {
    account_requests::table
        .filter(account_requests::outcome.is_null())
        .order(account_requests::requested_at.asc())
        .select(RequestRow::as_select())
        .load(conn)
}

pub fn find_request(conn: &mut DbConn, id: &str) -> QueryResult<Option<RequestRow>> {
    at_most_one(account_requests::table.find(id).select(RequestRow::as_select()).load(conn))
}

/// Records a pending request's outcome; false if it was decided meanwhile.
pub fn decide_request(conn: &mut DbConn, id: &str, by: &str, outcome: &str, at: i64) -> QueryResult<bool> {
    diesel::update(account_requests::table.find(id).filter(account_requests::outcome.is_null()))
        .set((
            account_requests::decided_by.eq(by),
            account_requests::decided_at.eq(at),
            account_requests::outcome.eq(outcome),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Clears the mark that the password must be changed (the user chose their own).
pub fn password_chosen(conn: &mut DbConn, username: &str, hash: &str, at: i64) -> QueryResult<bool> {
    diesel::update(users::table.find(username))
        .set((users::password_hash.eq(hash), users::must_change_password.eq(false), users::updated_at.eq(at)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Sets the name, agency and roles an identity provider gives an account of its own.
pub fn set_identity(
    conn: &mut DbConn,
    username: &str,
    name: &str,
    agency: &str,
    roles: &str,
    at: i64,
) -> QueryResult<()> {
    diesel::update(users::table.find(username))
        .set((
            users::name.eq(name),
            users::agency_code.eq(agency),
            users::roles.eq(roles),
            users::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}
