//! Calendar feeds a calendar program subscribes to: a URL per user holding a random secret,
//! never an API token, that serves only the coercion calendar as that user sees it. Making a
//! new one replaces the old, which stops at once; the user can also revoke it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{local_rfc3339, now, AgencyCode};
use crate::engine::registry::Registry;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::{coercion_calendar, users};
use crate::store::feeds::{self as store, FeedRow};
use crate::store::{users as user_store, write_transaction, DbConn};

/// Which calendar the feed serves.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeed {
    /// The agency whose coercion operations are served: the caller's own unless they read
    /// everything (an auditor or an admin).
    #[schema(example = "THADS-HN")]
    pub agency: Option<String>,
}

/// A user's calendar feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feed {
    /// The address to subscribe to, secret included: only in the answer that makes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The agency whose operations it serves.
    pub agency: String,
    pub created_at: String,
}

/// The path of a feed, below the API's root, for its secret.
pub fn path(secret: &str) -> String {
    format!("/api/v1/calendar/feeds/{secret}/coercion.ics")
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn view(row: &FeedRow, url: Option<String>) -> Feed {
    Feed {
        url,
        agency: row.feed_agency.clone().unwrap_or_else(|| row.agency_code.clone()),
        created_at: local_rfc3339(row.created_at),
    }
}

fn agency_of(actor: &Actor, asked: Option<&str>) -> ApiResult<Option<AgencyCode>> {
    let Some(raw) = asked else { return Ok(None) };
    let agency = AgencyCode::parse(raw).map_err(|_| ApiError::not_found(format!("no agency {raw:?}")))?;
    if agency != actor.agency && !actor.reads_everything() {
        return Err(ApiError::not_found(format!("no calendar of {agency} among yours")));
    }
    Ok(Some(agency))
}

/// Makes the caller's feed, replacing (and so stopping) any earlier one; returns it with its
/// URL's path, which holds the secret and is shown this once.
pub fn create(conn: &mut DbConn, actor: &Actor, req: NewFeed) -> ApiResult<(Feed, String)> {
    let agency = agency_of(actor, req.agency.as_deref())?;
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let row = FeedRow {
        id: Uuid::now_v7().to_string(),
        secret_hash: hash(&secret),
        sub: actor.sub.clone(),
        name: actor.name.clone(),
        agency_code: actor.agency.to_string(),
        roles: actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        feed_agency: agency.map(|a| a.to_string()),
        created_at: now().timestamp_micros(),
        revoked_at: None,
    };
    write_transaction(conn, |conn| {
        store::revoke(conn, &row.agency_code, &row.sub, row.created_at)?;
        store::insert(conn, &row)
    })?;
    let path = path(&secret);
    Ok((view(&row, Some(path.clone())), path))
}

/// The caller's live feed, if any, without its URL.
pub fn live(conn: &mut DbConn, actor: &Actor) -> ApiResult<Option<Feed>> {
    Ok(store::live_of(conn, actor.agency.as_str(), &actor.sub)?.map(|row| view(&row, None)))
}

/// The caller's live feed, without its URL.
pub fn get(conn: &mut DbConn, actor: &Actor) -> ApiResult<Feed> {
    live(conn, actor)?.ok_or_else(|| ApiError::not_found("you have no calendar feed"))
}

/// Stops the caller's feed at once.
pub fn revoke(conn: &mut DbConn, actor: &Actor) -> ApiResult<()> {
    let at = now().timestamp_micros();
    if write_transaction(conn, |conn| store::revoke(conn, actor.agency.as_str(), &actor.sub, at))? {
        Ok(())
    } else {
        Err(ApiError::not_found("you have no calendar feed"))
    }
}

/// The calendar a feed's secret opens. A user of the console is served as they stand now (a
/// disabled account's feed stops); a token's user, as they stood when the feed was made.
pub fn serve(conn: &mut DbConn, registry: &Registry, secret: &str) -> ApiResult<String> {
    let gone = || ApiError::not_found("no such calendar feed");
    let row = store::live_by_secret(conn, &hash(secret))?.ok_or_else(gone)?;
    let actor = match user_store::find(conn, &row.sub)? {
        Some(user) if user.agency_code == row.agency_code => {
            if user.disabled {
                return Err(gone());
            }
            users::actor_of(&user)?
        }
        _ => Actor {
            sub: row.sub.clone(),
            name: row.name.clone(),
            agency: AgencyCode::parse(&row.agency_code).map_err(ApiError::internal)?,
            roles: row.roles.split(',').filter_map(|r| r.parse().ok()).collect(),
        },
    };
    let agency = row.feed_agency.as_deref().map(AgencyCode::parse).transpose().map_err(ApiError::internal)?;
    coercion_calendar::feed(conn, registry, &actor, agency)
}
