//! Search: an instance or a case by a number in hand, or by a party's name for those who may
//! see it.

use actix_web::{get, web, HttpResponse};

use super::problems::*;
use super::AppState;
use crate::engine::step::Actor;
use crate::error::ApiResult;
use crate::service::cases;
use crate::service::search::{self, SearchQuery, SearchResults};

/// The route that may show personal data, as the record of a read names it.
pub const ROUTE: &str = "GET /api/v1/search";

/// Finds instances and cases by their numbers and, for those who may see them, by names.
///
/// Any authenticated caller. Numbers are the judgment's, a decision's, a register entry's
/// and the case's; those who may see a case's personal data also find it by the obligor's or
/// obligee's name or ID number. Every word must be found; diacritics are optional (`nguyen van
/// a` finds `Nguyễn Văn A`). Only what the caller may list is searched: another agency's
/// instance is never found, nor counted. A case found by its personal data is recorded among
/// its personal-data reads when the caller is beyond its office and court. A `limit` out of
/// range is 400; a query too long or with no letter or digit, 422 `validation_failed`.
#[utoipa::path(
    get,
    operation_id = "search",
    tag = "search",
    params(SearchQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "What was found, newest first", body = SearchResults), BadRequest, Unauthorized, Unprocessable, Unavailable)
)]
#[get("/search")]
pub async fn find(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    search::check(&q)?;
    let shown =
        state.read(move |conn, rules| search::search(conn, &rules.registry, &actor, &q, ROUTE)).await?;
    if !shown.reads.is_empty() {
        let reads = shown.reads;
        state.write(move |conn, _| cases::record_reads(conn, &reads)).await?;
    }
    Ok(HttpResponse::Ok().json(shown.value))
}
