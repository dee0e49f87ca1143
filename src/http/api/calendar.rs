use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};

use super::problems::*;
use super::AppState;
use crate::engine::calendar::YearCalendar;
use crate::engine::step::Actor;
use crate::error::{ApiError, ApiResult};
use crate::service::calendar::{self, CalendarYear};
use crate::service::feeds::{self, Feed, NewFeed};

/// The holiday calendar, year by year
///
/// Anyone signed in. Each year's public holidays, the weekdays given off and the weekend days
/// worked in exchange, and Tết, with the government notice they come from and whether the
/// year is still provisional: the calendar every deadline is computed on.
#[utoipa::path(
    get,
    operation_id = "listCalendarYears",
    tag = "calendar",
    security(("bearer" = [])),
    responses((status = 200, description = "The years in force", body = [CalendarYear]), Unauthorized, Unavailable)
)]
#[get("/calendar/years")]
pub async fn years(state: web::Data<AppState>, _actor: Actor) -> ApiResult<HttpResponse> {
    let file = state.file_calendar.clone();
    let list = state.read(move |conn, _| calendar::years(conn, &file)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Adds or replaces a year of the calendar
///
/// An admin only, when the government announces a year's days off, without a release: every
/// deadline computed from then on uses it (deadlines already computed keep their due dates).
/// A year whose dates do not hold together (a holiday on a weekend, a worked day on a
/// weekday, Tết outside its season) is refused with 422 `validation_failed`.
#[utoipa::path(
    put,
    operation_id = "putCalendarYear",
    tag = "calendar",
    request_body = YearCalendar,
    params(("year" = i32, Path, description = "The year, such as 2028")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The years in force, the new one included", body = [CalendarYear]),
        BadRequest, Unauthorized, Forbidden, NotFound, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[put("/calendar/years/{year}")]
pub async fn put(
    state: web::Data<AppState>,
    actor: Actor,
    year: web::Path<String>,
    body: web::Json<YearCalendar>,
) -> ApiResult<HttpResponse> {
    let year: i32 = year.parse().map_err(|_| ApiError::not_found(format!("no calendar year {year:?}")))?;
    let file = state.file_calendar.clone();
    let body = body.into_inner();
    let updated = state.write(move |conn, _| calendar::put(conn, &actor, &file, year, body)).await?;
    state.calendar.store(std::sync::Arc::new(updated));
    let file = state.file_calendar.clone();
    let list = state.read(move |conn, _| calendar::years(conn, &file)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Makes the caller's calendar feed URL
///
/// Anyone signed in. Calendar programs subscribe to a URL and send no `Authorization`
/// header: this makes one for the caller, holding a random secret (never an API token), that
/// serves only the coercion calendar (`getCoercionCalendar`) as the caller sees it. The URL is
/// in this answer only. Asking again rotates it: the earlier URL stops working at once. A
/// console user's feed stops when the account is disabled.
#[utoipa::path(
    post,
    operation_id = "createCalendarFeed",
    tag = "calendar",
    request_body(content = NewFeed, description = "Whose calendar; an empty object for the caller's agency"),
    security(("bearer" = [])),
    responses(
        (
            status = 201,
            description = "Made; the URL is shown this once",
            body = Feed,
            headers(("Location" = String, description = "The feed's URL"))
        ),
        BadRequest, Unauthorized, NotFound, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable
    )
)]
#[post("/calendar/feed")]
pub async fn create_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    body: web::Json<NewFeed>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let (mut feed, path) = state.write(move |conn, _| feeds::create(conn, &actor, body)).await?;
    let url = super::absolute_url(&req, &path);
    feed.url = Some(url.clone());
    Ok(HttpResponse::Created().insert_header((actix_web::http::header::LOCATION, url)).json(feed))
}

/// The caller's calendar feed
///
/// Anyone signed in: whether they have a feed, whose calendar it serves and since when;
/// never its URL. 404 when there is none.
#[utoipa::path(
    get,
    operation_id = "getCalendarFeed",
    tag = "calendar",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller's feed", body = Feed), Unauthorized, NotFound, Unavailable)
)]
#[get("/calendar/feed")]
pub async fn get_feed(state: web::Data<AppState>, actor: Actor) -> ApiResult<HttpResponse> {
    let feed = state.read(move |conn, _| feeds::get(conn, &actor)).await?;
    Ok(HttpResponse::Ok().json(feed))
}

/// Revokes the caller's calendar feed
///
/// Anyone signed in: the feed's URL stops working at once. 404 when there is none.
#[utoipa::path(
    delete,
    operation_id = "revokeCalendarFeed",
    tag = "calendar",
    security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), Unauthorized, NotFound, Unavailable)
)]
#[delete("/calendar/feed")]
pub async fn revoke_feed(state: web::Data<AppState>, actor: Actor) -> ApiResult<HttpResponse> {
    state.write(move |conn, _| feeds::revoke(conn, &actor)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A calendar feed, by its URL
///
/// No header: the secret in the path is the only credential, so a calendar program can
/// subscribe. Serves the coercion calendar of the feed's owner as an iCalendar file
/// (RFC 5545), times in Asia/Ho_Chi_Minh. A secret unknown, rotated or revoked answers 404.
#[utoipa::path(
    get,
    operation_id = "getCalendarFeedContent",
    tag = "calendar",
    params(("secret" = String, Path, description = "The feed's secret, as its URL holds it")),
    security(()),
    responses(
        (status = 200, description = "The calendar", body = String, content_type = "text/calendar"),
        NotFound, Unavailable
    )
)]
#[get("/calendar/feeds/{secret}/coercion.ics")]
pub async fn feed_content(state: web::Data<AppState>, secret: web::Path<String>) -> ApiResult<HttpResponse> {
    let secret = secret.into_inner();
    let ics = state.read(move |conn, rules| feeds::serve(conn, &rules.registry, &secret)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "private, no-store"))
        .body(ics))
}
