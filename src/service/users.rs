//! The console's users: added, disabled and given new passwords by an administrator (from the
//! command line or the admin page), and signed in with their password.
//!
//! A password is kept only as its argon2id hash. Five failed sign-ins in a row lock the account
//! for fifteen minutes; a new password lifts the lock. Disabling a user or giving them a new
//! password ends every session they have.
//!
//! An admin's powers are bounded: making an admin or an auditor, and giving an admin a new
//! password, are asked by one admin and done only once another approves; a password an admin
//! (or the command line) set must be changed by its user at the next sign-in, so that no admin
//! acts as someone else unseen. Each of these is an account event.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
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
        must_change_password: false,
    })
}

/// Whether giving these roles needs a second admin's approval: an admin's and an auditor's
/// read everything.
pub fn needs_second_admin(roles: &[Role]) -> bool {
    roles.iter().any(|r| matches!(r, Role::Admin | Role::Auditor))
}

/// A request's action: a user to add.
pub const ADD_USER: &str = "add_user";
/// A request's action: an admin's new password.
pub const RESET_PASSWORD: &str = "reset_password";

/// What an approved request does, kept with it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Requested {
    AddUser { name: String, agency_code: String, roles: String, password_hash: String },
    ResetPassword { password_hash: String },
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

/// Whether `row`'s agency exists and each of its roles fits it.
fn check_fits(conn: &mut DbConn, row: &UserRow) -> ApiResult<()> {
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
    Ok(())
}

fn exists(username: &str) -> ApiError {
    ApiError::new(ErrorCode::AlreadyExists, format!("user {username} already exists"))
}

/// Adds a user in the caller's transaction.
fn insert(conn: &mut DbConn, row: &UserRow, by: &str) -> ApiResult<()> {
    check_fits(conn, row)?;
    match store::insert(conn, row) {
        Err(e) if is_unique_violation(&e) => return Err(exists(&row.username)),
        other => other?,
    }
    store::record(conn, &row.username, "added", by, row.created_at)?;
    Ok(())
}

/// Adds a user prepared by [`prepare`]; `by` is who adds them.
pub fn add(conn: &mut DbConn, row: &UserRow, by: &str) -> ApiResult<()> {
    write_transaction(conn, |conn| insert(conn, row, by))
}

/// Keeps a request for another admin to decide; its account event is `event`.
fn request(conn: &mut DbConn, username: &str, what: &Requested, by: &str, event: &str) -> ApiResult<String> {
    let at = now().timestamp_micros();
    let row = store::RequestRow {
        id: Uuid::now_v7().to_string(),
        action: match what {
            Requested::AddUser { .. } => ADD_USER,
            Requested::ResetPassword { .. } => RESET_PASSWORD,
        }
        .to_owned(),
        username: username.to_owned(),
        payload: serde_json::to_string(what).map_err(ApiError::internal)?,
        requested_by: by.to_owned(),
        requested_at: at,
        decided_by: None,
        decided_at: None,
        outcome: None,
    };
    match store::insert_request(conn, &row) {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::new(
                ErrorCode::AlreadyExists,
                format!("a request about {username} is already waiting for another admin"),
            ))
        }
        other => other?,
    }
    store::record(conn, username, event, by, at)?;
    Ok(row.id)
}

/// Asks to add a user whose roles need a second admin (see [`needs_second_admin`]): checked
/// as [`add`] checks, kept until another admin approves or declines it; returns its id.
pub fn request_add(conn: &mut DbConn, row: &UserRow, by: &str) -> ApiResult<String> {
    write_transaction(conn, |conn| {
        check_fits(conn, row)?;
        if store::find(conn, &row.username)?.is_some() {
            return Err(exists(&row.username));
        }
        let what = Requested::AddUser {
            name: row.name.clone(),
            agency_code: row.agency_code.clone(),
            roles: row.roles.clone(),
            password_hash: row.password_hash.clone(),
        };
        request(conn, &row.username, &what, by, "add_requested")
    })
}

/// Whether giving `username` a new password needs a second admin: they are an admin.
pub fn reset_needs_second_admin(conn: &mut DbConn, username: &str) -> ApiResult<bool> {
    let user = store::find(conn, username)?.ok_or_else(|| no_user(username))?;
    Ok(roles_of(&user).contains(&Role::Admin))
}

/// Asks to give an admin a new password (hashed by [`hash_password`]); returns its id.
pub fn request_reset(conn: &mut DbConn, username: &str, hash: &str, by: &str) -> ApiResult<String> {
    write_transaction(conn, |conn| {
        if store::find(conn, username)?.is_none() {
            return Err(no_user(username));
        }
        let what = Requested::ResetPassword { password_hash: hash.to_owned() };
        request(conn, username, &what, by, "reset_requested")
    })
}

/// The requests waiting for a second admin, oldest first.
pub fn pending_requests(conn: &mut DbConn) -> ApiResult<Vec<store::RequestRow>> {
    Ok(store::pending_requests(conn)?)
}

/// Approves (and so carries out) or declines a request; `by` must be another admin than the
/// one who asked. A user added this way, or a password set, must be changed at the next
/// sign-in.
pub fn decide(conn: &mut DbConn, id: &str, by: &str, approve: bool) -> ApiResult<store::RequestRow> {
    write_transaction(conn, |conn| {
        let gone = || ApiError::not_found(format!("no request {id} waiting"));
        let row = store::find_request(conn, id)?.filter(|r| r.outcome.is_none()).ok_or_else(gone)?;
        if row.requested_by == by {
            return Err(ApiError::forbidden("another admin must decide what you asked"));
        }
        let at = now().timestamp_micros();
        let outcome = if approve { "approved" } else { "declined" };
        if !store::decide_request(conn, id, by, outcome, at)? {
            return Err(gone());
        }
        store::record(conn, &row.username, outcome, by, at)?;
        if approve {
            let what: Requested = serde_json::from_str(&row.payload).map_err(ApiError::internal)?;
            let asked = format!("{} (approved by {by})", row.requested_by);
            match what {
                Requested::AddUser { name, agency_code, roles, password_hash } => {
                    let user = UserRow {
                        username: row.username.clone(),
                        name,
                        agency_code,
                        roles,
                        password_hash,
                        disabled: false,
                        failed_attempts: 0,
                        locked_until: None,
                        created_at: at,
                        updated_at: at,
                        must_change_password: true,
                    };
                    insert(conn, &user, &asked)?;
                }
                Requested::ResetPassword { password_hash } => {
                    set_password(conn, &row.username, &password_hash, true, &asked, at)?;
                }
            }
        }
        Ok(store::RequestRow {
            decided_by: Some(by.to_owned()),
            decided_at: Some(at),
            outcome: Some(outcome.to_owned()),
            ..row
        })
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

fn set_password(
    conn: &mut DbConn,
    username: &str,
    hash: &str,
    must_change: bool,
    by: &str,
    at: i64,
) -> ApiResult<()> {
    if !store::set_password(conn, username, hash, must_change, at)? {
        return Err(no_user(username));
    }
    store::end_sessions_of(conn, username, at)?;
    store::record(conn, username, "password_set", by, at)?;
    Ok(())
}

/// Gives a user a new password (hashed by [`hash_password`]), which they must change at the
/// next sign-in; lifts a lock and ends their sessions.
pub fn reset_password(conn: &mut DbConn, username: &str, hash: &str, by: &str) -> ApiResult<()> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| set_password(conn, username, hash, true, by, at))
}

/// The user's own new password, in place of one someone else set; their other sessions end.
pub fn choose_password(conn: &mut DbConn, username: &str, session_id: &str, hash: &str) -> ApiResult<()> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| {
        if !store::password_chosen(conn, username, hash, at)? {
            return Err(no_user(username));
        }
        store::end_sessions_except(conn, username, session_id, at)?;
        store::record(conn, username, "password_changed", username, at)?;
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
        let session = open_session(conn, name, held, at)?;
        Ok(SignIn::Session(session, Box::new(current)))
    })
}

/// Records a sign-in of `username` and opens their session, ending the one the browser
/// `held`; in the caller's transaction.
fn open_session(conn: &mut DbConn, username: &str, held: Option<&str>, at: i64) -> ApiResult<SessionRow> {
    store::signed_in(conn, username, at)?;
    store::record(conn, username, "signed_in", username, at)?;
    if let Some(held) = held {
        store::end_session(conn, held, at)?;
    }
    let session = SessionRow {
        id: Uuid::new_v4().to_string(),
        username: username.to_owned(),
        created_at: at,
        expires_at: at + SESSION_SECONDS * 1_000_000,
        ended_at: None,
    };
    store::insert_session(conn, &session)?;
    Ok(session)
}

/// The live session and its user, if `id` names one.
pub fn session(conn: &mut DbConn, id: &str) -> ApiResult<Option<(SessionRow, UserRow)>> {
    Ok(store::live_session(conn, id, now().timestamp_micros())?)
}

pub fn sign_out(conn: &mut DbConn, session_id: &str) -> ApiResult<()> {
    let at = now().timestamp_micros();
    write_transaction(conn, |conn| Ok(store::end_session(conn, session_id, at)?))
}

/// The password hash of an account the identity provider vouches for: no password matches it,
/// and a local account (with a hash of its own) is never taken over by a provider's sign-in.
pub const PROVIDER_ACCOUNT: &str = "!identity-provider";

/// Opens a console session for someone the identity provider signed in, as `actor` (its
/// claims, mapped): their account is made on first sign-in and given the provider's name,
/// agency and roles at each; a disabled account, or a local account of the same name, is
/// refused. Ends the session the browser `held`.
pub fn conclude_provider_sign_in(conn: &mut DbConn, actor: &Actor, held: Option<&str>) -> ApiResult<SignIn> {
    let at = now().timestamp_micros();
    let roles = roles_column(&actor.roles);
    write_transaction(conn, |conn| {
        let name = actor.sub.as_str();
        match store::find(conn, name)? {
            Some(current) if current.disabled || current.password_hash != PROVIDER_ACCOUNT => {
                store::record(conn, name, "refused", name, at)?;
                return Ok(SignIn::Refused);
            }
            Some(_) => store::set_identity(conn, name, &actor.name, actor.agency.as_str(), &roles, at)?,
            None => {
                let row = UserRow {
                    username: actor.sub.clone(),
                    name: actor.name.clone(),
                    agency_code: actor.agency.to_string(),
                    roles: roles.clone(),
                    password_hash: PROVIDER_ACCOUNT.to_owned(),
                    disabled: false,
                    failed_attempts: 0,
                    locked_until: None,
                    created_at: at,
                    updated_at: at,
                    must_change_password: false,
                };
                store::insert(conn, &row)?;
            }
        }
        let session = open_session(conn, name, held, at)?;
        let Some(user) = store::find(conn, name)? else { return Ok(SignIn::Refused) };
        Ok(SignIn::Session(session, Box::new(user)))
    })
}
