//! The console's users: added, disabled and given new passwords by an administrator (from the
//! command line or the admin page), and signed in with their password.
//!
//! A password is kept only as its argon2id hash. Five failed sign-ins in a row lock the account
//! for fifteen minutes; a new password lifts the lock. Disabling a user or giving them a new
//! password ends every session they have.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use uuid::Uuid;

use crate::domain::{check_text, now, AgencyCode, AgencyKind, Role};
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::store::agencies as agency_store;
use crate::store::users::{self as store, SessionRow, UserRow};
use crate::store::{is_unique_violation, write_transaction, DbConn};

/// Failed sign-ins in a row that lock an account.
pub const LOCK_AFTER: i32 = 5;
/// How long a locked account stays locked, in seconds.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// How long a console session lasts, in seconds.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// The longest password accepted (argon2 takes any length; a bound keeps a request small).
pub const MAX_PASSWORD: usize = 200;

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub name: String,
    pub agency: AgencyCode,
    pub roles: Vec<Role>,
    pub password: String,
}

/// A username: 3 to 64 lower-case letters, digits, `.`, `_` or `-`.
pub fn check_username(raw: &str) -> Result<(), String> {
    let ok = (3..=64).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("3 to 64 lower-case letters, digits, '.', '_' or '-'".into())
    }
}

pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        Err(format!("at least {MIN_PASSWORD} characters"))
    } else if length > MAX_PASSWORD {
        Err(format!("at most {MAX_PASSWORD} characters"))
    } else {
        Ok(())
    }
}

/// The argon2id hash of a password, with a fresh salt. Slow on purpose: call it off the writer.
pub fn hash_password(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `password` is the one `hash` was made from. Slow on purpose, like the hashing.
pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn roles_column(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// The roles of a stored user.
pub fn roles_of(row: &UserRow) -> Vec<Role> {
    row.roles.split(',').filter_map(|r| r.parse().ok()).collect()
}

/// The actor a user acts as: the same identity an API token would carry.
pub fn actor_of(row: &UserRow) -> ApiResult<Actor> {
    let roles = roles_of(row);
    if roles.is_empty() || roles.len() != row.roles.split(',').count() {
        return Err(ApiError::forbidden(format!("the roles of {} are not all known", row.username)));
    }
    Ok(Actor {
        sub: row.username.clone(),
        name: row.name.clone(),
        agency: AgencyCode::parse(&row.agency_code).map_err(ApiError::internal)?,
        roles,
    })
}

/// The latest things done to accounts (or to one), newest first, for the admin page.
pub fn latest_events(
    conn: &mut DbConn,
    username: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<store::UserEventRow>> {
    Ok(store::latest_events(conn, username, limit)?)
}

/// Checks a new user and hashes their password; no database work, so it can run anywhere.
pub fn prepare(user: &NewUser) -> ApiResult<UserRow> {
    let mut errors = Vec::new();
    if let Err(reason) = check_username(&user.username) {
        errors.push(FieldError::new("username", reason));
    }
    let name = user.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "1 to 200 characters"));
    } else if let Err(reason) = check_text(name) {
        errors.push(FieldError::new("name", reason));
    }
    if user.roles.is_empty() {
        errors.push(FieldError::new("roles", "at least one role"));
    }
    if let Err(reason) = check_password(&user.password) {
        errors.push(FieldError::new("password", reason));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation("the user cannot be added", errors));
    }
    let at = now().timestamp_micros();
    Ok(UserRow {
        username: user.username.clone(),
        name: name.to_owned(),
        agency_code: user.agency.to_string(),
        roles: roles_column(&user.roles),
        password_hash: hash_password(&user.password)?,
        disabled: false,
        failed_attempts: 0,
        locked_until: None,
        created_at: at,
        updated_at: at,
    })
}

/// Whether someone of `role` may belong to an agency of `kind`: a party's role only where it
/// can act for its agency; an admin or an auditor, who read everything, only at the ministry's
/// justice departments.
fn fits(role: Role, kind: AgencyKind) -> bool {
    match role {
        Role::Admin | Role::Auditor => kind == AgencyKind::JusticeDepartment,
        party => party.acts_for(kind),
    }
}

/// Adds a user prepared by [`prepare`]; `by` is who adds them.
pub fn add(conn: &mut DbConn, row: &UserRow, by: &str) -> ApiResult<()> {
    write_transaction(conn, |conn| {
        let invalid = |field: &str, reason: String| {
            ApiError::validation("the user cannot be added", vec![FieldError::new(field, reason)])
        };
        let Some(agency) = agency_store::find(conn, &row.agency_code)? else {
            return Err(invalid("agency", format!("no agency {}", row.agency_code)));
        };
        let kind: AgencyKind = agency.kind.parse().map_err(ApiError::internal)?;
        if let Some(role) = roles_of(row).into_iter().find(|r| !fits(*r, kind)) {
            return Err(invalid(
                "roles",
                format!("{} is not a role at a {} agency", role.as_str(), kind.as_str()),
            ));
        }
        match store::insert(conn, row) {
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::new(
                    ErrorCode::AlreadyExists,
                    format!("user {} already exists", row.username),
                ))
            }
            other => other?,
        }
        store::record(conn, &row.username, "added", by, row.created_at)?;
        Ok(())
    })
}

fn no_user(username: &str) -> ApiError {
    ApiError::not_found(format!("no user {username}"))
}

/// Disables a user (or enables them again) and ends their sessions; `by` is who does it.
pub fn set_disabled(conn: &mut DbConn, username: &str, disabled: bool, by: &str) -> ApiResult<()> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| {
        if !store::set_disabled(conn, username, disabled, at)? {
            return Err(no_user(username));
        }
        store::end_sessions_of(conn, username, at)?;
        store::record(conn, username, if disabled { "disabled" } else { "enabled" }, by, at)?;
        Ok(())
    })
}

/// Gives a user a new password (hashed by [`hash_password`]), lifts a lock and ends their
/// sessions.
pub fn reset_password(conn: &mut DbConn, username: &str, hash: &str, by: &str) -> ApiResult<()> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| {
        if !store::set_password(conn, username, hash, at)? {
            return Err(no_user(username));
        }
        store::end_sessions_of(conn, username, at)?;
        store::record(conn, username, "password_set", by, at)?;
        Ok(())
    })
}

pub fn list(conn: &mut DbConn) -> ApiResult<Vec<UserRow>> {
    Ok(store::all(conn)?)
}

/// How a sign-in ended.
pub enum SignIn {
    /// A new session, for this user.
    Session(SessionRow, Box<UserRow>),
    /// Wrong username or password, or a disabled user: the same answer for each.
    Refused,
    /// Locked after repeated failures (until a while has passed, or a new password).
    Locked,
}

/// What a sign-in found before its password was checked, read on a read connection.
pub fn find(conn: &mut DbConn, username: &str) -> ApiResult<Option<UserRow>> {
    Ok(store::find(conn, username)?)
}

/// Records the outcome of a sign-in whose password was checked against `user` (`matched`),
/// and opens a session if it matched, ending the one the browser `held`. Written in the writer;
/// the password was checked before.
pub fn conclude_sign_in(
    conn: &mut DbConn,
    user: UserRow,
    matched: bool,
    held: Option<&str>,
) -> ApiResult<SignIn> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| {
        // Read again in the write: a lock or a disable since the first read counts.
        let Some(current) = store::find(conn, &user.username)? else { return Ok(SignIn::Refused) };
        let name = current.username.as_str();
        if current.locked_until.is_some_and(|u| u > at) {
            store::record(conn, name, "refused_locked", name, at)?;
            return Ok(SignIn::Locked);
        }
        // A disabled user, a password changed since it was checked, or roles no page can act
        // with: refused alike.
        if current.disabled || current.password_hash != user.password_hash || actor_of(&current).is_err() {
            store::record(conn, name, "refused", name, at)?;
            return Ok(SignIn::Refused);
        }
        if !matched {
            // The row was read in this transaction: its count is the current one. Once the
            // limit is reached the account locks and the count starts again.
            let locked = current.failed_attempts + 1 >= LOCK_AFTER;
            let (attempts, until) = if locked {
                (0, Some(at + LOCK_SECONDS * 1_000_000))
            } else {
                (current.failed_attempts + 1, None)
            };
            store::failed_sign_in(conn, name, attempts, until, at)?;
            store::record(conn, name, if locked { "locked" } else { "refused" }, name, at)?;
            return Ok(if locked { SignIn::Locked } else { SignIn::Refused });
        }
        store::signed_in(conn, name, at)?;
        store::record(conn, name, "signed_in", name, at)?;
        if let Some(held) = held {
            store::end_session(conn, held, at)?;
        }
        let session = SessionRow {
            id: Uuid::new_v4().to_string(),
            username: current.username.clone(),
            created_at: at,
            expires_at: at + SESSION_SECONDS * 1_000_000,
            ended_at: None,
        };
        store::insert_session(conn, &session)?;
        Ok(SignIn::Session(session, Box::new(current)))
    })
}

/// The live session and its user, if `id` names one.
pub fn session(conn: &mut DbConn, id: &str) -> ApiResult<Option<(SessionRow, UserRow)>> {
    Ok(store::live_session(conn, id, now().timestamp_micros())?)
}

pub fn sign_out(conn: &mut DbConn, session_id: &str) -> ApiResult<()> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| Ok(store::end_session(conn, session_id, at)?))
}
